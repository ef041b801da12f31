"""How the runner schedules Pulumi work: runs of different resources go in parallel (each in its own
worker process) up to the per-Connection limit, the rest wait `queued`; a delete that arrives while a
provision runs waits for it, then destroys, and leaves nothing behind."""

from __future__ import annotations

import time

import pytest

from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(600)


def test_parallel_runs_within_the_connection_limit(env, namespace, custom, core, role) -> None:
    # three Networks wait for their Connection (its external-id Secret is missing); once the Secret
    # exists all three are due at the same moment, so the limit is what decides who runs and who waits
    connections.connection(custom, namespace, role)
    names = [f"net{i}" for i in range(3)]
    for i, name in enumerate(names):
        infra.network(custom, namespace, name=name, cidr=f"10.{70 + i}.0.0/20")
    for name in names:
        wait_for(lambda n=name: (get(custom, namespace, kinds.NETWORK, n).get("status") or {}).get("status"), 20,
                 f"Network {name} to report that it waits")
    assert all(infra.operations(custom, namespace, n) == [] for n in names)
    connections.secret(core, namespace, "ext-id", connections.EXTERNAL_ID)
    connections.status_when(custom, namespace, "active")
    most_running, queued_seen = 0, False
    deadline = time.monotonic() + infra.PROVISION_TIMEOUT
    while time.monotonic() < deadline:
        ops = [o for n in names for o in infra.operations(custom, namespace, n)]
        phases = [(o.get("status") or {}).get("status") for o in ops]
        most_running = max(most_running, phases.count("running"))
        queued_seen |= "queued" in phases and phases.count("running") == 2
        if len(ops) == 3 and phases.count("succeeded") == 3:
            break
        time.sleep(0.2)
    assert most_running == 2, "the per-Connection limit (2) is what bounds parallel runs"
    assert queued_seen, "the third run waited in `queued` while two ran"
    for name in names:
        assert infra.phase_is(custom, namespace, kinds.NETWORK, name, "active", timeout=30)
        assert len(infra.vpcs_of(env, get(custom, namespace, kinds.NETWORK, name)["status"]["id"])) == 1
    for name in names:
        custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "networks", name)
    for name in names:
        infra.gone(custom, namespace, kinds.NETWORK, name)


def test_delete_during_provision_waits_then_destroys(env, namespace, custom, core, role) -> None:
    connections.secret(core, namespace, "ext-id", connections.EXTERNAL_ID)
    connections.connection(custom, namespace, role)
    connections.status_when(custom, namespace, "active")
    infra.network(custom, namespace, cidr="10.80.0.0/20")

    def running():
        ops = infra.operations(custom, namespace, "net")
        return ops and (ops[-1].get("status") or {}).get("status") == "running"
    wait_for(running, 60, "the provision to run")
    network_id = get(custom, namespace, kinds.NETWORK, "net")["metadata"]["labels"][kinds.ID_LABEL]
    custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "networks", "net")
    seen = set()

    def released():
        ops = infra.operations(custom, namespace, "net")
        seen.update((o["spec"]["operation"], (o.get("status") or {}).get("status")) for o in ops)
        names = [i["metadata"]["name"] for i in custom.list_namespaced_custom_object(
            kinds.GROUP, kinds.VERSION, namespace, "networks")["items"]]
        return "net" not in names
    wait_for(released, infra.PROVISION_TIMEOUT, "the Network to be destroyed and released")
    assert ("provision", "succeeded") in seen  # the provision ran to its end; it was not cut off
    assert infra.vpcs_of(env, network_id) == []
