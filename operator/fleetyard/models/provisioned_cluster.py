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
    model_config = pydantic.ConfigDict(json_schema_extra=validation.cel(
        validation.rule("self.minSize <= self.maxSize",
                        "config.systemNodeGroup.minSize must not exceed maxSize", ".minSize"),
        validation.rule("self.minSize <= self.desiredSize && self.desiredSize <= self.maxSize",
                        "config.systemNodeGroup.desiredSize must be between minSize and maxSize",
                        ".desiredSize"),
    ))

    name: str = pydantic.Field("system", pattern=validation.NAME_PATTERN)
    instanceTypes: list[str] = pydantic.Field(
        min_length=1, max_length=20,
        json_schema_extra={"items": {"type": "string", "pattern": validation.INSTANCE_TYPE_PATTERN,
                                     "maxLength": 64},
                           **validation.cel(validation.rule(
                               f"self.all(t, t.matches('{validation.ARM64_INSTANCE_TYPE_PATTERN}')) || "
                               f"!self.exists(t, t.matches('{validation.ARM64_INSTANCE_TYPE_PATTERN}'))",
                               validation.MIXED_ARCHITECTURES_MESSAGE))},
        description="EC2 instance types of the node group, e.g. [m7g.large].")
    minSize: int = pydantic.Field(ge=0, le=1000)
    maxSize: int = pydantic.Field(ge=1, le=1000)
    desiredSize: int = pydantic.Field(ge=0, le=1000)
    diskSizeGb: int = pydantic.Field(100, ge=20, le=16384)

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
    kubernetesVersion: str = pydantic.Field(
        pattern=validation.KUBERNETES_VERSION_PATTERN, max_length=5,
        json_schema_extra=validation.cel(*validation.VERSION_TRANSITION_RULES),
        description="Kubernetes minor version, e.g. 1.35; raised one minor at a time, never lowered.")
    systemNodeGroup: NodeGroup
    publicAccessCidrs: list[PublicAccessCidr] = pydantic.Field(
        default_factory=list, max_length=40,
        json_schema_extra={"items": {"type": "string", "pattern": validation.IPV4_CIDR_PATTERN, "maxLength": 18,
                                     "x-kubernetes-validations": validation.cidr_rules(
                                         PUBLIC_ACCESS_CIDR, exact=True)}},
        description="CIDRs allowed to reach the public API endpoint (network addresses: no host bits); "
                    "empty means 0.0.0.0/0.")


class ProviderMetadata(common.Model):
    clusterName: str | None = None
    clusterArn: str | None = None
    status: str | None = None


class ProvisionedClusterSpec(common.Model):
    connectionRef: common.LocalObjectReference = pydantic.Field(
        json_schema_extra=validation.immutable("connectionRef"))
    networkRef: common.LocalObjectReference = pydantic.Field(json_schema_extra=validation.immutable("networkRef"))
    displayName: common.DisplayName
    region: str = pydantic.Field(pattern=validation.REGION_PATTERN, json_schema_extra=validation.immutable("region"))
    config: ClusterConfig
    desiredState: Literal["Provisioned", "Pending", "Destroyed"] = pydantic.Field(
        "Provisioned", description="Provisioned builds it, Pending records only, Destroyed removes the infrastructure.")
    deletionPolicy: Literal["Delete", "Retain"] = pydantic.Field(
        "Delete", description="On kubectl delete: Delete destroys the infrastructure first, Retain leaves it.")
    access: common.Access = pydantic.Field(default_factory=common.Access)


class ProvisionedClusterStatus(common.StatusBase):
    status: network.InfraPhase | None = None
    statusMessage: str | None = None
    clusterId: str | None = None
    kubernetesVersion: str | None = None
    providerMetadata: ProviderMetadata | None = None
    iacState: common.IacState | None = None
    iacOutputs: dict[str, str] | None = None
    jobRunnerRoleArn: str | None = None
    health: health_shape.Health | None = None
    lastHealthStatus: str | None = None
    lastHealthMessage: str | None = None
    lastHealthCheckAt: str | None = None
    kubeconfigSecretRef: common.LocalObjectReference | None = None
    userKubeconfigSecretRef: common.LocalObjectReference | None = None
    operationRef: common.LocalObjectReference | None = None
    operationId: str | None = None


ProvisionedCluster = common.Resource[ProvisionedClusterSpec, ProvisionedClusterStatus]
