"""The operator process behind `fleetyard operator`: Kopf with every reconcile handler, health and metrics.

Called by `fleetyard.cli`. Builds a private Kopf registry from the controller modules, configures
Kopf (progress in status, our finalizer name, peering: one replica acts, the others stand by),
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
from fleetyard.controllers import cluster, connection, identity, infra_reconciler, network, operation, provisioned_cluster
from fleetyard.controllers import team
from fleetyard.provisioning import runner as runner_mod

FINALIZER = "fleetyard.io/finalizer"


def build_registry(cfg: settings_mod.Settings) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    identity.register(registry)
    connection.register(registry, cfg)
    network.register(registry, cfg)
    provisioned_cluster.register(registry, cfg)
    cluster.register(registry, cfg)
    operation.register(registry, cfg)
    team.register(registry, cfg)

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
        memo.runner = runner_mod.Runner(cfg, _reconcile_after(cfg), memo.catalog)

    return registry


def _reconcile_after(cfg: settings_mod.Settings) -> runner_mod.Finished:
    async def reconcile(kind: str, namespace: str, name: str) -> None:
        await asyncio.to_thread(infra_reconciler.reconcile, kind, namespace, name, history=cfg.operation_history,
                                argocd_namespace=cfg.argocd_namespace)
    return reconcile


def apply_kopf_settings(settings: kopf.OperatorSettings, cfg: settings_mod.Settings) -> None:
    settings.persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf.progress")
    settings.persistence.finalizer = FINALIZER
    settings.posting.level = logging.INFO
    settings.peering.name = cfg.peering_name
    settings.peering.standalone = cfg.standalone
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
        standalone=cfg.standalone,
        peering_name=cfg.peering_name,
        priority=cfg.priority,
        liveness_endpoint=f"http://{cfg.listen_address}:{cfg.health_port}/healthz",
        identity=cfg.instance,
    )
