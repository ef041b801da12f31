"""The Kopf handler of one infrastructure kind (Network or ProvisionedCluster): the destroy on delete.

Used by `controllers.network` and `controllers.provisioned_cluster`. Creation, changes, retry and
refresh requests and the work of dependencies reach `infra_reconciler.reconcile` through the
event-driven queue (`controllers.wakeups`); Kopf keeps the finalizer: this handler holds it (a
retried TemporaryError) until the decision releases it, i.e. after a successful destroy or at once
with deletionPolicy Retain. With shards, only the replica owning the namespace runs it; the others
wait in the handler (holding the finalizer) until they own it or the object is gone.
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard import settings as settings_mod
from fleetyard.controllers import infra_reconciler, shards
from fleetyard.kube import resources
from fleetyard.models import kinds

DELETE_POLL = 2.0  # seconds: the finalizer goes soon after the destroy is done


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings, kind: kinds.Kind) -> None:
    resource = (kinds.GROUP, kinds.VERSION, kind.plural)

    @kopf.on.delete(*resource, registry=registry, id="destroy-on-delete")
    async def on_delete(name: str, namespace: str, memo: kopf.Memo, **_: Any) -> None:
        owned, decision = await shards.wait_until_owned(
            memo.shards, namespace, lambda: infra_reconciler.reconcile(kind.kind, namespace, name, cfg),
            moot=lambda: resources.gone(kind, namespace, name))
        if owned and decision is not None and not decision.release:
            raise kopf.TemporaryError(decision.message or "deletion in progress", delay=DELETE_POLL)
