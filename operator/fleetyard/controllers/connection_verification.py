"""One verification of a Connection at a time, and its result applied only to the spec it was computed for.

Called by the Connection handlers (`controllers.connection`): on create, on a spec change and from the
re-verification timer. Three paths can verify the same Connection, and a verification takes seconds
(Secret, STS, CloudFormation), so without care a slow one computed for an older spec could land
after the one for the current spec (seen: `AssumeRoleFailed` for a wrong external-id Secret, then
`Verified` from a timer tick that had verified the previous Secret, active until the next
re-verification). Here each verification holds the Connection's lock, reads the object fresh from the
API, and writes its status only if the Connection still has the generation it verified, as a patch
over exactly the version it read (optimistic concurrency); a result for an older generation is
dropped, since the handler of the newer one verifies that.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import Any

import pydantic

from fleetyard import metrics
from fleetyard.cloud import session as sessions
from fleetyard.connections import catalog, catalog_ops
from fleetyard.controllers import connection_phases, requests
from fleetyard.kube import events, patching, resources, secrets
from fleetyard.models import conditions, connection, kinds, timestamps

log = logging.getLogger(__name__)
WRITE_ATTEMPTS = 3
Due = Callable[[connection.ConnectionStatus, int | None], bool]
_locks: collections.defaultdict[tuple[str, str], threading.Lock] = collections.defaultdict(threading.Lock)


def _outcome(body: dict[str, Any]) -> tuple[connection.Connection | None, connection_phases.Outcome]:
    """The Connection as its model and the verification's outcome (InvalidSpec when it does not parse)."""
    try:
        conn: connection.Connection = kinds.CONNECTION.parse(body)
    except pydantic.ValidationError as exc:
        return None, connection_phases.Outcome("failed", "InvalidSpec", f"spec is invalid: {exc.errors()[0]['msg']}",
                                               retryable=False)
    with metrics.CONNECTION_VERIFY_SECONDS.time():
        return conn, connection_phases.verify(conn.namespace, conn.seed_id or conn.name, conn.spec, secrets.value,
                                              sessions.base_session())


def _status(body: dict[str, Any]) -> connection.ConnectionStatus:
    return connection.ConnectionStatus.model_validate(dict(body.get("status") or {}))


def verify(namespace: str, name: str, due: Due | None = None) -> connection_phases.Outcome | None:
    """Verify the Connection as it is now (when `due` says so, or a retry/refresh annotation asks) and
    write the result; None when nothing was written (not due, gone, or the spec changed during the check)."""
    with _locks[(namespace, name)]:
        body = resources.get_object(kinds.CONNECTION, namespace, name, fresh=True)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None
        generation = body["metadata"].get("generation")
        asked = requests.pending(body["metadata"].get("annotations"), _status(body))
        if due is not None and not asked and not due(_status(body), generation):
            return None
        conn, outcome = _outcome(body)
        metrics.CONNECTION_VERIFICATIONS.labels(outcome.phase, outcome.reason).inc()
        if not write_result(namespace, name, generation, outcome):
            return None
    if conn is not None and outcome.phase == "active":
        try:
            catalog_ops.ensure_recent(conn, catalog.DEFAULT_TTL_SECONDS)
        except Exception:  # noqa: BLE001 - the catalog must never make a verification fail
            log.exception("could not ask for the instance-type catalog")
    return outcome


def write_result(namespace: str, name: str, generation: int | None, outcome: connection_phases.Outcome) -> bool:
    """Write `outcome` as the Connection's status if it still has `generation`; False when dropped."""
    for _ in range(WRITE_ATTEMPTS):
        current = resources.get_object(kinds.CONNECTION, namespace, name, fresh=True)
        if current is None:
            return False
        now_generation = current["metadata"].get("generation")
        if now_generation != generation:
            log.info("verification result dropped: the spec changed during the check",
                     extra={"object": f"{namespace}/{name}", "verified": generation, "current": now_generation})
            return False
        status = _status(current)
        previous = conditions.find(status.as_stored().get("conditions"), conditions.CONNECTION_VERIFIED) or {}
        event = connection_phases.transition_event(status.status, previous.get("reason"), outcome)
        patch = connection_phases.status_patch(status, outcome, generation, timestamps.now())
        # a retry or refresh asked for with an annotation is this verification
        patch.update(requests.pending(current["metadata"].get("annotations"), status))
        try:
            patching.patch_status(kinds.CONNECTION, namespace, name, patch, current["metadata"]["resourceVersion"])
        except patching.Conflict:
            continue  # written meanwhile: decide again over the new version
        log.info("connection verification finished", extra={"object": f"{namespace}/{name}", "phase": outcome.phase,
                                                             "reason": outcome.reason, "generation": generation})
        if event:
            events.post(current, event[0], event[1], event[2])  # from any thread (Kopf's posting needs its own)
        return True
    log.info("verification result dropped: the Connection kept changing", extra={"object": f"{namespace}/{name}"})
    return False
