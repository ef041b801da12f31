"""Day 2 on a provisioned cluster, against a real workload apiserver that accepts EKS tokens the way
EKS does: health follows the cluster's Nodes and kube-system Pods (degraded when a Node goes NotReady,
healthy again when it recovers), both kubeconfig Secrets exist, the machine one works with kubectl and
is rewritten before its token expires; a self-registered Cluster shows health too."""

from __future__ import annotations

import base64
import datetime
import subprocess

import kubernetes
import pytest
import yaml

from fleetyard.day2 import access, usage_metrics
from fleetyard.devenv import tools
from fleetyard.kube import secrets
from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def cluster(env) -> tuple[str, dict]:
    """One active ProvisionedCluster; its access entry (cluster admin for the Connection's role) is what
    lets the operator into the workload cluster."""
    namespace = connections.organization(env, "day2")
    custom = kubernetes.client.CustomObjectsApi(env.api)
    infra.network(custom, namespace, cidr="10.110.0.0/20")
    infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")
    infra.cluster(custom, namespace)
    pc = infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")
    name = pc["status"]["providerMetadata"]["clusterName"]
    group = infra.aws(env, "eks").list_nodegroups(clusterName=name)["nodegroups"][0]
    workload = kubernetes.client.CoreV1Api(env.workload.admin_api)
    for i in range(2):
        _node(workload, f"{name[-10:]}-node-{i}", group)
    _system_pod(workload, f"coredns-{name[-10:]}")
    return namespace, pc


def _node(api, name: str, group: str, ready: bool = True) -> None:
    api.create_node({"metadata": {"name": name, "labels": {"eks.amazonaws.com/nodegroup": group,
                                                          "node.kubernetes.io/instance-type": "m7g.large"}}})
    _node_ready(api, name, ready)


def _node_ready(api, name: str, ready: bool) -> None:
    api.patch_node_status(name, {"status": {"conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady" if ready else "Lost"}]}})


def _system_pod(api, name: str) -> None:
    api.create_namespaced_pod("kube-system", {"metadata": {"name": name}, "spec": {
        "containers": [{"name": "main", "image": "registry.k8s.io/coredns/coredns:v1.11.3"}]}})
    api.patch_namespaced_pod_status(name, "kube-system", {"status": {"phase": "Running", "containerStatuses": [
        {"name": "main", "ready": True, "restartCount": 0, "image": "coredns", "imageID": "",
         "state": {"running": {}}}]}})


def _health(custom, namespace: str, status: str) -> dict:
    def probe():
        st = get(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod").get("status") or {}
        return st if st.get("lastHealthStatus") == status else None
    return wait_for(probe, 60, f"health {status}")


def test_healthy_with_node_and_pod_details(cluster, custom) -> None:
    namespace, pc = cluster
    status = _health(custom, namespace, "healthy")
    health = status["health"]
    assert health["providerMetadata"] == {"status": "ACTIVE"} and status["providerMetadata"]["status"] == "ACTIVE"
    group = health["nodeGroups"][0]
    assert (group["status"], group["desiredSize"], group["readyNodes"]) == ("ACTIVE", 2, 2)
    assert any(p["name"].startswith("coredns-") and p["ready"] for p in health["systemPods"])
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["Healthy"]["status"] == "True" and conds["Healthy"]["reason"] == "Healthy"
    assert status["lastHealthCheckAt"] == health["lastCheckedAt"]
    record = get(custom, namespace, kinds.CLUSTER, "prod")
    wait_for(lambda: (get(custom, namespace, kinds.CLUSTER, "prod").get("status") or {}).get("lastHealthStatus")
             == "healthy", 30, "the Cluster record to mirror health")
    assert record["spec"]["provisionedClusterRef"] == {"name": "prod"}


def test_node_not_ready_degrades_then_recovers(env, cluster, custom, core) -> None:
    namespace, pc = cluster
    workload = kubernetes.client.CoreV1Api(env.workload.admin_api)
    node = f"{pc['status']['providerMetadata']['clusterName'][-10:]}-node-1"
    _node_ready(workload, node, False)
    status = _health(custom, namespace, "degraded")
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["Healthy"]["status"] == "False" and conds["Healthy"]["reason"] == "NodeGroupDegraded"
    assert "1 of 2 nodes ready" in status["lastHealthMessage"]
    events = core.list_namespaced_event(namespace, field_selector="involvedObject.name=prod").items
    assert any(e.type == "Warning" and e.reason == "NodeGroupDegraded" for e in events)
    _node_ready(workload, node, True)
    _health(custom, namespace, "healthy")


def _secret(core, namespace: str, name: str) -> tuple[str, dict]:
    s = core.read_namespaced_secret(name, namespace)
    return base64.b64decode(s.data["value"]).decode(), dict(s.metadata.annotations or {})


def test_kubeconfig_secrets_work_and_rotate(env, cluster, custom, core, tmp_path) -> None:
    namespace, _ = cluster
    status = _health(custom, namespace, "healthy")
    assert status["kubeconfigSecretRef"] == {"name": "prod-kubeconfig"}
    assert status["userKubeconfigSecretRef"] == {"name": "prod-user-kubeconfig"}
    document, annotations = _secret(core, namespace, "prod-kubeconfig")
    path = tmp_path / "machine.kubeconfig"
    path.write_text(document)
    out = subprocess.run([str(tools.tool_path("kubectl")), "--kubeconfig", str(path), "get", "nodes", "-o", "name"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "node/" in out.stdout
    user = yaml.safe_load(_secret(core, namespace, "prod-user-kubeconfig")[0])
    assert user["users"][0]["user"]["exec"]["args"][:2] == ["eks", "get-token"]
    first = annotations["fleetyard.io/expires-at"]
    # the test operator's tokens live 30 s and are rewritten when less than 20 s remain
    rotated = wait_for(lambda: (lambda a: a if a["fleetyard.io/expires-at"] != first else None)(
        _secret(core, namespace, "prod-kubeconfig")[1]), 40, "the machine kubeconfig to be rewritten")
    assert rotated["fleetyard.io/expires-at"] > first
    logs = (env.state_dir / "operator.log").read_text() if (env.state_dir / "operator.log").exists() else ""
    assert yaml.safe_load(document)["users"][0]["user"]["token"] not in logs


def test_metrics_for_the_last_hour(env, cluster, custom) -> None:
    namespace, pc = cluster
    name = pc["status"]["providerMetadata"]["clusterName"]
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    cw = infra.aws(env, "cloudwatch")
    cw.put_metric_data(Namespace="ContainerInsights", MetricData=[  # what the Container Insights agent sends
        {"MetricName": "node_cpu_utilization", "Dimensions": [{"Name": "ClusterName", "Value": name}],
         "Timestamp": now - datetime.timedelta(minutes=m), "Value": 10.0 + m} for m in range(1, 11)])

    def published():  # the operator's health check publishes ready nodes per instance type
        listed = cw.list_metrics(Namespace="Fleetyard/Clusters", MetricName="ReadyNodes",
                                 Dimensions=[{"Name": "ClusterName", "Value": name}])["Metrics"]
        return listed or None
    wait_for(published, 30, "the operator's ReadyNodes samples")
    obj = kinds.PROVISIONED_CLUSTER.parse(get(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod"))
    connection = kinds.CONNECTION.parse(get(custom, namespace, kinds.CONNECTION, "prod"))
    series = access.metrics(obj, connection, secrets.value, "1h", now=now + datetime.timedelta(minutes=1))
    cpu = {p["timestamp"]: p["value"] for p in series["cpuUtilization"]}
    assert len(cpu) == 10 and cpu[(now - datetime.timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")] == 13.0
    price = usage_metrics.load_prices("us-east-1").prices["m7g.large"]
    latest = series["estimatedCost"][-1]
    assert latest["timestamp"] == now.strftime("%Y-%m-%dT%H:%M:%SZ")
    # node-hours x price: on average between 1 and 2 ready m7g.large in that minute (the degraded test
    # may have had one NotReady during it)
    assert price / 60 * 0.999 <= latest["value"] <= 2 * price / 60 * 1.001
    assert series["unknownInstanceTypes"] == []
    with pytest.raises(ValueError, match="period"):
        access.metrics(obj, connection, secrets.value, "2h")


def test_operator_metrics_cover_the_day2_work(env, cluster) -> None:
    """After a cluster was built, health-checked and given kubeconfig Secrets, the operator's /metrics
    has the series of each of those steps."""
    wanted = ("fleetyard_reconciles_total{", "fleetyard_operations_queued", "fleetyard_operations_running",
              "fleetyard_pulumi_engine_seconds_bucket{", "fleetyard_kubeconfig_token_refreshes_total",
              "fleetyard_health_checks_total{", "fleetyard_cluster_healthy{")

    def all_there():
        _, text = infra.operator_endpoint(env, "FLEETYARD_METRICS_PORT", "/metrics")
        return text if all(series in text for series in wanted) else None
    _health(kubernetes.client.CustomObjectsApi(env.api), cluster[0], "healthy")
    wait_for(all_there, 60, f"all of {wanted}")


def test_registered_cluster_shows_health(env, namespace, custom, core) -> None:
    kubeconfig = env.workload.admin_kubeconfig.read_text()
    core.create_namespaced_secret(namespace, {"metadata": {"name": "edge-kubeconfig"},
                                              "stringData": {"value": kubeconfig}})
    infra.create_cluster_record(custom, namespace, "edge", {"displayName": "Edge", "kubeconfigSecretRef": {
        "name": "edge-kubeconfig"}})

    def checked():
        st = get(custom, namespace, kinds.CLUSTER, "edge").get("status") or {}
        return st if st.get("lastHealthCheckAt") else None
    status = wait_for(checked, 60, "the registered cluster's first health check")
    assert status["lastHealthStatus"] in ("healthy", "degraded")  # other tests' nodes share the workload
    assert status["kubernetesVersion"].startswith("1.") and status["health"]["totalNodes"] >= 2
    assert status["externalStatus"] == "active"
    assert base64.b64decode(core.read_namespaced_secret("edge-kubeconfig", namespace).data["value"]).decode() \
        == kubeconfig  # only read, never written
