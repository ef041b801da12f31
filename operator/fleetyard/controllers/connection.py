"""The Kopf handler for Connections: hold a deletion while Networks or clusters still use the Connection.

Registered by `fleetyard.operator_app`. Verification (on create, on a spec change, on a retry or
refresh request, and when due) is driven by `controllers.wakeups`, which calls
`connection_verification.verify` for the namespaces this replica owns.
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard import settings as settings_mod
from fleetyard.controllers import shards
from fleetyard.kube import resources
from fleetyard.models import kinds

RESOURCE = (kinds.GROUP, kinds.VERSION, kinds.CONNECTION.plural)


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    @kopf.on.delete(*RESOURCE, registry=registry, id="hold-while-used")
    async def hold_while_used(body: Any, name: str, namespace: str, patch: kopf.Patch, memo: kopf.Memo,
                              **_: Any) -> None:
        def users() -> list[str]:
            return resources.users_of(namespace, "connectionRef", name, (kinds.NETWORK, kinds.PROVISIONED_CLUSTER))
        owned, using = await shards.wait_until_owned(
            memo.shards, namespace, users, moot=lambda: resources.gone(kinds.CONNECTION, namespace, name))
        if owned and using:
            message = f"deletion is waiting: the Connection is still used by {', '.join(using)}"
            patch.status["statusMessage"] = message
            kopf.event(body, type="Warning", reason="DeletionBlocked", message=message)
            raise kopf.TemporaryError(message, delay=cfg.connection_retry_interval)
