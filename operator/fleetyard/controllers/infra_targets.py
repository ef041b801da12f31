"""The kind-specific parts of reconciling infrastructure: what a Network or ProvisionedCluster waits
for, what blocks its destruction, and which status fields a finished Pulumi run fills.

Called by `fleetyard.controllers.infra_reconciler`. Reads referenced objects through `fleetyard.kube`;
everything else is plain dict shaping.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fleetyard import ids
from fleetyard.kube import patching, resources
from fleetyard.models import kinds
from fleetyard.provisioning import cluster_program, job as job_mod, network_program

HIDDEN_OUTPUTS = {"certificateAuthorityData"}  # long and only useful to build a kubeconfig
HEALTH_FIELDS = ("health", "lastHealthStatus", "lastHealthMessage", "lastHealthCheckAt")


def connection_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    ref = (obj.get("spec") or {}).get("connectionRef") or {}
    return resources.get_object(kinds.CONNECTION, obj["metadata"]["namespace"], ref.get("name", ""))


def network_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    ref = (obj.get("spec") or {}).get("networkRef") or {}
    return resources.get_object(kinds.NETWORK, obj["metadata"]["namespace"], ref.get("name", ""))


@dataclasses.dataclass(frozen=True)
class Deps:
    """The objects a target refers to, read once per reconcile."""

    connection: dict[str, Any] | None
    network: dict[str, Any] | None = None


def _wait_for_active(kind: str, name: str | None, dependency: dict[str, Any] | None) -> str | None:
    """What to wait for until `dependency` (a Connection or Network) is active; None once it is."""
    if dependency is None:
        return f"{kind} {name} (not found)"
    phase = (dependency.get("status") or {}).get("status")
    if phase != "active":
        return f"{kind} {name} to become active (it is {phase or 'pending'})"
    return None


def _connection_wait(obj: dict[str, Any], deps: Deps) -> str | None:
    name = ((obj.get("spec") or {}).get("connectionRef") or {}).get("name")
    return _wait_for_active("Connection", name, deps.connection)


class NetworkTarget:
    kind = kinds.NETWORK
    project = network_program.PROJECT

    def deps(self, obj: dict[str, Any]) -> Deps:
        return Deps(connection_of(obj))

    def waiting_for(self, obj: dict[str, Any], deps: Deps) -> str | None:
        return _connection_wait(obj, deps)

    def delete_blockers(self, obj: dict[str, Any]) -> tuple[str, ...]:
        meta = obj["metadata"]
        return tuple(resources.users_of(meta["namespace"], "networkRef", meta["name"], (kinds.PROVISIONED_CLUSTER,)))

    def desired(self, obj: dict[str, Any]) -> str:
        return "Provisioned"

    def outputs_status(self, outputs: dict[str, str] | None) -> dict[str, Any]:
        if outputs is None:
            return {"providerNetworkId": None, "iacOutputs": None}
        return {"providerNetworkId": outputs.get("vpcId"), "iacOutputs": dict(outputs)}

    def after(self, obj: dict[str, Any], status: dict[str, Any], deps: Deps) -> None:
        return None

    def release(self, obj: dict[str, Any]) -> None:
        return None


class ClusterTarget:
    kind = kinds.PROVISIONED_CLUSTER
    project = cluster_program.PROJECT

    def deps(self, obj: dict[str, Any]) -> Deps:
        return Deps(connection_of(obj), network_of(obj))

    def waiting_for(self, obj: dict[str, Any], deps: Deps) -> str | None:
        if wait := _connection_wait(obj, deps):
            return wait
        name = ((obj.get("spec") or {}).get("networkRef") or {}).get("name")
        return _wait_for_active("Network", name, deps.network)

    def delete_blockers(self, obj: dict[str, Any]) -> tuple[str, ...]:
        return ()

    def desired(self, obj: dict[str, Any]) -> str:
        return str((obj.get("spec") or {}).get("desiredState") or "Provisioned")

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

    def after(self, obj: dict[str, Any], status: dict[str, Any], deps: Deps) -> None:
        """Keep the seed's `cluster` record beside the ProvisionedCluster (same name, owned by it)."""
        meta = obj["metadata"]
        spec = obj.get("spec") or {}
        record = resources.get_object(kinds.CLUSTER, meta["namespace"], meta["name"])
        wanted_spec = {"displayName": spec.get("displayName"), "region": spec.get("region"),
                       "access": spec.get("access") or {"teams": []},
                       "provisionedClusterRef": {"name": meta["name"]}}
        if record is None:
            record = patching.create_object(kinds.CLUSTER, meta["namespace"], {
                "apiVersion": kinds.API_VERSION, "kind": "Cluster",
                "metadata": {"name": meta["name"], "ownerReferences": [{
                    "apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                    "uid": meta["uid"], "controller": True, "blockOwnerDeletion": False}]},
                "spec": wanted_spec})
        elif (record.get("spec") or {}).get("provisionedClusterRef") != {"name": meta["name"]}:
            return  # a self-registered Cluster of the same name: not ours to touch
        elif {k: (record.get("spec") or {}).get(k) for k in wanted_spec} != wanted_spec:
            patching.patch_object(kinds.CLUSTER, meta["namespace"], meta["name"], {"spec": wanted_spec})
        network, connection = deps.network, deps.connection
        mirrored = {
            "externalClusterId": ids.of(obj),
            "connectionId": ids.of(connection) if connection else None,
            "networkId": ids.of(network) if network else None,
            "externalStatus": status.get("status"),
            "operationId": status.get("operationId"),
            "kubernetesVersion": status.get("kubernetesVersion"),
            **{k: status.get(k) for k in HEALTH_FIELDS},
        }
        current = record.get("status") or {}
        if any(current.get(k) != v for k, v in mirrored.items()):
            patching.patch_status(kinds.CLUSTER, meta["namespace"], meta["name"], mirrored)
        record_id = ids.of(record)
        if record_id and (obj.get("status") or {}).get("clusterId") != record_id:
            patching.patch_status(self.kind, meta["namespace"], meta["name"], {"clusterId": record_id})

    def release(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        record = resources.get_object(kinds.CLUSTER, meta["namespace"], meta["name"])
        if record and (record.get("spec") or {}).get("provisionedClusterRef") == {"name": meta["name"]}:
            patching.delete_object(kinds.CLUSTER, meta["namespace"], meta["name"])


TARGETS = {"Network": NetworkTarget(), "ProvisionedCluster": ClusterTarget()}


def iac_state(target: NetworkTarget | ClusterTarget, obj: dict[str, Any]) -> dict[str, str] | None:
    id_ = ids.of(obj)
    if not id_:
        return None
    return {"projectName": target.project, "stackName": job_mod.stack_name(obj["metadata"]["namespace"], id_)}
