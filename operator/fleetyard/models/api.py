"""The REST API's bodies, in the seed's shapes, built from the same parts as the kinds' specs.

`XPublic` is what the API answers, `XCreate`/`XUpdate` what it accepts (FastAPI's full-stack
template naming). Request bodies reuse the spec types (`ClusterConfig`, `NodeGroup`), so the API
refuses exactly what admission refuses, with the same messages; responses list every seed field,
optional, and nothing else (`additionalProperties: false` in the document).
"""

from __future__ import annotations

from typing import Any

import pydantic

from fleetyard.models import common, health, network, operation, provisioned_cluster, validation

SEED_ID = r"^[A-Z0-9]{10}$"


class Public(pydantic.BaseModel):
    """Base of response bodies: seed names, no other fields."""

    model_config = pydantic.ConfigDict(extra="forbid")


# --- entities -------------------------------------------------------------------------------------------

class Audit(Public):
    createdAt: str | None = None
    createdBy: str | None = None
    updatedAt: str | None = None
    updatedBy: str | None = None


class ProviderMetadataPublic(Public):
    clusterName: str | None = None
    clusterArn: str | None = None


class ExternalClusterPublic(Audit):
    """The seed's `externalCluster`: a ProvisionedCluster."""

    id: str
    connectionId: str | None = None
    networkId: str | None = None
    clusterId: str | None = None
    name: str
    region: str
    status: str
    statusMessage: str | None = None
    config: provisioned_cluster.ClusterConfig
    providerMetadata: ProviderMetadataPublic | None = None
    iacState: common.IacState | None = None
    iacOutputs: dict[str, str] | None = None
    jobRunnerRoleArn: str | None = None
    lastHealthStatus: str | None = None
    lastHealthMessage: str | None = None
    lastHealthCheckAt: str | None = None


class ClusterPublic(Audit):
    """The seed's `cluster`: a Cluster record (provisioned or self-registered)."""

    id: str
    name: str
    externalClusterId: str | None = None
    region: str | None = None
    connectionId: str | None = None
    networkId: str | None = None
    externalStatus: str | None = None
    operationId: str | None = None


class ConnectionProviderConfigPublic(Public):
    accountId: str | None = None
    region: str | None = None
    roleArn: str | None = None
    externalIdSecretArn: str | None = None
    stackArn: str | None = None


class ConnectionPublic(Audit):
    id: str
    name: str
    provider: str
    providerConfig: ConnectionProviderConfigPublic
    status: str
    statusMessage: str | None = None
    lastUsedAt: str | None = None
    templateSyncedAt: str | None = None
    templateSyncMessage: str | None = None


class NetworkPublic(Audit):
    id: str
    connectionId: str | None = None
    name: str
    region: str
    providerNetworkId: str | None = None
    config: network.NetworkConfig
    iacState: common.IacState | None = None
    iacOutputs: dict[str, str] | None = None
    status: str
    statusMessage: str | None = None


class OperationPublic(Public):
    id: str
    organizationId: str | None = None
    memberId: str | None = None
    operation: str
    status: str
    result: operation.OperationResult | None = None
    error: common.ErrorObject | None = None
    progress: operation.Progress | None = None
    resourceType: str | None = None
    resourceId: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    startedAt: str | None = None
    completedAt: str | None = None


# --- list and describe envelopes ----------------------------------------------------------------------------

class InfraClusterRef(Public):
    id: str
    connectionId: str | None = None


class MyClusterRef(Public):
    id: str
    externalClusterId: str | None = None
    connectionId: str | None = None


class InfraIncluded(Public):
    clusters: list[ExternalClusterPublic] = pydantic.Field(default_factory=list)
    connections: list[ConnectionPublic] = pydantic.Field(default_factory=list)
    operations: list[OperationPublic] = pydantic.Field(default_factory=list)


class MyIncluded(Public):
    clusters: list[ClusterPublic] = pydantic.Field(default_factory=list)
    connections: list[ConnectionPublic] = pydantic.Field(default_factory=list)
    networks: list[NetworkPublic] = pydantic.Field(default_factory=list)
    externalClusters: list[ExternalClusterPublic] = pydantic.Field(default_factory=list)


class InfraClusterList(Public):
    total: int
    items: list[InfraClusterRef]
    included: InfraIncluded
    marker: str | None = pydantic.Field(None, description="Pass as `marker` to get the next page; absent on the last.")


class InfraClusterItem(Public):
    item: InfraClusterRef
    included: InfraIncluded


class MyClusterList(Public):
    total: int
    items: list[MyClusterRef]
    included: MyIncluded


class MyClusterItem(Public):
    item: MyClusterRef
    included: MyIncluded


class Health(health.Health):
    """The seed's health response (the shape the operator keeps in status.health)."""


class Kubeconfig(Public):
    kubeconfig: str
    clusterEndpoint: str
    clusterCertificateAuthority: str


class MetricPoint(Public):
    timestamp: str
    value: float


class Metrics(Public):
    cpuUtilization: list[MetricPoint]
    memoryUtilization: list[MetricPoint]
    estimatedCost: list[MetricPoint]
    activeJobCount: list[MetricPoint]
    unknownInstanceTypes: list[str] | None = pydantic.Field(
        None, description="Instance types without a known price: left out of estimatedCost.")


class Error(common.ErrorObject):
    """Every error response."""


# --- request bodies -------------------------------------------------------------------------------------

class ClusterCreate(common.Model):
    connectionId: str = pydantic.Field(pattern=SEED_ID, description="Must equal the connection in the path.")
    networkId: str = pydantic.Field(pattern=SEED_ID, description="An active Network of the same Connection.")
    name: str = pydantic.Field(min_length=1, max_length=128)
    region: str = pydantic.Field(pattern=validation.REGION_PATTERN)
    config: provisioned_cluster.ClusterConfig


class ClusterUpdate(common.Model):
    name: str | None = pydantic.Field(None, min_length=1, max_length=128)
    config: provisioned_cluster.ClusterConfig | None = None


def public(model: type[Public], values: dict[str, Any]) -> dict[str, Any]:
    """`values` checked against `model`, as JSON-ready data without the unset fields."""
    return model.model_validate(values).model_dump(mode="json", exclude_none=True)
