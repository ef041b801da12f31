"""The REST API's bodies, in the seed's shapes, built from the same parts as the kinds' specs.

`XPublic` is what the API answers, `XCreate`/`XUpdate` what it accepts (FastAPI's full-stack
template naming). Request bodies reuse the spec types (`ClusterConfig`, `NodeGroup`), so the API
refuses exactly what admission refuses, with the same messages; an update is partial (every field
optional, none nullable: a field left out is kept).

Responses follow the seed's null convention: every field the seed lists is present in every answer
(`required` in the document), `null` when it has no value, `[]` for an empty list; nothing else is
(`additionalProperties: false`) but the extensions, each marked `x-fleetyard-extension: true` and
described as one. The response types are twins of the status types, not the types themselves: the
status types leave out what is unset, answers never do.
"""

from __future__ import annotations

from typing import Annotated, Any

import pydantic

from fleetyard.models import common, provisioned_cluster, validation

SEED_ID = r"^[A-Z0-9]{10}$"
EXTENSION = "x-fleetyard-extension"
EXTENSION_PREFIX = "Extension (not in the clusters API contract): "


def extension(description: str, **kwargs: Any) -> Any:
    """A field fleetyard adds to a seed object: marked in the document, described as an extension."""
    return pydantic.Field(description=EXTENSION_PREFIX + description, json_schema_extra={EXTENSION: True},
                          **kwargs)


class Public(pydantic.BaseModel):
    """Base of response bodies: the seed's fields, each always present, and no other."""

    model_config = pydantic.ConfigDict(extra="ignore", json_schema_serialization_defaults_required=True,
                                       json_schema_extra={"additionalProperties": False})


# --- entities -------------------------------------------------------------------------------------------

class Audit(Public):
    createdAt: str | None = None
    createdBy: str | None = None
    updatedAt: str | None = None
    updatedBy: str | None = None


class ProviderMetadataPublic(Public):
    clusterName: str | None = None
    clusterArn: str | None = None


class IacStatePublic(Public):
    projectName: str | None = None
    stackName: str | None = None


class NodeGroupPublic(Public):
    name: str
    instanceTypes: list[str]
    minSize: int
    maxSize: int
    desiredSize: int
    diskSizeGb: int


class ClusterConfigPublic(Public):
    kubernetesVersion: str
    systemNodeGroup: NodeGroupPublic
    publicAccessCidrs: list[str] = pydantic.Field(
        default_factory=list, description="CIDRs allowed to reach the public API endpoint; [] means 0.0.0.0/0.")


class AccessPublic(Public):
    teams: list[str] = pydantic.Field(default_factory=list)


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
    config: ClusterConfigPublic
    providerMetadata: ProviderMetadataPublic | None = None
    iacState: IacStatePublic | None = None
    iacOutputs: dict[str, str] | None = None
    jobRunnerRoleArn: str | None = None
    lastHealthStatus: str | None = None
    lastHealthMessage: str | None = None
    lastHealthCheckAt: str | None = None
    access: AccessPublic = extension(
        "the Teams (in the same organization) whose members see the cluster in /me/clusters.",
        default_factory=AccessPublic)


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


class NetworkConfigPublic(Public):
    cidr: str
    natGateways: str | None = extension("`OnePerAz` (a NAT gateway per availability zone) or `Single`.",
                                        default=None)


class NetworkPublic(Audit):
    id: str
    connectionId: str | None = None
    name: str
    region: str
    providerNetworkId: str | None = None
    config: NetworkConfigPublic
    iacState: IacStatePublic | None = None
    iacOutputs: dict[str, str] | None = None
    status: str
    statusMessage: str | None = None


# --- operations -----------------------------------------------------------------------------------------

class InstanceTypePublic(Public):
    provider: str
    instanceType: str
    vCpus: int
    memoryMiB: int
    architecture: str
    gpuCount: int
    instanceFamily: str
    maxPods: int
    group: str
    allocatableMilliCpu: int


class InstanceTypeMetadataPublic(Public):
    provider: str
    systemPodsPerNode: int
    systemPodsPerSystemNode: int
    systemPodsFixed: int
    systemPodsPerNodeMargin: int
    systemPodsFixedMargin: int
    systemMilliCPUPerNode: int
    systemMilliCPUFixed: int
    karpenterMilliCPUPerReplica: int
    karpenterReplicas: int


class OperationResultPublic(Public):
    items: list[InstanceTypePublic] = pydantic.Field(default_factory=list)
    metadata: InstanceTypeMetadataPublic | None = None
    outputs: dict[str, str] | None = extension("the stack outputs of a finished Pulumi run.", default=None)


class ErrorDetails(Public):
    retryable: bool | None = None
    retryAfter: int | None = None
    fieldErrors: dict[str, str] | None = None
    requestId: str | None = None
    causedBy: str | None = None


class Error(Public):
    """The seed's error object: every error response, and a failed Operation's `error`."""

    code: str
    message: str
    errorType: str | None = None
    details: ErrorDetails | None = None


class ResourceProgressPublic(Public):
    urn: str
    type: str
    name: str
    operation: str
    status: str
    duration: float | None = None


class ProgressSummaryPublic(Public):
    total: int = 0
    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    unchanged: int = 0


class ProgressPublic(Public):
    stage: str | None = None
    message: str | None = None
    resources: list[ResourceProgressPublic] = pydantic.Field(default_factory=list)
    summary: ProgressSummaryPublic | None = None


class OperationPublic(Public):
    id: str
    organizationId: str | None = None
    memberId: str | None = None
    operation: str
    status: str
    result: OperationResultPublic | None = None
    error: Error | None = None
    progress: ProgressPublic | None = None
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
    marker: str | None = pydantic.Field(None, description="Pass as `marker` to get the next page; null on the last.")


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


# --- health, kubeconfig, metrics -------------------------------------------------------------------------

class ProviderHealthPublic(Public):
    status: str | None = None


class NodeGroupHealthPublic(Public):
    name: str
    status: str | None = None
    desiredSize: int | None = None
    readyNodes: int | None = None
    message: str | None = None


class SystemPodHealthPublic(Public):
    name: str
    namespace: str
    ready: bool
    phase: str | None = None
    restartCount: int | None = None
    message: str | None = None


class Health(Public):
    """The seed's health response (the shape the operator keeps in status.health)."""

    status: str | None = None
    providerMetadata: ProviderHealthPublic | None = None
    nodeGroups: list[NodeGroupHealthPublic] = pydantic.Field(default_factory=list)
    systemPods: list[SystemPodHealthPublic] = pydantic.Field(default_factory=list)
    totalNodes: int | None = None
    readyNodes: int | None = None
    lastCheckedAt: str | None = None


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
    unknownInstanceTypes: list[str] = extension("instance types without a known price: left out of estimatedCost.",
                                                default_factory=list)


# --- request bodies -------------------------------------------------------------------------------------

Name = Annotated[str, pydantic.Field(min_length=1, max_length=128, description=(
    "The cluster's display name; no control, bidi or zero-width characters.")), pydantic.AfterValidator(
        common.check_name)]
TeamName = Annotated[str, pydantic.Field(min_length=1, max_length=253, pattern=validation.K8S_NAME_PATTERN)]
TEAMS_DESCRIPTION = ("Names of Teams in the organization whose members may use the cluster "
                     "(it then appears in their /me/clusters).")


class AccessCreate(common.Model):
    teams: list[TeamName] = pydantic.Field(default_factory=list, max_length=100, description=TEAMS_DESCRIPTION)


class ClusterCreate(common.Model):
    connectionId: str = pydantic.Field(pattern=SEED_ID, description="Must equal the connection in the path.")
    networkId: str = pydantic.Field(pattern=SEED_ID, description="An active Network of the same Connection.")
    name: Name
    region: str = pydantic.Field(pattern=validation.REGION_PATTERN)
    config: provisioned_cluster.ClusterConfig
    access: AccessCreate = extension("who may use the cluster (default: no Team).", default_factory=AccessCreate)


# The update's twins of the spec types: each field optional and not nullable (left out: kept). The
# constraints are the spec's (a unit test compares them); rules across fields are checked on the
# merged result, with the spec types themselves.
MISSING = pydantic.MISSING


class NodeGroupUpdate(common.Model):
    name: str | MISSING = pydantic.Field(MISSING, pattern=validation.NAME_PATTERN)
    instanceTypes: list[str] | MISSING = pydantic.Field(
        MISSING, min_length=1, max_length=20,
        json_schema_extra={"items": {"type": "string", "pattern": validation.INSTANCE_TYPE_PATTERN,
                                     "maxLength": 64}},
        description="Replaces the whole list.")
    minSize: int | MISSING = pydantic.Field(MISSING, ge=0, le=1000)
    maxSize: int | MISSING = pydantic.Field(MISSING, ge=1, le=1000)
    desiredSize: int | MISSING = pydantic.Field(MISSING, ge=0, le=1000)
    diskSizeGb: int | MISSING = pydantic.Field(MISSING, ge=20, le=16384)

    @pydantic.field_validator("instanceTypes", mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        return provisioned_cluster.flatten_instance_types(value)


class ClusterConfigUpdate(common.Model):
    kubernetesVersion: str | MISSING = pydantic.Field(MISSING, pattern=validation.KUBERNETES_VERSION_PATTERN,
                                                      max_length=5)
    systemNodeGroup: NodeGroupUpdate | MISSING = pydantic.Field(
        MISSING, description="Merged field by field: what is left out is kept.")
    publicAccessCidrs: list[provisioned_cluster.PublicAccessCidr] | MISSING = pydantic.Field(
        MISSING, max_length=40,
        json_schema_extra={"items": {"type": "string", "pattern": validation.IPV4_CIDR_PATTERN, "maxLength": 18}},
        description="Replaces the whole list; [] opens the endpoint to 0.0.0.0/0.")


class AccessUpdate(common.Model):
    teams: list[TeamName] | MISSING = pydantic.Field(
        MISSING, max_length=100, description=TEAMS_DESCRIPTION + " Replaces the whole list.")


class ClusterUpdate(common.Model):
    """A partial update: each field given replaces the current value (objects merge field by field,
    lists are replaced whole); each field left out keeps it. `null` is refused."""

    name: Name | MISSING = MISSING
    config: ClusterConfigUpdate | MISSING = pydantic.Field(
        MISSING, description="Merged field by field: what is left out is kept.")
    access: AccessUpdate | MISSING = extension("merged like config.", default=MISSING)


def public(model: type[Public], values: dict[str, Any]) -> dict[str, Any]:
    """`values` checked against `model`, as JSON-ready data with every field (null when unset)."""
    return model.model_validate(values).model_dump(mode="json")
