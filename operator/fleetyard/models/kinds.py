"""The six kinds of group fleetyard.io/v1alpha1: names, models and `kubectl get` columns.

The single table `fleetyard.crdgen`, the operator and the REST API read kind metadata from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pydantic

from fleetyard.models import cluster, common, connection, ids, network, operation, provisioned_cluster, team

GROUP = "fleetyard.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
ID_LABEL = ids.ID_LABEL
# on each Operation: its target's uid (a target's history is one label query) and kind
TARGET_UID_LABEL = "fleetyard.io/target-uid"
TARGET_KIND_LABEL = "fleetyard.io/target-kind"
CREATED_BY_ANNOTATION = "fleetyard.io/created-by"
UPDATED_BY_ANNOTATION = "fleetyard.io/updated-by"
UPDATED_AT_ANNOTATION = "fleetyard.io/updated-at"
# When someone asked (REST provision/destroy) for a failed run to be tried again.
RETRY_REQUESTED_ANNOTATION = "fleetyard.io/retry-requested-at"
# Opt-in to an Argo CD cluster Secret: "true"/"false" as an annotation of a ProvisionedCluster, or
# as a label of its namespace (for every cluster of the organization); the annotation wins.
ARGOCD_OPT_IN = "fleetyard.io/argocd"

READY = '.status.conditions[?(@.type=="Ready")].status'


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    json_path: str
    type: str = "string"
    priority: int = 0
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    spec: type[pydantic.BaseModel]
    status: type[pydantic.BaseModel]
    columns: tuple[Column, ...]
    description: str
    model: type[common.Resource]

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    def parse(self, body: Mapping[str, Any]) -> Any:
        """The stored object as its typed model (`network.Network`, ...); pydantic.ValidationError when it
        does not fit (the CRD schema is generated from the same model, so a stored object does)."""
        return self.model.model_validate(body)


def _common_head() -> tuple[Column, ...]:
    return (Column("ID", ".status.id"), Column("Display Name", ".spec.displayName"))


def _common_tail() -> tuple[Column, ...]:
    return (Column("Ready", READY), Column("Age", ".metadata.creationTimestamp", "date"))


CONNECTION = Kind(
    "Connection", "connections", "connection", ("fyconn",), connection.ConnectionSpec, connection.ConnectionStatus,
    _common_head() + (
        Column("Account", ".spec.providerConfig.accountId"),
        Column("Region", ".spec.providerConfig.region"),
        Column("Status", ".status.status"),
        Column("Message", ".status.statusMessage", priority=1),
    ) + _common_tail(),
    "An IAM role in a customer's AWS account that fleetyard assumes with an external id.", connection.Connection)

NETWORK = Kind(
    "Network", "networks", "network", ("fynet",), network.NetworkSpec, network.NetworkStatus,
    _common_head() + (
        Column("Connection", ".spec.connectionRef.name"),
        Column("Region", ".spec.region"),
        Column("CIDR", ".spec.config.cidr"),
        Column("VPC", ".status.providerNetworkId", priority=1),
        Column("Status", ".status.status"),
        Column("Operation", ".status.operationRef.name"),
        Column("Message", ".status.statusMessage", priority=1),
    ) + _common_tail(),
    "A VPC built by fleetyard in a Connection's account.", network.Network)

PROVISIONED_CLUSTER = Kind(
    "ProvisionedCluster", "provisionedclusters", "provisionedcluster", ("pcl", "pcluster"),
    provisioned_cluster.ProvisionedClusterSpec, provisioned_cluster.ProvisionedClusterStatus,
    _common_head() + (
        Column("Region", ".spec.region"),
        Column("Version", ".spec.config.kubernetesVersion"),
        Column("Status", ".status.status"),
        Column("Health", ".status.lastHealthStatus"),
        Column("Operation", ".status.operationRef.name"),
        Column("Message", ".status.statusMessage", priority=1),
        Column("Connection", ".spec.connectionRef.name", priority=1),
        Column("Network", ".spec.networkRef.name", priority=1),
    ) + _common_tail(),
    "An EKS cluster fleetyard provisions in a customer's AWS account.", provisioned_cluster.ProvisionedCluster)

CLUSTER = Kind(
    "Cluster", "clusters", "cluster", ("fycl",), cluster.ClusterSpec, cluster.ClusterStatus,
    _common_head() + (
        Column("Region", ".spec.region"),
        Column("Version", ".status.kubernetesVersion"),
        Column("Status", ".status.externalStatus"),
        Column("Health", ".status.lastHealthStatus"),
    ) + _common_tail(),
    "A Kubernetes cluster teams use: provisioned by fleetyard or self-registered.", cluster.Cluster)

TEAM = Kind(
    "Team", "teams", "team", ("fyteam",), team.TeamSpec, team.TeamStatus,
    _common_head() + (Column("Access", ".spec.access.level"), Column("Age", ".metadata.creationTimestamp", "date")),
    "Members (usernames, groups, IAM principals) who may use the clusters that name the team, and how.", team.Team)

OPERATION = Kind(
    "Operation", "operations", "operation", ("fyop",), operation.OperationSpec, operation.OperationStatus,
    (
        Column("ID", ".status.id"),
        Column("Operation", ".spec.operation"),
        Column("Scope", ".spec.scope", description="all, or accessEntries: an update of the EKS access entries only"),
        Column("Target", ".spec.resourceRef.name"),
        Column("Status", ".status.status"),
        Column("Stage", ".status.progress.stage"),
        Column("Started", ".status.startedAt", "date", priority=1),
        Column("Age", ".metadata.creationTimestamp", "date"),
    ),
    "One run of long work (a Pulumi update, a catalog query) on a fleetyard resource.", operation.Operation)

ALL: tuple[Kind, ...] = (CONNECTION, NETWORK, PROVISIONED_CLUSTER, CLUSTER, TEAM, OPERATION)
BY_KIND: dict[str, Kind] = {k.kind: k for k in ALL}
BY_PLURAL: dict[str, Kind] = {k.plural: k for k in ALL}
