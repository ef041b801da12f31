"""Operation objects in the Kubernetes API: create one for a target, find a target's, prune old ones.

Called by the infra reconciler (which asks for work) and the provisioning runner (which does it).
Operations carry a label with their target's uid, so a target's history is one label query, and an
owner reference to the target, so a real cluster's garbage collector removes them with it.
"""

from __future__ import annotations

from typing import Any

from fleetyard.kube import patching, resources
from fleetyard.models import common, kinds, operation as operation_model

RESOURCE_TYPES = {"Network": "network", "ProvisionedCluster": "externalCluster", "Connection": "connection",
                  "Cluster": "cluster"}


def for_target(namespace: str, target_uid: str) -> list[operation_model.Operation]:
    """The target's Operations, oldest first. creationTimestamp has a resolution of one second, and a
    superseded run and its successor are often created within one: ties go by the generation each
    names, then the attempt (the name, random, only last)."""
    items = resources.list_objects(kinds.OPERATION, namespace, f"{kinds.TARGET_UID_LABEL}={target_uid}")
    ops: list[operation_model.Operation] = [kinds.OPERATION.parse(o) for o in items]
    return sorted(ops, key=lambda o: (o.metadata.creationTimestamp or "", o.spec.targetGeneration or 0,
                                      o.spec.attempt, o.name))


def current(ops: list[operation_model.Operation]) -> operation_model.Operation | None:
    """The Operation a target's state follows: one still in flight if there is one (never two runs of a
    stack at once, whatever the order of creation), else the newest."""
    running = [o for o in ops if operation_model.in_flight(o.status.status)]
    return running[-1] if running else (ops[-1] if ops else None)


def create(target: common.Resource, operation: str, *, attempt: int, member_id: str | None,
           connection_version: str | None, scope: str = "all", access_digest: str | None = None,
           target_spec: dict[str, Any] | None = None) -> operation_model.Operation:
    """A new Operation for `target`'s current generation; `target_spec` is what the run will apply."""
    meta = target.metadata
    body: dict[str, Any] = {
        "apiVersion": kinds.API_VERSION,
        "kind": "Operation",
        "metadata": {
            "generateName": f"{meta.name[:40]}-{'access' if scope == operation_model.ACCESS_ENTRIES else operation.lower()}-",
            "namespace": meta.namespace,
            "labels": {kinds.TARGET_UID_LABEL: meta.uid, kinds.TARGET_KIND_LABEL: target.kind},
            "ownerReferences": [target.owner_reference()],
        },
        "spec": {
            "operation": operation,
            "resourceType": RESOURCE_TYPES[target.kind],
            "resourceRef": {"kind": target.kind, "name": meta.name},
            "resourceId": meta.labels.get(kinds.ID_LABEL),
            "memberId": member_id,
            "targetGeneration": meta.generation,
            "attempt": attempt,
            "connectionVersion": connection_version,
            "scope": scope if scope != "all" else None,
            "accessDigest": access_digest,
            "targetSpec": target_spec,
        },
    }
    body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
    created: operation_model.Operation = kinds.OPERATION.parse(
        patching.create_object(kinds.OPERATION, meta.namespace, body))
    return created


def mark_superseded(namespace: str, op: operation_model.Operation, by: operation_model.Operation) -> None:
    """Say on a cancelled, never started Operation which one applies the newer spec instead."""
    generation = by.spec.targetGeneration
    patching.patch_status(kinds.OPERATION, namespace, op.name, {
        "supersededBy": by.name,
        "progress": {"stage": "superseded", "message": f"superseded by {by.name}"
                                                       + (f" (generation {generation})" if generation else "")}})


def prune(namespace: str, ops: list[operation_model.Operation], keep: int) -> list[str]:
    """Delete all but the newest `keep` finished Operations of a target (`ops`: its list, oldest
    first); never one that still runs."""
    done = [o for o in ops if operation_model.finished(o.status.status)]
    doomed = done[:-keep] if keep > 0 else done
    for op in doomed:
        patching.delete_object(kinds.OPERATION, namespace, op.name)
    return [o.name for o in doomed]


def delete_all(namespace: str, target_uid: str) -> None:
    for op in for_target(namespace, target_uid):
        patching.delete_object(kinds.OPERATION, namespace, op.name)
