"""Reconciles one Network or ProvisionedCluster: gather facts, decide, start an Operation, write status.

Called from the event-driven queue (`controllers.wakeups`) and the Kopf delete handler of both kinds.
It never runs Pulumi: it asks for work by creating an `Operation` and reflects the newest one.
A lock per object keeps the queue and the delete handler from both starting work at once. The
object and what it refers to are read once, typed, from the operator's watch cache; status is
written as one merge patch of what changed.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import logging
import threading
from typing import Any

from fleetyard import metrics, settings as settings_mod
from fleetyard.controllers import infra_phases, infra_targets, requests
from fleetyard.day2 import retirement
from fleetyard.kube import events, operations, patching, resources
from fleetyard.models import common, conditions, kinds, operation as operation_model, timestamps
from fleetyard.provisioning import job as job_mod

log = logging.getLogger(__name__)
_locks: collections.defaultdict[tuple[str, str, str], threading.Lock] = collections.defaultdict(threading.Lock)


def last_operation(op: operation_model.Operation | None) -> infra_phases.LastOperation | None:
    if op is None:
        return None
    spec, status = op.spec, op.status
    return infra_phases.LastOperation(
        name=op.name, operation=spec.operation, phase=status.status or "",
        target_generation=spec.targetGeneration, attempt=spec.attempt,
        connection_version=spec.connectionVersion, scope=spec.scope, access_digest=spec.accessDigest,
        error=status.error.model_dump(mode="json", exclude_none=True) if status.error else None,
        completed_at=timestamps.parse(status.completedAt), message=status.progress.message if status.progress else None,
        applied=spec.targetSpec.model_dump(mode="json") if spec.targetSpec else None,
        started=bool(status.startedAt))


def reconcile(kind: str, namespace: str, name: str, cfg: settings_mod.Settings) -> infra_phases.Decision | None:
    """Bring one object one step closer to what it asks for; returns the decision taken. Counted in
    `fleetyard_reconciles_total` by the phase decided, `gone` or `error`, whoever asked (the queue or
    the delete handler)."""
    target = infra_targets.TARGETS[kind]
    try:
        with _locks[(kind, namespace, name)]:
            obj = resources.get(target.kind, namespace, name)
            decision = None if obj is None else _reconcile(target, obj, cfg)
    except Exception:
        metrics.RECONCILES.labels(kind, "error").inc()
        raise
    metrics.RECONCILES.labels(kind, decision.phase if decision else "gone").inc()
    return decision


def _reconcile(target: infra_targets.NetworkTarget | infra_targets.ClusterTarget, obj: infra_targets.Infra,
               cfg: settings_mod.Settings) -> infra_phases.Decision:
    meta, status = obj.metadata, obj.status
    stored = status.as_stored()
    ops = operations.for_target(obj.namespace, meta.uid)
    newest = previous = operations.current(ops)
    last = last_operation(newest)
    old_provisioned = (conditions.find(stored.get("conditions"), conditions.PROVISIONED) or {}).get("status")
    provisioned = infra_phases.provisioned_condition(old_provisioned, last)
    deps = target.deps(obj)
    waiting = target.waiting_for(obj, deps) if not obj.deleting else None
    waiting_reason = target.missing(obj, deps) if waiting else None
    if obj.seed_id is None:
        waiting, waiting_reason = "an id to be assigned", None
    desired = target.desired(obj)
    asked = requests.pending(meta.annotations, status)
    applied = job_mod.applied_spec(obj)
    facts = infra_phases.Facts(
        generation=meta.generation or 1, current_phase=status.status,
        provisioned=provisioned[0], desired=desired, deleting=obj.deleting,
        deletion_policy=obj.spec.deletionPolicy, waiting_for=waiting,
        delete_blocked_by=target.delete_blockers(obj) if (obj.deleting or desired == "Destroyed") else (),
        last=last, connection_version=_generation(deps.connection), waiting_reason=waiting_reason,
        access_digest=target.access_digest(obj, deps), applied=applied,
        retry_requested=requests.RETRY in asked, refresh_requested=requests.REFRESH in asked)
    decision = infra_phases.decide(facts)

    if decision.start:
        newest = operations.create(obj, decision.start, attempt=decision.attempt,
                                   member_id=meta.annotations.get(kinds.UPDATED_BY_ANNOTATION)
                                   or meta.annotations.get(kinds.CREATED_BY_ANNOTATION),
                                   connection_version=facts.connection_version, scope=decision.scope,
                                   access_digest=facts.access_digest, target_spec=applied)
        if previous is not None and last is not None and last.superseded:
            operations.mark_superseded(obj.namespace, previous, newest)
        provisioned = infra_phases.provisioned_condition(old_provisioned, last_operation(newest))
        log.info("operation requested", extra={"kind": obj.kind, "object": f"{obj.namespace}/{obj.name}",
                                               "operation": decision.start, "scope": decision.scope,
                                               "attempt": decision.attempt})

    retired = target.retired(obj, decision.phase)
    new_status = _status(target, obj, stored, decision, newest, provisioned, retired)
    if decision.phase == "active" and decision.start is None and not obj.deleting:
        # what users need (a cluster's kubeconfig Secret) exists before Ready says True
        access = target.ready_gate(obj, {**stored, **new_status}, deps, cfg)
        _gate_ready(new_status, access)
        if access.waiting:  # nothing will tell us when EKS answers: look again after the retry base
            decision = dataclasses.replace(decision, retry_at=facts.now + datetime.timedelta(seconds=cfg.retry_base))
    if decision.handles_requests:
        new_status.update(asked)
    if not obj.deleting:
        # the seed's record first: a client that sees the ProvisionedCluster's new phase finds its
        # record already saying it (never a record that lags behind)
        new_status.update(target.after(obj, {**stored, **new_status}, deps))
    changed = {k: v for k, v in new_status.items() if _differs(stored.get(k), v)}
    if changed:
        patching.patch_status(target.kind, obj.namespace, obj.name, changed)
    if retired is not None and retirement.needs_cleanup(stored, decision.phase != status.status):
        target.retire(obj)
    if decision.phase != status.status or (decision.stalled and "statusMessage" in changed):
        events.post(obj, "Warning" if decision.phase == "failed" else "Normal", _reason(decision),
                    decision.message or f"{obj.kind} is {decision.phase}")
    if decision.handles_requests and asked:
        events.post(obj, "Normal", "RequestHandled", _handled_message(asked, decision))
    if decision.start is None and newest is not None:
        operations.prune(obj.namespace, ops, cfg.operation_history)
    if cfg.argocd_namespace and (decision.release or (decision.phase == "destroyed" and status.status != "destroyed")):
        target.gone(obj, cfg.argocd_namespace)
    if decision.release:
        target.release(obj)
        operations.delete_all(obj.namespace, meta.uid)
    return decision


def _status(target: infra_targets.NetworkTarget | infra_targets.ClusterTarget, obj: common.Resource,
            stored: dict[str, Any], decision: infra_phases.Decision, newest: operation_model.Operation | None,
            provisioned: tuple[str, str], retired: tuple[dict[str, Any], str, str] | None = None) -> dict[str, Any]:
    """The status the decision implies."""
    generation = obj.metadata.generation
    out: dict[str, Any] = {"status": decision.phase, "statusMessage": decision.message or None,
                           "observedGeneration": generation, "iacState": infra_targets.iac_state(target, obj)}
    if newest is not None:
        out["operationRef"] = {"name": newest.name}
        out["operationId"] = newest.status.id or newest.metadata.labels.get(kinds.ID_LABEL)
        if newest.status.status == "succeeded":
            if newest.spec.operation == "destroy":
                out.update(target.outputs_status(None))
            else:
                result = newest.status.result
                out.update(target.outputs_status((result.outputs if result else None) or {}))
    conds = list(stored.get("conditions") or [])
    wanted = infra_phases.conditions_for(decision, provisioned)
    if retired is not None:  # nothing to check any more: health is unknown, and says why
        fields, reason_, text = retired
        out.update({k: v for k, v in fields.items() if k not in out})  # a finished destroy drops more
        wanted[conditions.HEALTHY] = ("Unknown", reason_, text)
    for type_, (value, reason, message) in wanted.items():
        previous = conditions.find(conds, type_) or {}
        if (previous.get("status"), previous.get("reason"), previous.get("message") or "") != (value, reason, message):
            conds = conditions.set_condition(conds, type_, value, reason, message, generation)
    out["conditions"] = conds
    return out


def _gate_ready(new_status: dict[str, Any], access: infra_targets.Access) -> None:
    """Adds the status fields of what was made for users; Ready stays False while something is missing."""
    new_status.update(access.status)
    if access.waiting:
        ready = conditions.find(new_status["conditions"], conditions.READY) or {}
        if (ready.get("status"), ready.get("reason"), ready.get("message")) != ("False", access.reason, access.waiting):
            new_status["conditions"] = conditions.set_condition(
                new_status["conditions"], conditions.READY, False, access.reason, access.waiting,
                new_status.get("observedGeneration"))


def _differs(current: Any, wanted: Any) -> bool:
    """Would a merge patch with `wanted` change `current`? (Keys others write, such as
    providerMetadata.status from the health check, are left alone by a merge patch.)"""
    if isinstance(wanted, dict) and isinstance(current, dict):
        return any(_differs(current.get(k), v) for k, v in wanted.items())
    return current != wanted


def _generation(obj: common.Resource | None) -> str | None:
    """The Connection's spec generation: a terminal failure is retried once the Connection is edited."""
    return str(obj.metadata.generation) if obj else None


def _handled_message(asked: dict[str, str], decision: infra_phases.Decision) -> str:
    what = " and ".join(("retry" if field == requests.RETRY else "refresh") + f" requested at {value}"
                        for field, value in sorted(asked.items()))
    done = f"started {decision.start} (attempt {decision.attempt})" if decision.start else \
        f"nothing to do: {decision.message or decision.phase}"
    return f"{what}: {done}"


def _reason(decision: infra_phases.Decision) -> str:
    if decision.stalled:
        return "Stalled"
    return {"pending": "Waiting", "provisioning": "Provisioning", "updating": "Updating",
            "destroying": "Destroying", "destroyed": "Destroyed", "active": "Active",
            "failed": "Failed"}.get(decision.phase, decision.phase.capitalize())
