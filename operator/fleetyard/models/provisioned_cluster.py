"""The ProvisionedCluster kind: an EKS cluster fleetyard builds in a customer's account.

Seed entity `externalCluster`. Validation of sizes, versions and CIDRs lives here twice: as CEL for
admission and as pydantic validators for the REST API, with the same messages.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import pydantic

from fleetyard.models import common, network, validation
from fleetyard.models import health as health_shape


def flatten_instance_types(value: Any) -> Any:
    """Accept the seed example's nested form ([["m7g.large"]]); keep a flat list."""
    if isinstance(value, list) and any(isinstance(v, list) for v in value):
        return [item for v in value for item in (v if isinstance(v, list) else [v])]
    return value


class NodeGroup(common.Model):
    """An EKS managed node group."""

    model_config = pydantic.ConfigDict(json_schema_extra=validation.cel(
        validation.rule("self.minSize <= self.maxSize",
                        "config.systemNodeGroup.minSize must not exceed maxSize", ".minSize"),
        validation.rule("self.minSize <= self.desiredSize && self.desiredSize <= self.maxSize",
                        "config.systemNodeGroup.desiredSize must be between minSize and maxSize",
                        ".desiredSize"),
    ))

    name: str = pydantic.Field("system", pattern=validation.NAME_PATTERN,
                               description="Name of the node group (EKS's name adds a digest of what "
                                           "cannot change in place).")
    instanceTypes: list[str] = pydantic.Field(
        min_length=1, max_length=20,
        json_schema_extra={"items": {"type": "string", "pattern": validation.INSTANCE_TYPE_PATTERN,
                                     "maxLength": 64},
                           **validation.cel(validation.rule(
                               f"self.all(t, t.matches('{validation.ARM64_INSTANCE_TYPE_PATTERN}')) || "
                               f"!self.exists(t, t.matches('{validation.ARM64_INSTANCE_TYPE_PATTERN}'))",
                               validation.MIXED_ARCHITECTURES_MESSAGE))},
        description="EC2 instance types of the node group, e.g. [m7g.large].")
    minSize: int = pydantic.Field(ge=0, le=1000, description="Fewest nodes, at most maxSize.")
    maxSize: int = pydantic.Field(ge=1, le=1000, description="Most nodes.")
    desiredSize: int = pydantic.Field(ge=0, le=1000, description="Nodes to run now, between minSize and maxSize.")
    diskSizeGb: int = pydantic.Field(100, ge=20, le=16384, description="Root volume size of each node, in GiB.")

    @pydantic.field_validator("instanceTypes", mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        return flatten_instance_types(value)

    @pydantic.field_validator("instanceTypes")
    @classmethod
    def _instance_types(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.match(validation.INSTANCE_TYPE_PATTERN, item):
                raise ValueError(f"config.systemNodeGroup.instanceTypes: {item!r} is not an instance type")
        arm = [bool(re.match(validation.ARM64_INSTANCE_TYPE_PATTERN, item)) for item in value]
        if any(arm) and not all(arm):
            raise ValueError(validation.MIXED_ARCHITECTURES_MESSAGE)
        return value

    @pydantic.model_validator(mode="after")
    def _sizes(self) -> "NodeGroup":
        if self.minSize > self.maxSize:
            raise ValueError("config.systemNodeGroup.minSize must not exceed maxSize")
        if not self.minSize <= self.desiredSize <= self.maxSize:
            raise ValueError("config.systemNodeGroup.desiredSize must be between minSize and maxSize")
        return self


PUBLIC_ACCESS_CIDR = "config.publicAccessCidrs[*]"


def _public_access_cidr(value: str) -> str:
    return validation.check_ipv4_cidr(value, PUBLIC_ACCESS_CIDR, exact=True)


# checked one by one, so a refusal names the item (config.publicAccessCidrs[2])
PublicAccessCidr = Annotated[str, pydantic.AfterValidator(_public_access_cidr)]


class ClusterConfig(common.Model):
    """What the EKS cluster is built with."""

    kubernetesVersion: str = pydantic.Field(
        pattern=validation.KUBERNETES_VERSION_PATTERN, max_length=5,
        json_schema_extra=validation.cel(*validation.VERSION_TRANSITION_RULES),
        description="Kubernetes minor version, e.g. 1.35; raised one minor at a time, never lowered.")
    systemNodeGroup: NodeGroup = pydantic.Field(description="The node group for system workloads.")
    publicAccessCidrs: list[PublicAccessCidr] = pydantic.Field(
        default_factory=list, max_length=40,
        json_schema_extra={"items": {"type": "string", "pattern": validation.IPV4_CIDR_PATTERN, "maxLength": 18,
                                     "x-kubernetes-validations": validation.cidr_rules(
                                         PUBLIC_ACCESS_CIDR, exact=True)}},
        description="CIDRs allowed to reach the public API endpoint (network addresses: no host bits); "
                    "empty means 0.0.0.0/0.")


class ProviderMetadata(common.Model):
    """The EKS cluster as AWS knows it."""

    clusterName: str | None = pydantic.Field(None, description="Name of the EKS cluster.")
    clusterArn: str | None = pydantic.Field(None, description="ARN of the EKS cluster.")
    status: str | None = pydantic.Field(None, description="EKS's own status (ACTIVE, UPDATING, ...), from the "
                                                          "last health check.")


class ProvisionedClusterSpec(common.Model):
    connectionRef: common.LocalObjectReference = pydantic.Field(
        json_schema_extra=validation.immutable("connectionRef"),
        description="The Connection (same namespace) whose account the cluster is built in. Immutable.")
    networkRef: common.LocalObjectReference = pydantic.Field(
        json_schema_extra=validation.immutable("networkRef"),
        description="The Network (same namespace, same Connection and region) the cluster runs in. Immutable.")
    displayName: common.DisplayName
    region: str = pydantic.Field(pattern=validation.REGION_PATTERN, json_schema_extra=validation.immutable("region"),
                                 description="AWS region of the cluster, that of its Network. Immutable.")
    config: ClusterConfig = pydantic.Field(description="Kubernetes version, node group and endpoint access.")
    desiredState: Literal["Provisioned", "Pending", "Destroyed"] = pydantic.Field(
        "Provisioned", description="Provisioned builds it, Pending records only, Destroyed removes the infrastructure.")
    deletionPolicy: Literal["Delete", "Retain"] = pydantic.Field(
        "Delete", description="On kubectl delete: Delete destroys the infrastructure first, Retain leaves it.")
    access: common.Access = pydantic.Field(default_factory=common.Access,
                                           description="Who may use the cluster: Teams of this namespace.")


class ProvisionedClusterStatus(common.StatusBase):
    status: network.InfraPhase | None = pydantic.Field(
        None, description="pending, provisioning, active, updating, destroying, destroyed or failed.")
    statusMessage: str | None = pydantic.Field(None, description="Why the cluster is in its status.")
    clusterId: str | None = pydantic.Field(None, description="Seed id of the Cluster record of the same name.")
    kubernetesVersion: str | None = pydantic.Field(
        None, description="The Kubernetes version the cluster runs (spec.config.kubernetesVersion is the desired one).")
    providerMetadata: ProviderMetadata | None = None
    iacState: common.IacState | None = None
    iacOutputs: dict[str, str] | None = pydantic.Field(None, description="Outputs of the stack (endpoint, ARNs, ...).")
    jobRunnerRoleArn: str | None = pydantic.Field(
        None, description="IAM role for the job runner ServiceAccount (IRSA) in the cluster.")
    health: health_shape.Health | None = None
    lastHealthStatus: str | None = pydantic.Field(None, description="healthy, degraded, unhealthy or unknown.")
    lastHealthMessage: str | None = pydantic.Field(None, description="What the last health check found.")
    lastHealthCheckAt: str | None = pydantic.Field(None, description="When the last health check ran.")
    kubeconfigSecretRef: common.LocalObjectReference | None = pydantic.Field(
        None, description="Secret <name>-kubeconfig (key value) with a short-lived token, rewritten before it "
                          "expires; set before Ready turns True.")
    userKubeconfigSecretRef: common.LocalObjectReference | None = pydantic.Field(
        None, description="Secret <name>-user-kubeconfig (key value) for people: its aws eks get-token entry "
                          "authenticates as whoever runs it (their own AWS credentials; no role, no secret).")
    operationRef: common.LocalObjectReference | None = pydantic.Field(
        None, description="The newest Operation of this cluster.")
    operationId: str | None = pydantic.Field(None, description="The seed id of that Operation.")

    lastHandledRetryAt: str | None = common.handled_request(validation.RETRY_ANNOTATION)
    lastHandledRefreshAt: str | None = common.handled_request(validation.REFRESH_ANNOTATION)


ProvisionedCluster = common.Resource[ProvisionedClusterSpec, ProvisionedClusterStatus]
