"""Operations: hand new ones to the runner; take over runs a dead operator left.

Called by `controllers.wakeups` for every unfinished Operation the watch brings (created, its status
changed, or this replica came to own its namespace). A `running` Operation of another operator
instance is only taken over once its heartbeat is stale; until then `take` says when to look again.
The runner then clears the stale lock and refreshes first.
"""

from __future__ import annotations

from typing import Any

from fleetyard import settings as settings_mod
from fleetyard.models import kinds, operation as operation_model, timestamps
from fleetyard.provisioning import runner as runner_mod


def take(body: dict[str, Any], runner: runner_mod.Runner, cfg: settings_mod.Settings) -> float | None:
    """Start or take over the Operation's run (on the runner's event loop); returns seconds until it
    should be looked at again, or None."""
    op: operation_model.Operation = kinds.OPERATION.parse(dict(body))
    if op.spec.operation not in operation_model.OPERATION_TYPES:
        return None
    phase = op.status.status
    if operation_model.finished(phase) or runner.busy(op.namespace, op.name):
        return None
    if phase == "running":
        if op.status.operatorInstance == runner.instance:
            return None
        age = timestamps.age(op.status.heartbeatAt, timestamps.utcnow())
        if age is not None and age < cfg.stale_after:
            return max(1.0, cfg.stale_after - age + 0.5)  # its operator may be alive
        runner.submit(op, recover=True)
        return None
    runner.submit(op, recover=bool(op.status.startedAt))
    return None


def unfinished(body: dict[str, Any] | None) -> bool:
    """Finished Operations (the history) are never handled: at a restart only the runs in flight are."""
    return body is not None and not operation_model.finished(((body.get("status") or {}).get("status")))
