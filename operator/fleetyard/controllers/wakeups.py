"""Event-driven reconciles: which watched change wakes which object, and when to look again.

Started by `fleetyard.operator_app`. The watch cache (`fleetyard.kube.watch_cache`) tells every
change; `dependents` maps it to the keys it concerns:

- a Network or ProvisionedCluster itself, when anything but its status changed (spec, labels,
  annotations such as a retry request, finalizers, deletion), and a ProvisionedCluster when a status
  field its Cluster record shows changed (the health check writes some);
- the target of an Operation whose status changed (a run queued, progressing, finished: a
  Connection's catalog run too), and the Operation itself while it is unfinished (the runner starts it, or takes over a dead replica's run);
- the Networks and ProvisionedClusters of a Connection, when its phase or spec changed;
- the ProvisionedClusters on a Network, when its phase changed or it went away;
- the ProvisionedClusters that name a Team, when it changed or went away;
- a ProvisionedCluster whose Cluster record was changed or deleted by someone.

Nothing ticks. What needs time is scheduled for when it is due: a failed run's retry (`retry_at`),
a Connection's re-verification (its interval) and a failed catalog run's retry (its retryAfter), and a slow resync of every object (hours, jittered,
so a fleet is never looked at in lockstep) as the safety net controller-runtime also keeps. A
resync of a converged object reads only memory and writes nothing: no request at all.

With shards (`controllers.shards`) every replica watches everything and handles only the keys of
the namespaces it owns; when it comes to own more, it looks at every object again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Hashable
from typing import Any

from fleetyard import settings as settings_mod
from fleetyard.controllers import connection_phases, connection_verification, infra_reconciler, infra_targets
from fleetyard.controllers import operation, requests, work_queue
from fleetyard.connections import catalog_ops
from fleetyard.day2 import teams
from fleetyard.kube import watch_cache
from fleetyard.models import connection as connection_model, kinds, timestamps

log = logging.getLogger(__name__)
Key = tuple[str, str, str]  # (kind, namespace, name)
INFRA = (kinds.NETWORK.kind, kinds.PROVISIONED_CLUSTER.kind)
WATCHED = (kinds.CONNECTION, kinds.NETWORK, kinds.PROVISIONED_CLUSTER, kinds.CLUSTER, kinds.TEAM, kinds.OPERATION)
IN_FLIGHT_CHECK = 60.0  # while a run is in flight its Operation's events drive the object; this is the net


def _meta(body: dict[str, Any] | None) -> dict[str, Any]:
    return (body or {}).get("metadata") or {}


def _spec(body: dict[str, Any] | None) -> dict[str, Any]:
    return (body or {}).get("spec") or {}


def _status(body: dict[str, Any] | None) -> dict[str, Any]:
    return (body or {}).get("status") or {}


def _ref(body: dict[str, Any] | None, field: str) -> str | None:
    return (_spec(body).get(field) or {}).get("name")


KOPF_ANNOTATIONS = "kopf.zalando.org/"  # Kopf's own bookkeeping (last-handled configuration, progress)


def _what_reconciles_read(meta: dict[str, Any]) -> dict[str, Any]:
    """The metadata a reconcile depends on: not the bookkeeping every write changes, Kopf's own
    annotations, or the finalizers (deletion shows as deletionTimestamp)."""
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith(KOPF_ANNOTATIONS)}
    return {**{k: v for k, v in meta.items() if k not in ("resourceVersion", "managedFields", "finalizers")},
            "annotations": annotations}


def _beyond_status(old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
    """Did anything a reconcile reads, other than status, change?"""
    if old is None or new is None:
        return True
    return _spec(old) != _spec(new) or _what_reconciles_read(_meta(old)) != _what_reconciles_read(_meta(new))


def _phase_changed(old: dict[str, Any] | None, new: dict[str, Any] | None) -> bool:
    return _status(old).get("status") != _status(new).get("status")


def _record_lags(cluster: dict[str, Any]) -> bool:
    """Does the ProvisionedCluster's Cluster record show older status than the cluster has (the health
    check wrote the cluster)? The reconcile keeps the record; its own writes update the record first."""
    held = watch_cache.store(kinds.CLUSTER)
    meta = _meta(cluster)
    record = held.get(meta.get("namespace") or "", meta.get("name") or "") if held is not None else None
    if record is None or _ref(record, "provisionedClusterRef") != meta.get("name"):
        return False
    return infra_targets.record_lags(_status(cluster), _status(record))


def _users(namespace: str, field: str, name: str, among: tuple[kinds.Kind, ...]) -> list[Key]:
    out: list[Key] = []
    for kind in among:
        held = watch_cache.store(kind)
        for body in held.list(namespace) if held is not None else []:
            if _ref(body, field) == name:
                out.append((kind.kind, namespace, body["metadata"]["name"]))
    return out


def dependents(kind: kinds.Kind, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Key]:
    """The keys a change of one watched object concerns (new None: it was deleted)."""
    body = new or old or {}
    namespace, name = _meta(body).get("namespace") or "", _meta(body).get("name") or ""
    if kind.kind in INFRA:
        mirrored = kind is kinds.PROVISIONED_CLUSTER and new is not None and _record_lags(new)
        keys: list[Key] = [(kind.kind, namespace, name)] if _beyond_status(old, new) or mirrored else []
        if kind is kinds.NETWORK and (new is None or _phase_changed(old, new)):
            keys += _users(namespace, "networkRef", name, (kinds.PROVISIONED_CLUSTER,))
        return keys
    if kind is kinds.OPERATION:
        status_changed = old is None or new is None or _status(old) != _status(new)  # created: no status yet
        run: list[Key] = [(kind.kind, namespace, name)] if status_changed and operation.unfinished(new) else []
        ref = _spec(body).get("resourceRef") or {}
        # a Connection's own Operations are its catalog runs: only a failed one concerns it (a retry)
        failed_catalog = ref.get("kind") == kinds.CONNECTION.kind and _status(new).get("status") == "failed"
        if status_changed and (ref.get("kind") in INFRA or failed_catalog):
            return run + [(ref["kind"], namespace, ref.get("name") or "")]
        return run
    if kind is kinds.CONNECTION:
        edited = _beyond_status(old, new)  # True when created or deleted too
        own: list[Key] = [(kind.kind, namespace, name)] if new is not None and edited else []
        if edited or _phase_changed(old, new):
            own += _users(namespace, "connectionRef", name, (kinds.NETWORK, kinds.PROVISIONED_CLUSTER))
        return own
    if kind is kinds.TEAM:
        if new is not None and old is not None and _spec(old) == _spec(new):
            return []
        held = watch_cache.store(kinds.PROVISIONED_CLUSTER)
        return [(kinds.PROVISIONED_CLUSTER.kind, namespace, c["metadata"]["name"])
                for c in (held.list(namespace) if held is not None else [])
                if name in teams.names((_spec(c).get("access") or {}).get("teams"))]
    if kind is kinds.CLUSTER:
        owner = _ref(body, "provisionedClusterRef")
        if owner and (new is None or _spec(old) != _spec(new)):
            return [(kinds.PROVISIONED_CLUSTER.kind, namespace, owner)]
    return []


def _sooner(a: float, b: float | None) -> float:
    return a if b is None else min(a, max(0.5, b))


class Wakeups:
    """Feeds the work queue from the watch cache and handles its keys."""

    def __init__(self, cfg: settings_mod.Settings) -> None:
        self.cfg = cfg
        self.gate: Any = None  # a peering_gate.PeeringGate when replicas take turns
        self.shards: Any = None  # a shards.Shards when replicas split the namespaces
        self.runner: Any = None  # the provisioning Runner, on `loop`
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue = work_queue.WorkQueue(self.handle, workers=cfg.reconcile_workers, active=self.acting,
                                          name="reconcile")

    def acting(self) -> bool:
        """Without peering, always; with it, while the gate says this replica acts. With shards each
        key asks for its own namespace (`handle`)."""
        return self.gate is None or self.gate.acting

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.stop()
        self.queue.stop()
        if self.shards is not None:
            self.shards.stop()

    def on_change(self, kind: kinds.Kind, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        for key in dependents(kind, old, new):
            self.queue.add(key)

    def everything(self) -> None:
        """Every infrastructure object, Connection and unfinished Operation at once (start-up, a
        standby taking over, a shard gaining namespaces)."""
        for kind in (kinds.CONNECTION, kinds.NETWORK, kinds.PROVISIONED_CLUSTER, kinds.OPERATION):
            held = watch_cache.store(kind)
            for body in held.list() if held is not None else []:
                if kind is not kinds.OPERATION or operation.unfinished(body):
                    self.queue.add((kind.kind, body["metadata"].get("namespace") or "", body["metadata"]["name"]))

    def on_shards(self) -> None:
        """The shard view changed: look at every object; each key is handled where it is owned now."""
        self.everything()

    def on_acting(self, acting: bool) -> None:
        """The gate's answer changed: a replica taking over looks at every object."""
        if acting:
            log.info("this replica acts now: looking at every object")
            self.everything()
        self.queue.wake()

    def resync(self) -> float:
        return self.cfg.resync_interval * random.uniform(0.9, 1.1)

    def handle(self, key: Hashable) -> float | None:
        kind, namespace, name = key  # type: ignore[misc]
        if self.shards is None:
            return self._handle(kind, namespace, name)
        owned, after = self.shards.run_if_owned(namespace, lambda: self._handle(kind, namespace, name))
        return after if owned else None  # another replica's: it is queued again if this one comes to own it

    def _handle(self, kind: str, namespace: str, name: str) -> float | None:
        if kind == kinds.CONNECTION.kind:
            return self._reverify(namespace, name)
        if kind == kinds.OPERATION.kind:
            return self._run_operation(namespace, name)
        decision = infra_reconciler.reconcile(kind, namespace, name, self.cfg)
        if decision is None:
            return None
        if decision.retry_at is not None:
            return max(0.5, (decision.retry_at - timestamps.utcnow()).total_seconds())
        if decision.start or decision.phase in ("provisioning", "updating", "destroying"):
            return min(IN_FLIGHT_CHECK, self.resync())
        return self.resync()

    def _run_operation(self, namespace: str, name: str) -> float | None:
        """Hand an unfinished Operation to the runner, on its event loop."""
        held = watch_cache.store(kinds.OPERATION)
        body = held.get(namespace, name) if held is not None else None
        if not operation.unfinished(body) or self.runner is None or self.loop is None:
            return None

        async def take() -> float | None:
            return operation.take(body, self.runner, self.cfg)
        return asyncio.run_coroutine_threadsafe(take(), self.loop).result(timeout=60)

    def _reverify(self, namespace: str, name: str) -> float | None:
        """Verify the Connection if it is due (or a request asks), judged from memory first: only a due
        verification reads the API. Returns when to look again."""
        cfg = self.cfg
        if (due := self._due_in(namespace, name)) is None:
            return None
        if due > 0:
            return _sooner(due * random.uniform(1.0, 1.1), self._catalog_retry(namespace, name))
        connection_verification.verify(namespace, name, lambda status, generation: connection_phases.is_due(
            status, generation, timestamps.utcnow(), cfg.connection_verify_interval, cfg.connection_retry_interval))
        due = self._due_in(namespace, name)
        if due is None:
            return None
        # still due right after a verification means it was dropped (the spec changed meanwhile: the
        # change's own handler verifies that); look again after the retry interval rather than at once
        return due * random.uniform(1.0, 1.1) if due > 0 else cfg.connection_retry_interval

    def _catalog_retry(self, namespace: str, name: str) -> float | None:
        """An active Connection's failed catalog run asked again when its retryAfter has passed;
        seconds until that retry is due (None: none waits)."""
        held = watch_cache.store(kinds.CONNECTION)
        body = held.get(namespace, name) if held is not None else None
        if body is None or _status(body).get("status") != "active":
            return None
        return catalog_ops.retry_failed(kinds.CONNECTION.parse(body))

    def _due_in(self, namespace: str, name: str) -> float | None:
        """Seconds until the Connection's next verification (0 when due now, or a retry/refresh is asked
        for); None when it is gone or being deleted."""
        held = watch_cache.store(kinds.CONNECTION)
        body = held.get(namespace, name) if held is not None else None
        if body is None or _meta(body).get("deletionTimestamp"):
            return None
        status = connection_model.ConnectionStatus.model_validate(_status(body))
        if requests.pending(_meta(body).get("annotations"), status):
            return 0.0
        return max(0.0, connection_phases.seconds_until_due(
            status, _meta(body).get("generation"), timestamps.utcnow(), self.cfg.connection_verify_interval,
            self.cfg.connection_retry_interval))
