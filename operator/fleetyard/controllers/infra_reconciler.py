"""Reconciles one Network or ProvisionedCluster: gather facts, decide, start an Operation, write status.

Called from the Kopf handlers and timers of both kinds and by the runner when an Operation ends.
It never runs Pulumi: it asks for work by creating an `Operation` and reflects the newest one.
A lock per object keeps a timer tick and an event handler from both starting work at once.
"""

from __future__ import annotations

import collections
import datetime
import logging
import threading
from typing import Any

from fleetyard import conditions, ids
from fleetyard.controllers import infra_phases, infra_targets
from fleetyard.kube import events, operations, patching, resources
from fleetyard.models import kinds

log = logging.getLogger(__name__)
_locks: collections.defaultdict[tuple[str, str, str], threading.Lock] = collections.defaultdict(threading.Lock)


def _time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:  # an annotation written by hand
        return None


def last_operation(op: dict[str, Any] | None) -> infra_phases.LastOperation | None:
    if op is None:
        return None
    spec, status = op.get("spec") or {}, op.get("status") or {}
    progress = status.get("progress") or {}
    return infra_phases.LastOperation(
        name=op["metadata"]["name"], operation=spec.get("operation", ""), phase=status.get("status") or "",
        target_generation=spec.get("targetGeneration"), attempt=int(spec.get("attempt") or 1),
        connection_version=spec.get("connectionVersion"), error=status.get("error"),
        completed_at=_time(status.get("completedAt")), message=progress.get("message"))


def reconcile(kind: str, namespace: str, name: str, *, history: int = 10) -> infra_phases.Decision | None:
    """Bring one object one step closer to what it asks for; returns the decision taken."""
    target = infra_targets.TARGETS[kind]
    with _locks[(kind, namespace, name)]:
        obj = resources.get_object(target.kind, namespace, name)
        if obj is None:
            return None
        return _reconcile(target, obj, history)


def _reconcile(target: Any, obj: dict[str, Any], history: int) -> infra_phases.Decision:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    ops = operations.for_target(meta["namespace"], meta["uid"])
    newest = ops[-1] if ops else None
    last = last_operation(newest)
    old_provisioned = (conditions.find(status.get("conditions"), infra_phases.PROVISIONED) or {}).get("status")
    provisioned = infra_phases.provisioned_condition(old_provisioned, last)
    deps = target.deps(obj)
    connection = deps.connection
    deleting = bool(meta.get("deletionTimestamp"))
    waiting = target.waiting_for(obj, deps) if not deleting else None
    if ids.of(obj) is None:
        waiting = "an id to be assigned"
    facts = infra_phases.Facts(
        generation=int(meta.get("generation") or 1), current_phase=status.get("status"),
        provisioned=provisioned[0], desired=target.desired(obj), deleting=deleting,
        deletion_policy=spec.get("deletionPolicy") or "Delete", waiting_for=waiting,
        delete_blocked_by=target.delete_blockers(obj) if (deleting or target.desired(obj) == "Destroyed") else (),
        last=last, connection_version=_generation(connection),
        retry_requested_at=_time((meta.get("annotations") or {}).get(kinds.RETRY_REQUESTED_ANNOTATION)))
    decision = infra_phases.decide(facts)

    if decision.start:
        annotations = meta.get("annotations") or {}
        newest = operations.create(obj, decision.start, attempt=decision.attempt,
                                   member_id=annotations.get(kinds.UPDATED_BY_ANNOTATION)
                                   or annotations.get(kinds.CREATED_BY_ANNOTATION),
                                   connection_version=facts.connection_version)
        provisioned = infra_phases.provisioned_condition(old_provisioned, last_operation(newest))
        log.info("operation requested", extra={"kind": obj["kind"], "object": f"{meta['namespace']}/{meta['name']}",
                                               "operation": decision.start, "attempt": decision.attempt})

    new_status = _status(target, obj, decision, newest, provisioned)
    changed = {k: v for k, v in new_status.items() if _differs(status.get(k), v)}
    if changed:
        patching.patch_status(target.kind, meta["namespace"], meta["name"], changed)
    if decision.phase != status.get("status") or (decision.stalled and "statusMessage" in changed):
        events.post(obj, "Warning" if decision.phase == "failed" else "Normal", _reason(decision),
                    decision.message or f"{obj['kind']} is {decision.phase}")
    if not deleting:
        target.after(obj, {**status, **new_status}, deps)
    if decision.start is None and newest is not None:
        operations.prune(meta["namespace"], ops, history)
    if decision.release:
        target.release(obj)
        operations.delete_all(meta["namespace"], meta["uid"])
    return decision


def _status(target: Any, obj: dict[str, Any], decision: infra_phases.Decision, newest: dict[str, Any] | None,
            provisioned: tuple[str, str]) -> dict[str, Any]:
    meta, status = obj["metadata"], obj.get("status") or {}
    out: dict[str, Any] = {"status": decision.phase, "statusMessage": decision.message or None,
                           "observedGeneration": meta.get("generation"),
                           "iacState": infra_targets.iac_state(target, obj)}
    if newest is not None:
        out["operationRef"] = {"name": newest["metadata"]["name"]}
        out["operationId"] = (newest.get("status") or {}).get("id") or \
            (newest["metadata"].get("labels") or {}).get(kinds.ID_LABEL)
        op_status = newest.get("status") or {}
        if op_status.get("status") == "succeeded":
            if newest["spec"]["operation"] == "destroy":
                out.update(target.outputs_status(None))
            else:
                out.update(target.outputs_status((op_status.get("result") or {}).get("outputs") or {}))
    conds = list(status.get("conditions") or [])
    for type_, (value, reason, message) in infra_phases.conditions_for(decision, provisioned).items():
        previous = conditions.find(conds, type_) or {}
        if (previous.get("status"), previous.get("reason"), previous.get("message") or "") != (value, reason, message):
            conds = conditions.set_condition(conds, type_, value, reason, message, meta.get("generation"))
    out["conditions"] = conds
    return out


def _differs(current: Any, wanted: Any) -> bool:
    """Would a merge patch with `wanted` change `current`? (Keys others write, such as
    providerMetadata.status from the health check, are left alone by a merge patch.)"""
    if isinstance(wanted, dict) and isinstance(current, dict):
        return any(_differs(current.get(k), v) for k, v in wanted.items())
    return current != wanted


def _generation(obj: dict[str, Any] | None) -> str | None:
    """The Connection's spec generation: a terminal failure is retried once the Connection is edited."""
    return str(obj["metadata"].get("generation")) if obj else None


def _reason(decision: infra_phases.Decision) -> str:
    if decision.stalled:
        return "Stalled"
    return {"pending": "Waiting", "provisioning": "Provisioning", "updating": "Updating",
            "destroying": "Destroying", "destroyed": "Destroyed", "active": "Active",
            "failed": "Failed"}.get(decision.phase, decision.phase.capitalize())
