"""The operator process behind `fleetyard operator`: Kopf with every reconcile handler, health and metrics.

Called by `fleetyard.cli`. Builds a private Kopf registry from the controller modules, configures
Kopf (progress in status, our finalizer name, peering: one replica acts, the others stand by;
or, with shards, every replica acts in the namespaces it owns),
starts the Prometheus endpoint and runs until stopped. Admission is not served here but by
`fleetyard webhooks` (`webhooks_app`), its own Deployment.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any

import kopf
import prometheus_client

from fleetyard import settings as settings_mod
from fleetyard.connections import catalog
from fleetyard.controllers import cluster, connection, identity, network, peering_gate, provisioned_cluster
from fleetyard.controllers import shards as shards_mod
from fleetyard.controllers import wakeups as wakeups_mod
from fleetyard.kube import events, watch_cache
from fleetyard.provisioning import runner as runner_mod

FINALIZER = "fleetyard.io/finalizer"


def build_registry(cfg: settings_mod.Settings) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    identity.register(registry)
    connection.register(registry, cfg)
    network.register(registry, cfg)
    provisioned_cluster.register(registry, cfg)
    cluster.register(registry, cfg)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        apply_kopf_settings(settings, cfg)
        # the runner's status patches and reconciles go through asyncio.to_thread
        asyncio.get_running_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="fleetyard"))
        memo.catalog = catalog.Catalog()
        memo.wakeups = await start_wakeups(cfg, memo.catalog)
        memo.runner = memo.wakeups.runner
        memo.shards = memo.wakeups.shards  # None unless sharded: the Kopf handlers then act everywhere

    @kopf.on.cleanup(registry=registry)
    async def stop(memo: kopf.Memo, **_: Any) -> None:
        memo.wakeups.stop()
        watch_cache.uninstall()

    return registry


async def start_wakeups(cfg: settings_mod.Settings, catalog_cache: catalog.Catalog) -> wakeups_mod.Wakeups:
    """The watch cache of every kind the reconcilers read, then the queue its changes feed and the
    runner of Operations. Reads wait for the first lists (up to a minute; after that they go to the
    API until listed)."""
    wakeups = wakeups_mod.Wakeups(cfg)
    wakeups.loop = asyncio.get_running_loop()
    wakeups.runner = runner_mod.Runner(cfg, _reconcile_after(wakeups), catalog_cache)
    watch_cache.install(wakeups_mod.WATCHED, wakeups.on_change)
    if not await asyncio.to_thread(watch_cache.wait_synced, 60.0):
        logging.getLogger(__name__).warning("watch cache not listed within 60 s; reading from the API meanwhile")
    if cfg.sharded:
        # every replica acts, each in the namespaces it owns; the first view is agreed before any work
        wakeups.shards = shards_mod.Shards(cfg.instance, cfg.shard_namespace, cfg.peering_name,
                                           cfg.shard_lease_duration, wakeups.on_shards,
                                           drain_timeout=cfg.health_timeout + 30)
        wakeups.shards.start()
    elif not cfg.standalone:
        # the queue acts only while Kopf's peering lets this replica act
        wakeups.gate = peering_gate.PeeringGate(cfg.peering_name, cfg.instance, cfg.priority, wakeups.on_acting,
                                                every=min(3.0, cfg.peering_lifetime / 4))
        wakeups.gate.start()
    wakeups.queue.start()
    wakeups.everything()
    return wakeups


def _reconcile_after(wakeups: wakeups_mod.Wakeups) -> runner_mod.Finished:
    async def reconcile(kind: str, namespace: str, name: str) -> None:
        wakeups.queue.add((kind, namespace, name))
    return reconcile


def apply_kopf_settings(settings: kopf.OperatorSettings, cfg: settings_mod.Settings) -> None:
    settings.persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf.progress")
    settings.persistence.finalizer = FINALIZER
    settings.posting.level = logging.INFO
    # Kopf's Events (kopf.event, handler failures) come from the same component as fleetyard's own
    settings.posting.reporting_component = events.COMPONENT
    settings.posting.reporting_instance = cfg.instance
    settings.peering.name = cfg.peering_name
    settings.peering.standalone = cfg.standalone or cfg.sharded  # shards replace Kopf's one-acts peering
    settings.watching.server_timeout = 300
    settings.execution.max_workers = 32  # sync handlers and timers of every object share this pool
    settings.peering.lifetime = int(cfg.peering_lifetime)


def run(cfg: settings_mod.Settings) -> None:
    if cfg.log_json:
        kopf.configure(log_format=kopf.LogFormat.JSON)
    else:
        kopf.configure(log_format=kopf.LogFormat.FULL)
    prometheus_client.start_http_server(cfg.metrics_port, addr=cfg.listen_address)
    kopf.run(
        registry=build_registry(cfg),
        clusterwide=True,
        standalone=cfg.standalone or cfg.sharded,
        peering_name=cfg.peering_name,
        priority=cfg.priority,
        liveness_endpoint=f"http://{cfg.listen_address}:{cfg.health_port}/healthz",
        identity=cfg.instance,
    )
