"""Three sharded operator replicas against one apiserver (`FLEETYARD_SHARDS`, the chart's
`operator.sharding.enabled`): every organization is handled by exactly the replica rendezvous hashing
gives it, and when one replica is killed (SIGKILL) in the middle of a provision its organizations move
to the other two within the lease time, and the running Operation finishes on its new owner."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from fleetyard.controllers import shards
from fleetyard.devenv import operator_process, provisioning
from fleetyard.kube import apply as kube_apply
from fleetyard.models import kinds
from tests.conftest import wait_for
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(900)
REPLICAS = ("shard-a", "shard-b", "shard-c")
LEASE = 6.0


def _start(env, name: str):
    proc, _ = operator_process.start(
        env.state_dir, env.kubeconfig_of("operator"), env.aws_env(),
        {**provisioning.operator_env(env.state_dir), **env.workload_env(), **env.operator_env,
         "FLEETYARD_SHARDS": "true", "FLEETYARD_SHARD_LEASE_DURATION": str(LEASE),
         "FLEETYARD_SHARD_NAMESPACE": provisioning.PASSPHRASE_NAMESPACE}, name=name)
    return proc


def _organizations(per_replica: int, members: tuple[str, ...]) -> dict[str, list[str]]:
    """Namespace names, `per_replica` owned by each member (rendezvous hashing decides; we pick names)."""
    picked: dict[str, list[str]] = {m: [] for m in members}
    run = uuid.uuid4().hex[:5]
    i = 0
    while any(len(v) < per_replica for v in picked.values()):
        i += 1
        ns = f"shard-{run}-{i}"
        owner = shards.owner(ns, members)
        if owner is not None and len(picked[owner]) < per_replica:
            picked[owner].append(ns)
    return picked


def _organization(env, custom, core, namespace: str, role) -> None:
    kube_apply.ensure_namespace(env.api, namespace)
    connections.secret(core, namespace, "ext-id", connections.EXTERNAL_ID)
    connections.connection(custom, namespace, role)


def _catalog_runner(custom, namespace: str) -> str:
    """The operator instance (`<name>/<pid>/<random>`) that ran the Connection's catalog Operation."""
    def ran():
        ops = infra.operations(custom, namespace, "prod", kind="Connection")
        done = [o for o in ops if (o.get("status") or {}).get("status") in ("succeeded", "failed")]
        return done[-1]["status"]["operatorInstance"] if done else None
    return wait_for(ran, 120, f"the catalog Operation of {namespace} to finish")


def test_each_organization_has_one_owner_and_a_dead_replicas_move_with_their_running_operation(
        env, custom, core, role) -> None:
    env.stop_operator()
    procs = {name: _start(env, name) for name in REPLICAS}
    try:
        picked = _organizations(2, REPLICAS)
        for owner, namespaces in picked.items():
            for ns in namespaces:
                _organization(env, custom, core, ns, role)
        for owner, namespaces in picked.items():
            for ns in namespaces:
                connections.status_when(custom, ns, "active", timeout=60)
                ran_by = _catalog_runner(custom, ns)
                assert ran_by.split("/")[0] == owner, f"{ns} belongs to {owner} but {ran_by} ran its Operation"

        victim = REPLICAS[0]
        survivors = tuple(r for r in REPLICAS if r != victim)
        building = picked[victim][0]
        infra.network(custom, building, cidr="10.61.0.0/16")
        infra.phase_is(custom, building, kinds.NETWORK, "net", "active")
        infra.cluster(custom, building)

        def under_way():
            ops = infra.operations(custom, building, "prod")
            status = (ops[-1].get("status") or {}) if ops else {}
            return ops[-1] if status.get("status") == "running" else None
        op = wait_for(under_way, 120, "the cluster's provision to be running")
        assert op["status"]["operatorInstance"].split("/")[0] == victim

        os.kill(procs[victim].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        procs.pop(victim).stop()

        # an organization of the dead replica made after its death is taken up by its new owner
        late = next(ns for ns in (f"shard-late-{uuid.uuid4().hex[:5]}-{i}" for i in range(1000))
                    if shards.owner(ns, REPLICAS) == victim)
        _organization(env, custom, core, late, role)
        connections.status_when(custom, late, "active", timeout=90)
        taken_up = time.monotonic() - killed_at
        assert _catalog_runner(custom, late).split("/")[0] == shards.owner(late, survivors)

        pc = infra.phase_is(custom, building, kinds.PROVISIONED_CLUSTER, "prod", "active")
        finished = time.monotonic() - killed_at
        final = [o for o in infra.operations(custom, building, "prod") if o["metadata"]["name"] == op["metadata"]["name"]]
        assert final and final[0]["status"]["status"] == "succeeded"
        assert final[0]["status"]["operatorInstance"].split("/")[0] == shards.owner(building, survivors)
        assert pc["status"]["clusterId"]
        print(f"\nshards: a dead replica's new organization active {taken_up:.1f} s after the kill, its running "
              f"provision finished on the new owner {finished:.1f} s after (lease {LEASE:.0f} s)")
    finally:
        for proc in procs.values():
            proc.stop()
        env.start_operator()
