"""Changes travel by watch, not by a tick: a Connection becoming active wakes the Network waiting for
it at once, a Network becoming active wakes the cluster on it, a Team's change reaches the clusters
naming it, and a converged object is left alone. The operator's resync in the tests is 120 s
(`tests/conftest.OPERATOR_ENV`) and nothing else would look again, so each reaction measured here
well below that can only have come from the watch."""

from __future__ import annotations

import time

import pytest

from fleetyard.devenv import people
from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(600)
REACTION = 5.0  # seconds: a watch event, one reconcile from memory, one create (typically well under 1 s)


def _first(probe, timeout: float, what: str) -> float:
    """Poll `probe` tightly; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _phase(custom, namespace, kind, name) -> str | None:
    return (get(custom, namespace, kind, name).get("status") or {}).get("status")


def test_a_connection_becoming_active_wakes_its_network_and_the_network_its_cluster(
        env, namespace, custom, core, role) -> None:
    connections.secret(core, namespace, "ext-id", "not-the-external-id")
    connections.connection(custom, namespace, role)
    connections.status_when(custom, namespace, "failed")
    infra.network(custom, namespace)
    infra.cluster(custom, namespace)
    wait_for(lambda: "Connection prod" in ((get(custom, namespace, kinds.NETWORK, "net").get("status") or {})
                                           .get("statusMessage") or ""), 30, "the Network to wait for the Connection")

    core.patch_namespaced_secret("ext-id", namespace, {"stringData": {"value": connections.EXTERNAL_ID}})
    active_at = _first(lambda: _phase(custom, namespace, kinds.CONNECTION, "prod") == "active", 60,
                       "the Connection to be active")
    asked_at = _first(lambda: infra.operations(custom, namespace, "net"), 30, "the Network's provision Operation")
    assert asked_at - active_at <= REACTION, f"the Network reacted {asked_at - active_at:.1f}s after its Connection"

    net_active_at = _first(lambda: _phase(custom, namespace, kinds.NETWORK, "net") == "active", infra.PROVISION_TIMEOUT,
                           "the Network to be active")
    cluster_asked_at = _first(lambda: infra.operations(custom, namespace, "prod"), 30, "the cluster's provision")
    assert cluster_asked_at - net_active_at <= REACTION, \
        f"the cluster reacted {cluster_asked_at - net_active_at:.1f}s after its Network"
    infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")

    # converged: nothing more happens to it on its own (no tick re-writing status, no new Operation)
    before = get(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod")
    seen = infra.operation_names(custom, namespace, "prod")
    time.sleep(4)
    after = get(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod")
    assert not infra.new_operations(custom, namespace, "prod", seen)
    strip = lambda status: {k: v for k, v in (status or {}).items()  # noqa: E731 - the health check's own fields
                            if k not in ("health", "lastHealthStatus", "lastHealthMessage", "lastHealthCheckAt",
                                         "providerMetadata", "kubeconfigRefreshedAt", "conditions")}
    assert strip(after.get("status")) == strip(before.get("status"))

    # a Team named by the cluster: its change reaches the cluster's access entries at once
    dev, oncall = (people.create_person(env.aws_env(), f"{who}-{namespace}") for who in ("dev", "oncall"))
    custom.create_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kinds.TEAM.plural, {
        "apiVersion": kinds.API_VERSION, "kind": "Team", "metadata": {"name": "platform"},
        "spec": {"displayName": "Platform", "principals": [dev.arn]}})
    infra.patch_spec(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", {"access": {"teams": ["platform"]}})
    first = wait_for(lambda: infra.new_operations(custom, namespace, "prod", seen), 30, "the access update")[0]
    wait_for(lambda: (get(custom, namespace, kinds.OPERATION, first["metadata"]["name"]).get("status") or {})
             .get("status") == "succeeded", infra.PROVISION_TIMEOUT, "the access update to succeed")
    infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")
    seen = infra.operation_names(custom, namespace, "prod")
    changed_at = time.monotonic()
    custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kinds.TEAM.plural, "platform", {
        "spec": {"principals": [dev.arn, oncall.arn]}},
        _content_type="application/merge-patch+json")
    reacted_at = _first(lambda: infra.new_operations(custom, namespace, "prod", seen), 30,
                        "an access update for the Team's new principal")
    assert reacted_at - changed_at <= REACTION
    infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")

    for kind, name in ((kinds.PROVISIONED_CLUSTER, "prod"), (kinds.NETWORK, "net")):
        custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, name)
    infra.gone(custom, namespace, kinds.NETWORK, "net")
    for person in (dev, oncall):
        people.delete_person(env.aws_env(), person)
