"""Kopf daemons that keep health fresh: one per ProvisionedCluster and per self-registered Cluster.

Registered by `fleetyard.operator_app`. Each daemon waits a random part of the interval first and
then sleeps the interval +-10 %, so a fleet is not checked in lockstep; the check itself runs in a
thread (`cluster_checks`) and never raises into Kopf: a failed check is logged and tried again. On
stop, a check under way may finish (the backoff covers its timeout) before the daemon is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

import kopf

from fleetyard import settings as settings_mod
from fleetyard.controllers import cluster_checks
from fleetyard.models import kinds

log = logging.getLogger(__name__)


async def keep_checking(stopped: Any, check: Callable[[], Any], interval: float) -> None:
    await stopped.wait(random.uniform(0, interval))
    while not stopped:
        try:
            await asyncio.to_thread(check)
        except Exception:  # noqa: BLE001 - the next round tries again; Kopf must not restart us in a loop
            log.exception("health check failed")
        await stopped.wait(interval * random.uniform(0.9, 1.1))


def register(registry: kopf.OperatorRegistry, cfg: settings_mod.Settings) -> None:
    @kopf.daemon(kinds.GROUP, kinds.VERSION, kinds.PROVISIONED_CLUSTER.plural, registry=registry,
                 id="health", cancellation_backoff=cfg.health_timeout + 1, cancellation_timeout=5)
    async def provisioned_health(stopped: Any, name: str, namespace: str, **_: Any) -> None:
        await keep_checking(stopped, lambda: cluster_checks.check_provisioned(namespace, name, cfg),
                            cfg.health_interval)

    @kopf.daemon(kinds.GROUP, kinds.VERSION, kinds.CLUSTER.plural, registry=registry, id="health",
                 cancellation_backoff=cfg.health_timeout + 1, cancellation_timeout=5,
                 when=lambda spec, **_: bool((spec or {}).get("kubeconfigSecretRef")))
    async def registered_health(stopped: Any, name: str, namespace: str, **_: Any) -> None:
        await keep_checking(stopped, lambda: cluster_checks.check_registered(namespace, name, cfg),
                            cfg.health_interval)
