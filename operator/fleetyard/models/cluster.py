"""The Cluster kind: a cluster people use, either mirroring a ProvisionedCluster or self-registered.

Seed entity `cluster`. A self-registered Cluster points at a kubeconfig Secret the operator only reads.
"""

from __future__ import annotations

import pydantic

from fleetyard.models import common, validation
from fleetyard.models import health as health_shape


class ClusterSpec(common.Model):
    model_config = pydantic.ConfigDict(json_schema_extra=validation.cel(
        validation.rule("has(self.provisionedClusterRef) != has(self.kubeconfigSecretRef)",
                        "spec: set exactly one of provisionedClusterRef or kubeconfigSecretRef"),
    ))

    displayName: common.DisplayName
    region: str | None = pydantic.Field(None, pattern=validation.REGION_PATTERN,
                                        description="Region the cluster runs in, e.g. us-east-1.")
    access: common.Access = pydantic.Field(default_factory=common.Access,
                                           description="Who may use the cluster: Teams of this namespace.")
    provisionedClusterRef: common.LocalObjectReference | None = pydantic.Field(
        None, json_schema_extra=validation.immutable("provisionedClusterRef"),
        description="The ProvisionedCluster this record mirrors (set by the operator). Immutable.")
    kubeconfigSecretRef: common.SecretKeySelector | None = pydantic.Field(
        None, description="A self-registered cluster: the Secret key holding its kubeconfig (only read).")

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> "ClusterSpec":
        if (self.provisionedClusterRef is None) == (self.kubeconfigSecretRef is None):
            raise ValueError("spec: set exactly one of provisionedClusterRef or kubeconfigSecretRef")
        return self


class ClusterStatus(common.StatusBase):
    externalClusterId: str | None = pydantic.Field(None, description="Seed id of the ProvisionedCluster.")
    connectionId: str | None = pydantic.Field(None, description="Seed id of its Connection.")
    networkId: str | None = pydantic.Field(None, description="Seed id of its Network.")
    externalStatus: str | None = pydantic.Field(None, description="The ProvisionedCluster's status (or, for a "
                                                                  "self-registered cluster, active once reachable).")
    operationId: str | None = pydantic.Field(None, description="Seed id of the newest Operation.")
    kubernetesVersion: str | None = pydantic.Field(None, description="The Kubernetes version the cluster runs.")
    health: health_shape.Health | None = None
    lastHealthStatus: str | None = pydantic.Field(None, description="healthy, degraded, unhealthy or unknown.")
    lastHealthMessage: str | None = pydantic.Field(None, description="What the last health check found.")
    lastHealthCheckAt: str | None = pydantic.Field(None, description="When the last health check ran.")


Cluster = common.Resource[ClusterSpec, ClusterStatus]
