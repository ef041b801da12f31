"""The kind-specific parts of reconciling infrastructure: what a Network or ProvisionedCluster waits
for, what blocks its destruction, and which status fields a finished Pulumi run fills.

Called by `fleetyard.controllers.infra_reconciler` with the objects already parsed. Reads referenced
objects through `fleetyard.kube` (typed); a ProvisionedCluster also keeps its `Cluster` record.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fleetyard import settings as settings_mod
from fleetyard.cloud import errors as cloud_errors
from fleetyard.day2 import kubeconfig_secrets, retirement
from fleetyard.kube import patching, resources, secrets
from fleetyard.models import cluster as cluster_model, common, conditions, connection as connection_model, kinds
from fleetyard.models import network as network_model, provisioned_cluster as pc_model, team as team_model
from fleetyard.models import team_access
from fleetyard.provisioning import job as job_mod

HIDDEN_OUTPUTS = {"certificateAuthorityData"}  # long and only useful to build a kubeconfig
HEALTH_FIELDS = ("health", "lastHealthStatus", "lastHealthMessage", "lastHealthCheckAt")
# the conditions a Cluster record copies from its ProvisionedCluster (kubectl wait works on either)
MIRRORED_CONDITIONS = (conditions.READY, conditions.RECONCILING, conditions.STALLED, conditions.HEALTHY)
# the ProvisionedCluster's status fields its Cluster record shows under the same name
MIRRORED_FIELDS = ("operationId", "kubernetesVersion", *HEALTH_FIELDS)
Infra = network_model.Network | pc_model.ProvisionedCluster


@dataclasses.dataclass(frozen=True)
class Deps:
    """The objects a target refers to, read once per reconcile."""

    connection: connection_model.Connection | None
    network: network_model.Network | None = None
    teams: tuple[team_model.Team, ...] = ()


@dataclasses.dataclass(frozen=True)
class Access:
    """What a target made for its users before it may say Ready: status fields, or what is missing."""

    status: dict[str, Any] = dataclasses.field(default_factory=dict)
    waiting: str | None = None
    reason: str = "KubeconfigPending"


def _missing(**refs: tuple[str, Any]) -> str | None:
    """`ConnectionNotFound` / `NetworkNotFound` for the first referenced object that does not exist: only the
    user can fix that, so the object says Stalled."""
    for kind, (_, dependency) in refs.items():
        if dependency is None:
            return f"{kind}NotFound"
    return None


def _wait_for_active(kind: str, name: str, dependency: connection_model.Connection | network_model.Network | None,
                     ) -> str | None:
    """What to wait for until `dependency` (a Connection or Network) is active; None once it is."""
    if dependency is None:
        return f"{kind} {name} (not found)"
    phase = dependency.status.status
    if phase != "active":
        return f"{kind} {name} to become active (it is {phase or 'pending'})"
    return None


class NetworkTarget:
    kind = kinds.NETWORK
    program: job_mod.Program = "network"

    def deps(self, obj: network_model.Network) -> Deps:
        return Deps(resources.get(kinds.CONNECTION, obj.namespace, obj.spec.connectionRef.name))

    def waiting_for(self, obj: network_model.Network, deps: Deps) -> str | None:
        return _wait_for_active("Connection", obj.spec.connectionRef.name, deps.connection)

    def missing(self, obj: network_model.Network, deps: Deps) -> str | None:
        return _missing(Connection=(obj.spec.connectionRef.name, deps.connection))

    def ready_gate(self, obj: network_model.Network, status: dict[str, Any], deps: Deps,
               cfg: settings_mod.Settings) -> Access:
        return Access()

    def delete_blockers(self, obj: network_model.Network) -> tuple[str, ...]:
        return tuple(resources.users_of(obj.namespace, "networkRef", obj.name, (kinds.PROVISIONED_CLUSTER,)))

    def desired(self, obj: network_model.Network) -> str:
        return "Provisioned"

    def access_digest(self, obj: network_model.Network, deps: Deps) -> str | None:
        return None

    def outputs_status(self, outputs: dict[str, str] | None) -> dict[str, Any]:
        if outputs is None:
            return {"providerNetworkId": None, "iacOutputs": None}
        return {"providerNetworkId": outputs.get("vpcId"), "iacOutputs": dict(outputs)}

    def after(self, obj: network_model.Network, status: dict[str, Any], deps: Deps) -> dict[str, Any]:
        return {}

    def retired(self, obj: network_model.Network, phase: str) -> tuple[dict[str, Any], str, str] | None:
        return None

    def retire(self, obj: network_model.Network) -> None:
        return None

    def release(self, obj: network_model.Network) -> None:
        return None

    def gone(self, obj: network_model.Network, argocd_namespace: str) -> None:
        return None


class ClusterTarget:
    kind = kinds.PROVISIONED_CLUSTER
    program: job_mod.Program = "cluster"

    def deps(self, obj: pc_model.ProvisionedCluster) -> Deps:
        return Deps(resources.get(kinds.CONNECTION, obj.namespace, obj.spec.connectionRef.name),
                    resources.get(kinds.NETWORK, obj.namespace, obj.spec.networkRef.name),
                    tuple(resources.teams_named(obj.namespace, obj.spec.access.team_names())))

    def access_digest(self, obj: pc_model.ProvisionedCluster, deps: Deps) -> str | None:
        return team_access.digest(access_entries(obj, deps.connection, deps.teams))

    def waiting_for(self, obj: pc_model.ProvisionedCluster, deps: Deps) -> str | None:
        if wait := _wait_for_active("Connection", obj.spec.connectionRef.name, deps.connection):
            return wait
        return _wait_for_active("Network", obj.spec.networkRef.name, deps.network)

    def missing(self, obj: pc_model.ProvisionedCluster, deps: Deps) -> str | None:
        return _missing(Connection=(obj.spec.connectionRef.name, deps.connection),
                        Network=(obj.spec.networkRef.name, deps.network))

    def ready_gate(self, obj: pc_model.ProvisionedCluster, status: dict[str, Any], deps: Deps,
               cfg: settings_mod.Settings) -> Access:
        """The kubeconfig Secrets, written before Ready first says True (Cluster API's order: `kubectl wait
        --for=condition=Ready` then `kubectl get secret <name>-kubeconfig` works); afterwards the health
        check keeps them fresh."""
        if conditions.is_true(status.get("conditions"), conditions.READY) and status.get("kubeconfigSecretRef"):
            return Access()
        cluster_name = (status.get("providerMetadata") or {}).get("clusterName")
        if deps.connection is None or not cluster_name:
            return Access(waiting="waiting to write the kubeconfig Secret: the cluster has no name yet")
        try:
            refs = kubeconfig_secrets.publish(obj, cluster_name, deps.connection, secrets.value,
                                              token_lifetime=cfg.token_lifetime, refresh_before=cfg.token_refresh_before,
                                              argocd_namespace=cfg.argocd_namespace)
        except cloud_errors.CloudError as exc:
            return Access(waiting=f"waiting to write the kubeconfig Secret: EKS could not be asked: {exc.code}")
        return Access(status=refs)

    def delete_blockers(self, obj: pc_model.ProvisionedCluster) -> tuple[str, ...]:
        return ()

    def desired(self, obj: pc_model.ProvisionedCluster) -> str:
        return obj.spec.desiredState

    def outputs_status(self, outputs: dict[str, str] | None) -> dict[str, Any]:
        if outputs is None:
            return {"providerMetadata": None, "iacOutputs": None, "jobRunnerRoleArn": None}
        return {
            # providerMetadata.status is EKS's own answer: the health check writes it
            "providerMetadata": {"clusterName": outputs.get("clusterName"), "clusterArn": outputs.get("clusterArn")},
            "kubernetesVersion": outputs.get("kubernetesVersion"),
            "jobRunnerRoleArn": outputs.get("jobRunnerRoleArn"),
            "iacOutputs": {k: v for k, v in outputs.items() if k not in HIDDEN_OUTPUTS},
        }

    def retired(self, obj: pc_model.ProvisionedCluster, phase: str) -> tuple[dict[str, Any], str, str] | None:
        """(status fields, Healthy reason, message) once the infrastructure goes; None while it runs."""
        reason = retirement.reason(phase, obj.deleting)
        if reason is None:
            return None
        message = retirement.message(phase, obj.deleting)
        return retirement.status_fields(message), reason, message

    def retire(self, obj: pc_model.ProvisionedCluster) -> None:
        retirement.clean_up(obj)

    def after(self, obj: pc_model.ProvisionedCluster, status: dict[str, Any], deps: Deps) -> dict[str, Any]:
        """Keep the seed's `cluster` record beside the ProvisionedCluster (same name, owned by it).
        Returns the cluster's own status fields that follow from the record (`clusterId`), written
        with the rest of its status in one patch."""
        record: cluster_model.Cluster | None = resources.get(kinds.CLUSTER, obj.namespace, obj.name)
        wanted_spec = {"displayName": obj.spec.displayName, "region": obj.spec.region,
                       "access": obj.spec.access.model_dump(mode="json", exclude_none=True),
                       "provisionedClusterRef": {"name": obj.name}}
        if record is None:
            record = kinds.CLUSTER.parse(patching.create_object(kinds.CLUSTER, obj.namespace, {
                "apiVersion": kinds.API_VERSION, "kind": kinds.CLUSTER.kind,
                "metadata": {"name": obj.name, "ownerReferences": [obj.owner_reference()]},
                "spec": wanted_spec}))
        elif record.spec.provisionedClusterRef is None or record.spec.provisionedClusterRef.name != obj.name:
            return {}  # a self-registered Cluster of the same name: not ours to touch
        elif _spec_of(record, wanted_spec) != wanted_spec:
            patching.patch_object(kinds.CLUSTER, obj.namespace, obj.name, {"spec": wanted_spec})
        network, connection = deps.network, deps.connection
        mirrored = {
            "externalClusterId": obj.seed_id,
            "connectionId": connection.seed_id if connection else None,
            "networkId": network.seed_id if network else None,
            "externalStatus": status.get("status"),
            **{k: status.get(k) for k in MIRRORED_FIELDS},
            "observedGeneration": record.metadata.generation,
            "conditions": mirrored_conditions(status.get("conditions"), record.metadata.generation),
        }
        current = record.status.as_stored()
        if any(current.get(k) != v for k, v in mirrored.items()):
            patching.patch_status(kinds.CLUSTER, obj.namespace, obj.name, mirrored)
        return {"clusterId": record.seed_id} if record.seed_id else {}

    def gone(self, obj: pc_model.ProvisionedCluster, argocd_namespace: str) -> None:
        """Destroyed or deleted: what pointed others at the cluster goes (the Argo CD cluster Secret)."""
        kubeconfig_secrets.remove_argocd(obj, argocd_namespace)

    def release(self, obj: pc_model.ProvisionedCluster) -> None:
        record: cluster_model.Cluster | None = resources.get(kinds.CLUSTER, obj.namespace, obj.name)
        ref = record.spec.provisionedClusterRef if record else None
        if ref is not None and ref.name == obj.name:
            patching.delete_object(kinds.CLUSTER, obj.namespace, obj.name)


def record_lags(cluster_status: dict[str, Any], record_status: dict[str, Any]) -> bool:
    """Does a Cluster record show other status than its ProvisionedCluster has (what `after` copies)?"""
    if record_status.get("externalStatus") != cluster_status.get("status"):
        return True
    if any(record_status.get(k) != cluster_status.get(k) for k in MIRRORED_FIELDS):
        return True
    shown = lambda conds: sorted((c.get("type"), c.get("status"), c.get("reason"), c.get("message") or "")  # noqa: E731
                                 for c in conds or [] if c.get("type") in MIRRORED_CONDITIONS)
    return shown(record_status.get("conditions")) != shown(cluster_status.get("conditions"))


def mirrored_conditions(source: list[dict[str, Any]] | None, generation: int | None) -> list[dict[str, Any]]:
    """The ProvisionedCluster's conditions a Cluster record shows, stamped with the record's generation."""
    out = []
    for c in source or []:
        if c.get("type") in MIRRORED_CONDITIONS:
            copied = {k: v for k, v in c.items() if k != "observedGeneration"}
            out.append({**copied, **({"observedGeneration": generation} if generation is not None else {})})
    return out


def access_entries(obj: pc_model.ProvisionedCluster, conn: connection_model.Connection | None,
                   teams: tuple[team_model.Team, ...] | list[team_model.Team]) -> list[team_access.EntryGrant]:
    """The member access entries of the cluster; never one for the Connection's role (the operator's)."""
    return team_access.entries(obj.spec.access, teams, [conn.spec.providerConfig.roleArn] if conn else [])


def _spec_of(record: cluster_model.Cluster, wanted: dict[str, Any]) -> dict[str, Any]:
    """The record's spec fields that `wanted` names, as stored."""
    stored = record.spec.as_stored()
    return {k: stored.get(k) for k in wanted}


TARGETS: dict[str, NetworkTarget | ClusterTarget] = {"Network": NetworkTarget(), "ProvisionedCluster": ClusterTarget()}


def iac_state(target: NetworkTarget | ClusterTarget, obj: common.Resource) -> dict[str, str] | None:
    id_ = obj.seed_id
    if not id_:
        return None
    return {"projectName": job_mod.PROJECTS[target.program], "stackName": job_mod.stack_name(obj.namespace, id_)}
