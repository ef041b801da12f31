"""Changes that do exactly what was asked, as a platform engineer sees them with kubectl and the REST API:
a rename starts no Pulumi run; every Operation applies the spec of the generation it
names (or says it was superseded, and by which Operation); a destroyed cluster no longer reports the
health of a cluster that is gone, and its kubeconfig Secrets go with it. One organization, top to
bottom, against the real operator, Pulumi and moto."""

from __future__ import annotations

import time
from typing import Any

import kubernetes
import pytest

from fleetyard.models import conditions, kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, infra, rest

pytestmark = pytest.mark.timeout(600)
PC = kinds.PROVISIONED_CLUSTER


@pytest.fixture(scope="module")
def org(env) -> str:
    namespace = connections.organization(env, "changes")
    custom = kubernetes.client.CustomObjectsApi(env.api)
    infra.network(custom, namespace, cidr="10.130.0.0/20")
    infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")
    infra.cluster(custom, namespace)
    infra.phase_is(custom, namespace, PC, "prod", "active")
    return namespace


def _patch(custom, namespace: str, kind: kinds.Kind, spec: dict[str, Any], name: str = "prod") -> dict[str, Any]:
    return dict(custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, name,
                                                      {"spec": spec}))


def _applied(body: dict[str, Any]) -> dict[str, Any]:
    """What a run of this generation must apply: region and config, defaults filled in."""
    spec = kinds.BY_KIND[body["kind"]].parse(body).spec
    return {"region": spec.region, "config": spec.config.model_dump(mode="json")}


def _names(ops: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in ops]


def _steps(op: dict[str, Any], type_: str) -> list[str]:
    return [r["operation"] for r in op["status"]["progress"]["resources"] if r["type"] == type_]


def test_a_rename_or_a_deletion_policy_change_starts_no_run(org, custom) -> None:
    """Nothing in the cloud carries these. (access.teams does: its EKS access entries, an update scoped
    to them; see test_people_access.py.)"""
    before = _names(infra.operations(custom, org, "prod"))
    network_before = _names(infra.operations(custom, org, "net"))
    for spec in ({"displayName": "Renamed"}, {"deletionPolicy": "Retain"}, {"deletionPolicy": "Delete"}):
        written = _patch(custom, org, PC, spec)
        pc = infra.phase_is(custom, org, PC, "prod", "active", timeout=30)
        assert pc["status"]["observedGeneration"] == written["metadata"]["generation"]
    _patch(custom, org, kinds.NETWORK, {"displayName": "Renamed network"}, name="net")
    infra.phase_is(custom, org, kinds.NETWORK, "net", "active", timeout=30)
    time.sleep(4)  # several reconcile ticks (1 s in the test bed)
    assert _names(infra.operations(custom, org, "prod")) == before
    assert _names(infra.operations(custom, org, "net")) == network_before
    pc = get(custom, org, PC, "prod")
    assert conditions.is_true(pc["status"]["conditions"], "Ready") and pc["status"]["status"] == "active"
    record = get(custom, org, kinds.CLUSTER, "prod")  # the seed's record follows the name
    assert record["spec"]["displayName"] == "Renamed"


def test_a_rename_then_a_config_change_runs_once_for_the_config(env, org, custom) -> None:
    before = _names(infra.operations(custom, org, "prod"))
    _patch(custom, org, PC, {"displayName": "Renamed again"})
    written = _patch(custom, org, PC, {"config": {"systemNodeGroup": {"desiredSize": 3}}})
    pc = infra.phase_is(custom, org, PC, "prod", "active")
    new = [o for o in infra.operations(custom, org, "prod") if o["metadata"]["name"] not in before]
    assert len(new) == 1, [(o["spec"]["targetGeneration"], o["status"].get("status")) for o in new]
    op = new[0]
    assert op["spec"]["targetGeneration"] == written["metadata"]["generation"] == pc["metadata"]["generation"]
    assert op["spec"]["targetSpec"] == _applied(written)
    assert op["status"]["status"] == "succeeded"
    assert "update" in _steps(op, "aws:eks/nodeGroup:NodeGroup"), op["status"]["progress"]["summary"]
    name = pc["status"]["providerMetadata"]["clusterName"]
    eks = infra.aws(env, "eks")
    group = eks.list_nodegroups(clusterName=name)["nodegroups"][0]
    assert eks.describe_nodegroup(clusterName=name, nodegroupName=group)["nodegroup"]["scalingConfig"][
        "desiredSize"] == 3


def test_two_quick_changes_each_run_applies_its_own_generation_or_says_superseded(env, org, custom) -> None:
    before = _names(infra.operations(custom, org, "prod"))
    first = _patch(custom, org, PC, {"config": {"systemNodeGroup": {"desiredSize": 1}}})
    second = _patch(custom, org, PC, {"config": {"publicAccessCidrs": ["198.51.100.0/24"]}})
    wanted = {first["metadata"]["generation"]: _applied(first), second["metadata"]["generation"]: _applied(second)}
    pc = infra.phase_is(custom, org, PC, "prod", "active")
    new = [o for o in infra.operations(custom, org, "prod") if o["metadata"]["name"] not in before]
    assert new, "no Operation for the changes"
    for op in new:
        generation, status = op["spec"]["targetGeneration"], op["status"]
        assert op["spec"]["targetSpec"] == wanted[generation], f"{op['metadata']['name']} names {generation}"
        if status["status"] == "cancelled":  # superseded before it started, and says by which run
            assert status["supersededBy"] in _names(new) and not status.get("startedAt")
            assert status["progress"]["message"].startswith(f"superseded by {status['supersededBy']}")
        else:
            assert status["status"] == "succeeded"
    last = new[-1]
    assert last["spec"]["targetGeneration"] == second["metadata"]["generation"] == pc["status"]["observedGeneration"]
    # the run credited with the newest change did the work (not "all unchanged" after an older run applied it)
    assert "update" in _steps(last, "aws:eks/cluster:Cluster"), last["status"]["progress"]["summary"]
    name = pc["status"]["providerMetadata"]["clusterName"]
    eks = infra.aws(env, "eks")
    assert eks.describe_cluster(name=name)["cluster"]["resourcesVpcConfig"]["publicAccessCidrs"] == ["198.51.100.0/24"]
    group = eks.list_nodegroups(clusterName=name)["nodegroups"][0]
    assert eks.describe_nodegroup(clusterName=name, nodegroupName=group)["nodegroup"]["scalingConfig"][
        "desiredSize"] == 1


def test_destroyed_cluster_reports_no_stale_health_and_keeps_no_kubeconfig(env, org, custom, core) -> None:
    cluster_id = rest.seed_id(custom, org, PC, "prod")
    path = f"/infra/connections/{rest.seed_id(custom, org, kinds.CONNECTION, 'prod')}/clusters/{cluster_id}"
    secret_names = ("prod-kubeconfig", "prod-user-kubeconfig")

    def checked() -> dict[str, Any] | None:
        status = get(custom, org, PC, "prod").get("status") or {}
        return status if status.get("lastHealthCheckAt") and status.get("kubeconfigSecretRef") else None
    status = wait_for(checked, 60, "a health check and the kubeconfig Secrets")
    assert status["lastHealthStatus"] in ("healthy", "degraded", "unhealthy")
    for secret in secret_names:
        core.read_namespaced_secret(secret, org)
    with rest.client(env, rest.user(env, org, "ops", "fleetyard-admin")) as api:
        health = wait_for(lambda: (h := api.get(f"{path}/health").json()).get("lastCheckedAt") and h, 30, "health")
        assert health["providerMetadata"]["status"] == "ACTIVE"

        _patch(custom, org, PC, {"desiredState": "Destroyed"})
        pc = infra.phase_is(custom, org, PC, "prod", "destroyed")
        time.sleep(6)  # three health intervals (2 s in the test bed): nothing probes a destroyed cluster
        status = get(custom, org, PC, "prod")["status"]
        assert status["lastHealthStatus"] == "unknown" and "destroyed" in status["lastHealthMessage"]
        assert "health" not in status and "lastHealthCheckAt" not in status and "providerMetadata" not in status
        assert "kubeconfigSecretRef" not in status and "userKubeconfigSecretRef" not in status
        healthy = conditions.find(status["conditions"], "Healthy")
        assert (healthy["status"], healthy["reason"]) == ("Unknown", "Destroyed")
        for secret in secret_names:
            with pytest.raises(kubernetes.client.ApiException) as gone:
                core.read_namespaced_secret(secret, org)
            assert gone.value.status == 404
        record = get(custom, org, kinds.CLUSTER, "prod")["status"]
        assert record["externalStatus"] == "destroyed" and record["lastHealthStatus"] == "unknown"
        assert "health" not in record

        def served() -> dict[str, Any] | None:
            body = api.get(f"{path}/health").json()
            return body if body.get("status") == "unknown" else None
        health = wait_for(served, 10, "the REST health to follow")
        assert not health.get("providerMetadata") and not health.get("nodeGroups")
        item = api.get(path).json()["included"]["clusters"][0]
        assert item["status"] == "destroyed" and item["lastHealthStatus"] == "unknown"
        assert api.get(f"{path}/kubeconfig").status_code == 409
        assert api.get(f"{path}/metrics").status_code == 409
    assert pc["status"]["status"] == "destroyed"
