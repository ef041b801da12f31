"""The Kopf handlers of one infrastructure kind (Network or ProvisionedCluster): reconcile on change,
on a timer, and on delete.

Used by `controllers.network` and `controllers.provisioned_cluster`. All three paths call
`infra_reconciler.reconcile`; the delete handler holds the finalizer (a retried TemporaryError) until
the decision releases it, i.e. after a successful destroy or at once with deletionPolicy Retain.
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard import metrics, settings as settings_mod
from fleetyard.controllers import infra_phases, infra_reconciler
from fleetyard.models import kinds


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings, kind: kinds.Kind) -> None:
    resource = (kinds.GROUP, kinds.VERSION, kind.plural)

    def reconcile(namespace: str, name: str) -> infra_phases.Decision | None:
        try:
            decision = infra_reconciler.reconcile(kind.kind, namespace, name, history=cfg.operation_history,
                                                  argocd_namespace=cfg.argocd_namespace)
        except Exception:
            metrics.RECONCILES.labels(kind.kind, "error").inc()
            raise
        metrics.RECONCILES.labels(kind.kind, decision.phase if decision else "gone").inc()
        return decision

    @kopf.on.create(*resource, registry=registry, id="reconcile-on-create")
    @kopf.on.update(*resource, field="spec", registry=registry, id="reconcile-on-change")
    @kopf.on.resume(*resource, registry=registry, id="reconcile-on-resume")
    def on_change(name: str, namespace: str, **_: Any) -> None:
        reconcile(namespace, name)

    @kopf.timer(*resource, interval=cfg.timer_tick, initial_delay=cfg.timer_tick, registry=registry,
                id="reconcile-on-timer")
    def on_timer(name: str, namespace: str, **_: Any) -> None:
        reconcile(namespace, name)

    @kopf.on.delete(*resource, registry=registry, id="destroy-on-delete")
    def on_delete(name: str, namespace: str, **_: Any) -> None:
        decision = reconcile(namespace, name)
        if decision is not None and not decision.release:
            # polled more often than the timer: the finalizer goes as soon as the destroy is done
            raise kopf.TemporaryError(decision.message or "deletion in progress", delay=min(cfg.timer_tick, 2.0))
