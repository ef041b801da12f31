"""Kopf handlers for Connections: verify on create, on spec change and on a timer; hold deletion while used.

Registered by `fleetyard.operator_app`. Each handler parses the body through the Connection model,
calls `connection_phases`, and writes status through Kopf's patch.
"""

from __future__ import annotations

from typing import Any

import kopf
import pydantic

from fleetyard import metrics, settings as settings_mod
from fleetyard.cloud import session as sessions
from fleetyard.connections import catalog, catalog_ops
from fleetyard.controllers import connection_phases
from fleetyard.kube import resources, secrets
from fleetyard.models import conditions, connection, kinds, timestamps

RESOURCE = (kinds.GROUP, kinds.VERSION, kinds.CONNECTION.plural)


def _verified(body: Any) -> tuple[connection.Connection | None, connection_phases.Outcome]:
    """The Connection as its model and the verification's outcome (InvalidSpec when it does not parse)."""
    try:
        conn: connection.Connection = kinds.CONNECTION.parse(dict(body))
    except pydantic.ValidationError as exc:
        return None, connection_phases.Outcome("failed", "InvalidSpec", f"spec is invalid: {exc.errors()[0]['msg']}",
                                               retryable=False)
    with metrics.CONNECTION_VERIFY_SECONDS.time():
        return conn, connection_phases.verify(conn.namespace, conn.seed_id or conn.name, conn.spec, secrets.value,
                                              sessions.base_session())


def _verify(body: Any, patch: kopf.Patch, logger: Any) -> None:
    generation = body["metadata"].get("generation")
    conn, outcome = _verified(body)
    # read after the AWS calls: `body` is Kopf's live view, and a verification that overlapped another
    # (a timer tick while the create handler ran) must see the status that one wrote
    status = connection.ConnectionStatus.model_validate(dict(body.get("status") or {}))
    metrics.CONNECTION_VERIFICATIONS.labels(outcome.phase, outcome.reason).inc()
    previous = conditions.find(status.as_stored().get("conditions"), conditions.CONNECTION_VERIFIED) or {}
    event = connection_phases.transition_event(status.status, previous.get("reason"), outcome)
    patch.status.update(connection_phases.status_patch(status, outcome, generation, timestamps.now()))
    logger.info("connection verification finished", extra={"phase": outcome.phase, "reason": outcome.reason})
    if event:
        kopf.event(body, type=event[0], reason=event[1], message=event[2])
    if conn is not None and outcome.phase == "active":
        try:
            catalog_ops.ensure_recent(conn, catalog.DEFAULT_TTL_SECONDS)
        except Exception:  # noqa: BLE001 - the catalog must never make a verification fail
            logger.exception("could not ask for the instance-type catalog")


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    @kopf.on.create(*RESOURCE, registry=registry, id="verify-on-create")
    @kopf.on.update(*RESOURCE, field="spec", registry=registry, id="verify-on-change")
    def verify_on_change(body: Any, patch: kopf.Patch, logger: Any, **_: Any) -> None:
        _verify(body, patch, logger)

    @kopf.timer(*RESOURCE, interval=cfg.timer_tick, initial_delay=cfg.timer_tick, registry=registry, id="reverify")
    def reverify(body: Any, meta: Any, status: Any, patch: kopf.Patch, logger: Any, **_: Any) -> None:
        if connection_phases.is_due(connection.ConnectionStatus.model_validate(dict(status)), meta.get("generation"),
                                    timestamps.utcnow(), cfg.connection_verify_interval, cfg.connection_retry_interval):
            _verify(body, patch, logger)

    @kopf.on.delete(*RESOURCE, registry=registry, id="hold-while-used")
    def hold_while_used(body: Any, name: str, namespace: str, patch: kopf.Patch, **_: Any) -> None:
        users = resources.users_of(namespace, "connectionRef", name, (kinds.NETWORK, kinds.PROVISIONED_CLUSTER))
        if users:
            message = f"deletion is waiting: the Connection is still used by {', '.join(users)}"
            patch.status["statusMessage"] = message
            kopf.event(body, type="Warning", reason="DeletionBlocked", message=message)
            raise kopf.TemporaryError(message, delay=cfg.connection_retry_interval)
