"""The operator is killed (SIGKILL) in the middle of a provision and started again: the run is taken
over once its heartbeat is stale, the stack lock is cleared, the state refreshed, and the cluster
reaches active with exactly one VPC, one EKS cluster and one node group in the cloud."""

from __future__ import annotations

import os
import signal

import pytest

from fleetyard.models import kinds
from tests.conftest import wait_for
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(600)


def _kill_operator(env) -> None:
    assert env.operator is not None and env.operator.pid
    os.kill(env.operator.pid, signal.SIGKILL)
    env.operator.stop()  # reaps it
    env.operator = None


def test_killed_operator_leaves_no_duplicates(env, namespace, custom, core, role) -> None:
    connections.secret(core, namespace, "ext-id", connections.EXTERNAL_ID)
    connections.connection(custom, namespace, role)
    connections.status_when(custom, namespace, "active")
    infra.network(custom, namespace, cidr="10.50.0.0/16")
    net = infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")
    infra.cluster(custom, namespace)

    def midway():
        ops = infra.operations(custom, namespace, "prod")
        status = (ops[-1].get("status") or {}) if ops else {}
        done = ((status.get("progress") or {}).get("summary") or {}).get("succeeded") or 0
        return ops[-1] if status.get("status") == "running" and done >= 3 else None
    op = wait_for(midway, 120, "the cluster's provision to be under way")
    _kill_operator(env)
    try:
        env.start_operator()
    finally:
        assert env.operator is not None
    pc = infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")

    name = pc["status"]["providerMetadata"]["clusterName"]
    assert len(infra.vpcs_of(env, net["status"]["id"])) == 1
    assert infra.eks_clusters(env, name) == [name]
    assert len(infra.aws(env, "eks").list_nodegroups(clusterName=name)["nodegroups"]) == 1
    taken_over = [o for o in infra.operations(custom, namespace, "prod") if o["metadata"]["name"] == op["metadata"]["name"]]
    assert taken_over and taken_over[0]["status"]["status"] == "succeeded"
    assert taken_over[0]["status"]["operatorInstance"] != op["status"]["operatorInstance"]
    for kind, obj in ((kinds.PROVISIONED_CLUSTER, "prod"), (kinds.NETWORK, "net")):
        custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, obj)
    infra.gone(custom, namespace, kinds.NETWORK, "net")
