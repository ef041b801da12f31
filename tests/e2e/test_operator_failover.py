"""Two operator replicas with Kopf peering, as the chart runs them: one acts, the other stands by.
The active one is killed (SIGKILL) in the middle of a provision; the standby takes over once the dead
replica's peering claim expires, finishes the running Operation, and writes of fleetyard kinds keep
being admitted the whole time (the webhooks are their own process, not the operator's)."""

from __future__ import annotations

import os
import signal
import threading
import time

import kubernetes
import pytest

from fleetyard.devenv import operator_process, provisioning
from fleetyard.models import kinds
from tests.conftest import create, wait_for
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(600)


class Writer(threading.Thread):
    """Creates a Team every 0.2 s (through the admission webhooks) and records each answer."""

    def __init__(self, custom: kubernetes.client.CustomObjectsApi, namespace: str) -> None:
        super().__init__(daemon=True)
        self.custom, self.namespace = custom, namespace
        self.results: list[tuple[float, float, str | None]] = []  # (start, seconds, error)
        self.done = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.done.is_set():
            n += 1
            start = time.monotonic()
            error = None
            try:
                create(self.custom, self.namespace, kinds.TEAM,
                       {"metadata": {"name": f"writer-{n}"}, "spec": {"displayName": f"writer {n}"}})
            except kubernetes.client.ApiException as exc:
                error = f"{exc.status} {exc.reason}"
            self.results.append((start, time.monotonic() - start, error))
            self.done.wait(0.2)


def _standby(env, name: str) -> object:
    """A second operator with the lowest priority: it acts only when no other replica is alive."""
    proc, _ = operator_process.start(
        env.state_dir, env.kubeconfig_of("operator"), env.aws_env(),
        {**provisioning.operator_env(env.state_dir), **env.workload_env(), **env.operator_env,
         "FLEETYARD_PRIORITY": "0"}, name=name)
    return proc


def test_the_standby_replica_takes_over_and_writes_never_stop(env, namespace, custom, core, role) -> None:
    lifetime = float(env.operator_env["FLEETYARD_PEERING_LIFETIME"])
    standby = _standby(env, "operator-standby")
    writer = Writer(custom, namespace)
    try:
        connections.secret(core, namespace, "ext-id", connections.EXTERNAL_ID)
        connections.connection(custom, namespace, role)
        connections.status_when(custom, namespace, "active")
        infra.network(custom, namespace, cidr="10.52.0.0/16")
        infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")
        infra.cluster(custom, namespace)

        def under_way():
            ops = infra.operations(custom, namespace, "prod")
            status = (ops[-1].get("status") or {}) if ops else {}
            return ops[-1] if status.get("status") == "running" else None
        op = wait_for(under_way, 120, "the cluster's provision to be running")
        assert op["status"]["operatorInstance"].startswith("operator/")  # the env's replica acts, not the standby
        writer.start()
        time.sleep(1)
        os.kill(env.operator.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        env.operator.stop()
        env.operator = None

        pc = infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")
        finished_at = time.monotonic()
        writer.done.set()
        writer.join(10)

        final = [o for o in infra.operations(custom, namespace, "prod") if o["metadata"]["name"] == op["metadata"]["name"]]
        assert final and final[0]["status"]["status"] == "succeeded"
        assert final[0]["status"]["operatorInstance"].startswith("operator-standby/")
        assert pc["status"]["clusterId"]

        after_kill = [r for r in writer.results if r[0] >= killed_at]
        failed = [r for r in writer.results if r[2]]
        slowest = max(r[1] for r in writer.results)
        print(f"\nfailover: takeover to active {finished_at - killed_at:.1f} s (peering lifetime {lifetime:.0f} s); "
              f"writes during it {len(after_kill)}, failed {len(failed)}, slowest {slowest * 1000:.0f} ms")
        assert len(after_kill) > 10
        assert not failed, f"writes refused while the active operator was down: {failed[:5]}"
    finally:
        writer.done.set()
        standby.stop()
        if env.operator is None:
            env.start_operator()
