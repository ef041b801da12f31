"""Operation objects in the Kubernetes API: create one for a target, find a target's, prune old ones.

Called by the infra reconciler (which asks for work) and the provisioning runner (which does it).
Operations carry a label with their target's uid, so a target's history is one label query, and an
owner reference to the target, so a real cluster's garbage collector removes them with it.
"""

from __future__ import annotations

from typing import Any

from fleetyard.kube import patching, resources
from fleetyard.models import kinds

TARGET_UID_LABEL = "fleetyard.io/target-uid"
TARGET_KIND_LABEL = "fleetyard.io/target-kind"
RESOURCE_TYPES = {"Network": "network", "ProvisionedCluster": "externalCluster", "Connection": "connection",
                  "Cluster": "cluster"}


def for_target(namespace: str, target_uid: str) -> list[dict[str, Any]]:
    """The target's Operations, oldest first."""
    items = resources.list_objects(kinds.OPERATION, namespace, f"{TARGET_UID_LABEL}={target_uid}")
    return sorted(items, key=lambda o: (o["metadata"].get("creationTimestamp") or "", o["metadata"]["name"]))


def create(target: dict[str, Any], operation: str, *, attempt: int, member_id: str | None,
           connection_version: str | None) -> dict[str, Any]:
    meta = target["metadata"]
    kind = target["kind"]
    body = {
        "apiVersion": kinds.API_VERSION,
        "kind": "Operation",
        "metadata": {
            "generateName": f"{meta['name'][:40]}-{operation.lower()}-",
            "namespace": meta["namespace"],
            "labels": {TARGET_UID_LABEL: meta["uid"], TARGET_KIND_LABEL: kind},
            "ownerReferences": [{"apiVersion": target["apiVersion"], "kind": kind, "name": meta["name"],
                                 "uid": meta["uid"], "controller": True, "blockOwnerDeletion": False}],
        },
        "spec": {
            "operation": operation,
            "resourceType": RESOURCE_TYPES[kind],
            "resourceRef": {"kind": kind, "name": meta["name"]},
            "resourceId": (meta.get("labels") or {}).get(kinds.ID_LABEL),
            "memberId": member_id,
            "targetGeneration": meta.get("generation"),
            "attempt": attempt,
            "connectionVersion": connection_version,
        },
    }
    body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
    return patching.create_object(kinds.OPERATION, meta["namespace"], body)


def prune(namespace: str, ops: list[dict[str, Any]], keep: int) -> list[str]:
    """Delete all but the newest `keep` finished Operations of a target (`ops`: its list, oldest
    first); never one that still runs."""
    finished = [o for o in ops if ((o.get("status") or {}).get("status")) in ("succeeded", "failed", "cancelled")]
    doomed = finished[:-keep] if keep > 0 else finished
    for op in doomed:
        patching.delete_object(kinds.OPERATION, namespace, op["metadata"]["name"])
    return [o["metadata"]["name"] for o in doomed]


def delete_all(namespace: str, target_uid: str) -> None:
    for op in for_target(namespace, target_uid):
        patching.delete_object(kinds.OPERATION, namespace, op["metadata"]["name"])
