"""Kopf handlers for Connections: verify on create, on spec change and on request; hold deletion while used.

Registered by `fleetyard.operator_app`. The verifying handlers call `connection_verification.verify`,
which verifies the Connection as it is now, one at a time, and writes the result only for the
generation it verified. Re-verification when due is scheduled by `controllers.wakeups` (no timer).
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard import settings as settings_mod
from fleetyard.controllers import connection_verification, requests
from fleetyard.kube import resources
from fleetyard.models import kinds

RESOURCE = (kinds.GROUP, kinds.VERSION, kinds.CONNECTION.plural)


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    @kopf.on.create(*RESOURCE, registry=registry, id="verify-on-create")
    @kopf.on.update(*RESOURCE, field="spec", registry=registry, id="verify-on-change")
    def verify_on_change(name: str, namespace: str, **_: Any) -> None:
        connection_verification.verify(namespace, name)

    @kopf.on.update(*RESOURCE, field="metadata.annotations", registry=registry, id="verify-on-request")
    def verify_on_request(name: str, namespace: str, old: Any, new: Any, **_: Any) -> None:
        if requests.changed(old, new):  # verified only while the request is not acknowledged yet
            connection_verification.verify(namespace, name, lambda status, generation: False)

    @kopf.on.delete(*RESOURCE, registry=registry, id="hold-while-used")
    def hold_while_used(body: Any, name: str, namespace: str, patch: kopf.Patch, **_: Any) -> None:
        users = resources.users_of(namespace, "connectionRef", name, (kinds.NETWORK, kinds.PROVISIONED_CLUSTER))
        if users:
            message = f"deletion is waiting: the Connection is still used by {', '.join(users)}"
            patch.status["statusMessage"] = message
            kopf.event(body, type="Warning", reason="DeletionBlocked", message=message)
            raise kopf.TemporaryError(message, delay=cfg.connection_retry_interval)
