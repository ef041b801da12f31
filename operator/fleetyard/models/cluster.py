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
    region: str | None = pydantic.Field(None, pattern=validation.REGION_PATTERN)
    access: common.Access = pydantic.Field(default_factory=common.Access)
    provisionedClusterRef: common.LocalObjectReference | None = pydantic.Field(
        None, json_schema_extra=validation.immutable("provisionedClusterRef"))
    kubeconfigSecretRef: common.SecretKeySelector | None = None

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> "ClusterSpec":
        if (self.provisionedClusterRef is None) == (self.kubeconfigSecretRef is None):
            raise ValueError("spec: set exactly one of provisionedClusterRef or kubeconfigSecretRef")
        return self


class ClusterStatus(common.StatusBase):
    externalClusterId: str | None = None
    connectionId: str | None = None
    networkId: str | None = None
    externalStatus: str | None = None
    operationId: str | None = None
    kubernetesVersion: str | None = None
    health: health_shape.Health | None = None
    lastHealthStatus: str | None = None
    lastHealthMessage: str | None = None
    lastHealthCheckAt: str | None = None


Cluster = common.Resource[ClusterSpec, ClusterStatus]
