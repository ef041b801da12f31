"""The Kopf daemon that keeps one kind's health fresh: one daemon per ProvisionedCluster or per
self-registered Cluster.

Used by `controllers.provisioned_cluster` and `controllers.cluster`. Each daemon waits a random
part of the interval first and then sleeps the interval +-10 %, so a fleet is not checked in
lockstep; the check itself (`fleetyard.day2.checks`) runs in a thread and never raises into Kopf: a
failed check is logged and tried again. On stop, a check under way may finish (the backoff covers
its timeout) before the daemon is cancelled; a stopped daemon removes its cluster's health series.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable
from typing import Any

import kopf

from fleetyard import settings as settings_mod
from fleetyard.day2 import retirement
from fleetyard.models import kinds

log = logging.getLogger(__name__)
Check = Callable[[str, str, settings_mod.Settings], Any]  # (namespace, name, settings)
Owned = Callable[[Callable[[], Any]], tuple[bool, Any]]  # run the check if this replica owns it: (ran, result)


async def keep_checking(stopped: Any, check: Callable[[], Any], interval: float,
                        forget: Callable[[], None] = lambda: None, owned: Owned | None = None) -> None:
    """Check every interval; with shards, only while this replica owns the object's namespace (a round
    elsewhere drops this replica's series of it: its owner publishes them)."""
    await stopped.wait(random.uniform(0, interval))
    while not stopped:
        try:
            if owned is None:
                await asyncio.to_thread(check)
            elif not (await asyncio.to_thread(owned, check))[0]:
                forget()
        except Exception:  # noqa: BLE001 - the next round tries again; Kopf must not restart us in a loop
            log.exception("health check failed")
        await stopped.wait(interval * random.uniform(0.9, 1.1))


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings, kind: kinds.Kind, check: Check,
             when: Callable[..., bool] | None = None) -> None:
    @kopf.daemon(kinds.GROUP, kinds.VERSION, kind.plural, registry=registry, id="health", when=when,
                 cancellation_backoff=cfg.health_timeout + 1, cancellation_timeout=5)
    async def health(stopped: Any, name: str, namespace: str, memo: kopf.Memo, **_: Any) -> None:
        def forget() -> None:
            retirement.forget(kind.kind, namespace, name)
        owned = functools.partial(memo.shards.run_if_owned, namespace) if memo.shards is not None else None
        await keep_checking(stopped, lambda: check(namespace, name, cfg), cfg.health_interval, forget, owned)
        forget()  # deleted (or this replica stopped): no stale series
