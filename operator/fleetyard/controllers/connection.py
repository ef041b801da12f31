"""Kopf handlers for Connections: verify on create, on spec change and on a timer; hold deletion while used.

Registered by `fleetyard.operator_app`. Each handler turns the body into models, calls
`connection_phases`, and writes status through Kopf's patch.
"""

from __future__ import annotations

import datetime
from typing import Any

import kopf
import pydantic

from fleetyard import catalog, conditions, metrics, settings as settings_mod
from fleetyard.cloud import session as sessions
from fleetyard.controllers import catalog_ops, connection_phases
from fleetyard.kube import resources
from fleetyard.models import connection, kinds

RESOURCE = (kinds.GROUP, kinds.VERSION, kinds.CONNECTION.plural)


def _connection_id(meta: Any, status: Any) -> str:
    return str((meta.get("labels") or {}).get(kinds.ID_LABEL) or status.get("id") or meta.get("name"))


def _verify(body: Any, meta: Any, spec: Any, status: Any, namespace: str, patch: kopf.Patch,
            logger: Any) -> None:
    try:
        model = connection.ConnectionSpec.model_validate(dict(spec))
    except pydantic.ValidationError as exc:
        outcome = connection_phases.Outcome("failed", "InvalidSpec", f"spec is invalid: {exc.errors()[0]['msg']}",
                                            retryable=False)
    else:
        with metrics.CONNECTION_VERIFY_SECONDS.time():
            outcome = connection_phases.verify(namespace, _connection_id(meta, status), model,
                                               resources.secret_value, sessions.base_session())
    metrics.CONNECTION_VERIFICATIONS.labels(outcome.phase, outcome.reason).inc()
    previous = conditions.find(status.get("conditions"), connection_phases.VERIFIED) or {}
    event = connection_phases.transition_event(status.get("status"), previous.get("reason"), outcome)
    patch.status.update(connection_phases.status_patch(dict(status), outcome, meta.get("generation"),
                                                       conditions.now()))
    logger.info("connection verification finished", extra={"phase": outcome.phase, "reason": outcome.reason})
    if event:
        kopf.event(body, type=event[0], reason=event[1], message=event[2])
    if outcome.phase == "active":
        try:
            catalog_ops.ensure_recent(dict(body), catalog.DEFAULT_TTL_SECONDS)
        except Exception:  # noqa: BLE001 - the catalog must never make a verification fail
            logger.exception("could not ask for the instance-type catalog")


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    @kopf.on.create(*RESOURCE, registry=registry, id="verify-on-create")
    @kopf.on.update(*RESOURCE, field="spec", registry=registry, id="verify-on-change")
    def verify_on_change(body: Any, meta: Any, spec: Any, status: Any, namespace: str, patch: kopf.Patch,
                         logger: Any, **_: Any) -> None:
        _verify(body, meta, spec, status, namespace, patch, logger)

    @kopf.timer(*RESOURCE, interval=cfg.timer_tick, initial_delay=cfg.timer_tick, registry=registry, id="reverify")
    def reverify(body: Any, meta: Any, spec: Any, status: Any, namespace: str, patch: kopf.Patch,
                 logger: Any, **_: Any) -> None:
        if connection_phases.is_due(dict(status), meta.get("generation"), datetime.datetime.now(datetime.timezone.utc),
                                    cfg.connection_verify_interval, cfg.connection_retry_interval):
            _verify(body, meta, spec, status, namespace, patch, logger)

    @kopf.on.delete(*RESOURCE, registry=registry, id="hold-while-used")
    def hold_while_used(body: Any, name: str, namespace: str, patch: kopf.Patch, **_: Any) -> None:
        users = resources.users_of(namespace, "connectionRef", name, (kinds.NETWORK, kinds.PROVISIONED_CLUSTER))
        if users:
            message = f"deletion is waiting: the Connection is still used by {', '.join(users)}"
            patch.status["statusMessage"] = message
            kopf.event(body, type="Warning", reason="DeletionBlocked", message=message)
            raise kopf.TemporaryError(message, delay=cfg.connection_retry_interval)
