"""The operator's own endpoints: /healthz for probes, Prometheus /metrics with fleetyard's series."""

from __future__ import annotations

from fleetyard.models import kinds
from tests.conftest import wait_for
from tests.e2e import connections, infra


def _get(env, port_setting: str, path: str) -> tuple[int, str]:
    return infra.operator_endpoint(env, port_setting, path)


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


def test_metrics_count_operations(env, custom, core, namespace, role) -> None:
    connections.secret(core, namespace, "ext-id", connections.EXTERNAL_ID)
    connections.connection(custom, namespace, role)
    connections.status_when(custom, namespace, "active")
    infra.network(custom, namespace, cidr="10.90.0.0/24")
    infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")

    def counted():
        _, text = _get(env, "FLEETYARD_METRICS_PORT", "/metrics")
        series = 'fleetyard_operations_total{kind="Network",operation="provision",result="succeeded"}'
        return text if series in text else None
    text = wait_for(counted, 10, "the operations counter")
    assert 'fleetyard_operation_duration_seconds_bucket{kind="Network"' in text
    assert "fleetyard_operations_running" in text and "fleetyard_operations_queued" in text
    custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "networks", "net")
    infra.gone(custom, namespace, kinds.NETWORK, "net")
