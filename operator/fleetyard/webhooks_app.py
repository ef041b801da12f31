"""The admission webhook server behind `fleetyard webhooks`, and the webhook list the chart installs.

Called by `fleetyard.cli`. Runs Kopf with fleetyard's admission handlers only (no watches, no
peering): every replica answers, so the webhooks stay up while any one replica or the operator
restarts, and an answer never waits behind reconcile work. The Mutating/ValidatingWebhookConfiguration
objects are the chart's (`charts/fleetyard/templates/webhooks.yaml`), built from `webhook_rules()`,
which `fleetyard webhook-rules` writes to `charts/fleetyard/files/webhooks.yaml` (a test fails when
that file drifts from the handlers registered here).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf
import prometheus_client
import yaml
# Kopf's own builder of webhook configurations (what its managed mode patches in), private to Kopf but
# the one place its conventions (names, paths, side effects) live; a test pins its output in the chart.
from kopf._core.engines import admission as kopf_admission

from fleetyard import settings as settings_mod
from fleetyard.connections import catalog, eks_versions
from fleetyard.controllers import admission
from fleetyard.kube import watch_cache
from fleetyard.models import kinds

RULES_FILE = "charts/fleetyard/files/webhooks.yaml"
CACHED = (kinds.CONNECTION, kinds.NETWORK, kinds.TEAM)
# Kopf's webhook server re-reads the certificate files this often and restarts on a renewed pair
# (cert-manager renewals, a rotated Secret).
CERT_CHECK_SECONDS = 60.0


def build_registry() -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    admission.register(registry)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    return registry


def _startup(cfg: settings_mod.Settings) -> Any:
    async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        settings.posting.level = logging.WARNING
        settings.admission.server = kopf.WebhookServer(
            addr=cfg.listen_address, port=cfg.webhook_port,
            certfile=cfg.webhook_cert, pkeyfile=cfg.webhook_key,
            file_check_interval=CERT_CHECK_SECONDS)
        settings.admission.managed = None  # the chart owns the webhook configurations
        memo.catalog = catalog.Catalog()  # filled from the newest catalog Operation on first use
        memo.versions = eks_versions.Versions(cfg.eks_versions_ttl, cfg.eks_versions_failure_ttl)
        # what the checks look up per call, kept in memory (a miss still asks the API)
        watch_cache.install(CACHED)
        if not await asyncio.to_thread(watch_cache.wait_synced, 30.0):
            logging.getLogger(__name__).warning("watch cache not listed within 30 s; reading from the API meanwhile")
    return configure


async def _cleanup(**_: Any) -> None:
    watch_cache.uninstall()


def run(cfg: settings_mod.Settings) -> None:
    kopf.configure(log_format=kopf.LogFormat.JSON if cfg.log_json else kopf.LogFormat.FULL)
    # Two INFO lines per admission call (aiohttp's access line, Kopf's "Webhook ... succeeded") were a
    # good part of this server's CPU in a create burst; refusals and failures still log (WARNING and up),
    # and fleetyard_admission_requests_total counts every call.
    for noisy in ("aiohttp.access", "kopf.objects"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    prometheus_client.start_http_server(cfg.metrics_port, addr=cfg.listen_address)  # admission rejections
    registry = build_registry()
    kopf.on.startup(registry=registry)(_startup(cfg))
    kopf.on.cleanup(registry=registry)(_cleanup)
    kopf.run(
        registry=registry,
        clusterwide=True,
        standalone=True,
        liveness_endpoint=f"http://{cfg.listen_address}:{cfg.health_port}/healthz",
        identity=cfg.instance,
    )


def webhook_rules() -> dict[str, list[dict[str, Any]]]:
    """The webhooks of every admission handler, without clientConfig (the chart adds it).

    Built by Kopf's own `build_webhooks` (the function its managed mode uses), so names, paths
    (`/<handler id>`), rules and side effects are exactly what the server routes and expects."""
    registry = build_registry()
    resources = [kopf.Resource(kinds.GROUP, kinds.VERSION, k.plural, kind=k.kind, namespaced=True)
                 for k in kinds.ALL]
    out: dict[str, list[dict[str, Any]]] = {}
    for reason in (kopf_admission.causes.WebhookType.MUTATING, kopf_admission.causes.WebhookType.VALIDATING):
        handlers = [h for h in registry._webhooks.get_all_handlers() if h.reason == reason]
        built = kopf_admission.build_webhooks(handlers, resources=resources, name_suffix=kinds.GROUP,
                                              client_config={"service": {"path": ""}})
        out[reason.value] = [{
            "name": w["name"], "path": w["clientConfig"]["service"]["path"], "sideEffects": w["sideEffects"],
            "matchPolicy": w["matchPolicy"], "rules": w["rules"],
            "admissionReviewVersions": ["v1"],
            "matchConditions": admission.match_conditions(w["name"].removesuffix(f".{kinds.GROUP}")),
        } for w in sorted(built, key=lambda w: w["name"])]
    return out


def render_rules() -> str:
    return ("# Generated by `fleetyard webhook-rules` from fleetyard's admission handlers; do not edit.\n"
            + yaml.safe_dump(webhook_rules(), sort_keys=True))
