"""The operator's own endpoints: /healthz for probes, Prometheus /metrics with fleetyard's series."""

from __future__ import annotations

import urllib.request

from tests.conftest import wait_for


def _get(env, port_setting: str, path: str) -> tuple[int, str]:
    port = env.operator_settings[port_setting]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return resp.status, resp.read().decode()


def test_healthz_answers(env) -> None:
    status, _ = _get(env, "FLEETYARD_HEALTH_PORT", "/healthz")
    assert status == 200


def test_metrics_expose_connection_verifications(env, custom, core, namespace) -> None:
    from tests.e2e.test_connection_verification import _connection, _secret, EXTERNAL_ID, _status_when
    from fleetyard.devenv import customer_account
    import uuid

    role = customer_account.deploy_connection_stack(env.aws_env(), env.moto.operator_user_arn, EXTERNAL_ID,
                                                    f"Metrics-{uuid.uuid4().hex[:8]}")
    _secret(core, namespace, "ext-id", EXTERNAL_ID)
    _connection(custom, namespace, role)
    _status_when(custom, namespace, "active")

    def verified_series():
        _, text = _get(env, "FLEETYARD_METRICS_PORT", "/metrics")
        return text if 'fleetyard_connection_verifications_total{reason="Verified",result="active"}' in text else None
    text = wait_for(verified_series, 10, "the verification counter")
    assert "fleetyard_connection_verification_seconds_bucket" in text
