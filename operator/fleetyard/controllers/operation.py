"""Kopf handlers for Operations: hand new ones to the runner; take over runs a dead operator left.

Registered by `fleetyard.operator_app`, which puts the `Runner` in Kopf's memo at startup. A
`running` Operation of another operator instance is only taken over once its heartbeat is stale;
until then the handler retries later. The runner then clears the stale lock and refreshes first.
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard import settings as settings_mod
from fleetyard.models import kinds
from fleetyard.provisioning import runner as runner_mod

RESOURCE = (kinds.GROUP, kinds.VERSION, kinds.OPERATION.plural)
RUNNABLE = ("provision", "update", "destroy", "refresh", "listInstanceTypes")
FINISHED = ("succeeded", "failed", "cancelled")


def take(body: Any, runner: runner_mod.Runner, cfg: settings_mod.Settings) -> None:
    if body["spec"].get("operation") not in RUNNABLE:
        return
    status = body.get("status") or {}
    phase = status.get("status")
    if phase in FINISHED or runner.busy(body["metadata"]["namespace"], body["metadata"]["name"]):
        return
    if phase == "running":
        if status.get("operatorInstance") == runner.instance:
            return
        age = runner_mod.heartbeat_age(dict(body))
        if age is not None and age < cfg.stale_after:
            raise kopf.TemporaryError(f"run of {status.get('operatorInstance')} may be alive; heartbeat {age:.0f}s old",
                                      delay=max(1.0, cfg.stale_after - age + 0.5))
        runner.submit(dict(body), recover=True)
        return
    runner.submit(dict(body), recover=bool(status.get("startedAt")))


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    @kopf.on.create(*RESOURCE, registry=registry, id="run")
    @kopf.on.resume(*RESOURCE, registry=registry, id="take-over")
    async def run(body: Any, memo: kopf.Memo, **_: Any) -> None:
        take(body, memo.runner, cfg)
