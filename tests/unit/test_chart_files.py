"""The chart's generated files stay in step with the code: the webhook list with the admission handlers,
the CRDs with the models (the repository's crds/ is the chart's files/crds), the dashboard with the
metrics the processes export."""

from __future__ import annotations

import json
import pathlib
import re

import prometheus_client

from fleetyard import crdgen, metrics, webhooks_app
from fleetyard.devenv import tools

CHART = tools.repo_root() / "charts" / "fleetyard"


def test_the_chart_webhook_list_is_the_handlers_list() -> None:
    assert (tools.repo_root() / webhooks_app.RULES_FILE).read_text() == webhooks_app.render_rules()


def test_every_admission_handler_has_a_webhook_and_a_path() -> None:
    rules = webhooks_app.webhook_rules()
    names = {w["name"] for hooks in rules.values() for w in hooks}
    assert "network-matches.fleetyard.io" in names and "stamp-provisionedcluster.fleetyard.io" in names
    assert all(w["path"] == "/" + w["name"].removesuffix(".fleetyard.io") for hooks in rules.values() for w in hooks)


def test_the_chart_crds_are_the_generated_crds() -> None:
    files = sorted(p.name for p in (CHART / "files" / "crds").glob("*.yaml"))
    assert files == sorted(crdgen.file_name(d) for d in crdgen.all_crds())
    assert (tools.repo_root() / "crds").resolve() == (CHART / "files" / "crds").resolve()


def test_the_dashboard_queries_only_metrics_that_exist() -> None:
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    assert metrics.RECONCILES  # imported: the module registers every series
    exported = {m.name + suffix for m in prometheus_client.REGISTRY.collect() for suffix in suffixes.get(m.type, ("",))}
    dashboard = json.loads((CHART / "files" / "dashboard.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"fleetyard_[a-z_]+", target["expr"])}
    assert queried and queried <= exported, queried - exported
