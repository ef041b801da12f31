"""The operator's own endpoints: /healthz for probes, Prometheus /metrics with fleetyard's series."""

from __future__ import annotations

import urllib.request

from tests.conftest import wait_for
from tests.e2e import connections


def _get(env, port_setting: str, path: str) -> tuple[int, str]:
    port = env.operator_settings[port_setting]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return resp.status, resp.read().decode()


def test_healthz_answers(env) -> None:
    status, _ = _get(env, "FLEETYARD_HEALTH_PORT", "/healthz")
    assert status == 200


def test_metrics_expose_connection_verifications(env, custom, core, namespace, role) -> None:
    connections.secret(core, namespace, "ext-id", connections.EXTERNAL_ID)
    connections.connection(custom, namespace, role)
    connections.status_when(custom, namespace, "active")

    def verified_series():
        _, text = _get(env, "FLEETYARD_METRICS_PORT", "/metrics")
        return text if 'fleetyard_connection_verifications_total{reason="Verified",result="active"}' in text else None
    text = wait_for(verified_series, 10, "the verification counter")
    assert "fleetyard_connection_verification_seconds_bucket" in text
