"""Kopf handlers for Operations: hand new ones to the runner; take over runs a dead operator left.

Registered by `fleetyard.operator_app`, which puts the `Runner` in Kopf's memo at startup. A
`running` Operation of another operator instance is only taken over once its heartbeat is stale;
until then the handler retries later. The runner then clears the stale lock and refreshes first.
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard import settings as settings_mod
from fleetyard.models import kinds, operation as operation_model, timestamps
from fleetyard.provisioning import runner as runner_mod

RESOURCE = (kinds.GROUP, kinds.VERSION, kinds.OPERATION.plural)


def take(body: Any, runner: runner_mod.Runner, cfg: settings_mod.Settings) -> None:
    op: operation_model.Operation = kinds.OPERATION.parse(dict(body))
    if op.spec.operation not in operation_model.OPERATION_TYPES:
        return
    phase = op.status.status
    if operation_model.finished(phase) or runner.busy(op.namespace, op.name):
        return
    if phase == "running":
        if op.status.operatorInstance == runner.instance:
            return
        age = timestamps.age(op.status.heartbeatAt, timestamps.utcnow())
        if age is not None and age < cfg.stale_after:
            raise kopf.TemporaryError(f"run of {op.status.operatorInstance} may be alive; heartbeat {age:.0f}s old",
                                      delay=max(1.0, cfg.stale_after - age + 0.5))
        runner.submit(op, recover=True)
        return
    runner.submit(op, recover=bool(op.status.startedAt))


def unfinished(status: Any, **_: Any) -> bool:
    """Finished Operations (the history) are never handled: at a restart only the runs in flight are."""
    return not operation_model.finished((status or {}).get("status"))


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    @kopf.on.create(*RESOURCE, registry=registry, id="run", when=unfinished)
    @kopf.on.resume(*RESOURCE, registry=registry, id="take-over", when=unfinished)
    async def run(body: Any, memo: kopf.Memo, **_: Any) -> None:
        take(body, memo.runner, cfg)
