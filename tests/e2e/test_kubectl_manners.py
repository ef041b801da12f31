"""kubectl users' manners, against the operator, Pulumi and moto: `kubectl wait` works on every kind
that does work (Ready, Succeeded, Stalled), a cluster's kubeconfig Secret exists by the time it says
Ready, `kubectl get` shows what people look for first (running vs desired version, nodes, an
Operation's kind, progress and error), every Event comes from fleetyard-operator, and a retry or a
refresh is asked for with an annotation that works and is acknowledged in status."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import time
import uuid

import kubernetes
import pytest

from fleetyard.devenv import tools
from fleetyard.kube import apply as kube_apply
from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, infra
from tests.e2e.test_provisioning_faults import EC2_ONLY, EVERYTHING

pytestmark = pytest.mark.timeout(900)


def kubectl(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tools.tool_path("kubectl")), *args], capture_output=True, text=True, timeout=400,
                          env={**os.environ, "KUBECONFIG": str(env.kubeconfig)})


@dataclasses.dataclass
class Org:
    namespace: str
    role_name: str
    policy_arn: str


@pytest.fixture(scope="module")
def org(env) -> Org:
    """A namespace whose Connection's role may only use EC2 (so a cluster's first run fails with
    AccessDenied), with an active Network."""
    namespace = f"kubectl-{uuid.uuid4().hex[:6]}"
    kube_apply.ensure_namespace(env.api, namespace)
    custom = kubernetes.client.CustomObjectsApi(env.api)
    iam = infra.aws(env, "iam")
    name, role = connections.trusted_role(env, "fy-kubectl")
    policy = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(EC2_ONLY))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    connections.secret(kubernetes.client.CoreV1Api(env.api), namespace, "ext-id", connections.EXTERNAL_ID)
    connections.connection(custom, namespace, role)
    connections.status_when(custom, namespace, "active")
    infra.network(custom, namespace, cidr="10.120.0.0/20")
    infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")
    return Org(namespace, name, policy)


def _allow_everything(env, org: Org) -> None:
    iam = infra.aws(env, "iam")
    if iam.get_policy(PolicyArn=org.policy_arn)["Policy"]["DefaultVersionId"] == "v1":
        iam.create_policy_version(PolicyArn=org.policy_arn, PolicyDocument=json.dumps(EVERYTHING), SetAsDefault=True)


@pytest.fixture()
def active(env, org, custom) -> dict:
    """The cluster `prod` of `org`, active (made so if an earlier test did not)."""
    _allow_everything(env, org)
    try:
        pc = get(custom, org.namespace, kinds.PROVISIONED_CLUSTER, "prod")
    except kubernetes.client.ApiException:
        pc = infra.cluster(custom, org.namespace)
    if (pc.get("status") or {}).get("status") == "failed":
        token = uuid.uuid4().hex
        kubectl(env, "annotate", "--overwrite", "-n", org.namespace, "pcl/prod",
                f"fleetyard.io/retry-requested-at={token}")
        wait_for(lambda: (get(custom, org.namespace, kinds.PROVISIONED_CLUSTER, "prod").get("status") or {}).get(
            "lastHandledRetryAt") == token, 30, "the retry to be handled")
    return infra.phase_is(custom, org.namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")


def test_stalled_cluster_retried_with_an_annotation_then_waited_for_with_kubectl(env, org, custom) -> None:
    ns = org.namespace
    infra.cluster(custom, ns)
    stalled = kubectl(env, "wait", "-n", ns, "--for=condition=Stalled", "pcl/prod", "--timeout=300s")
    assert stalled.returncode == 0, stalled.stderr
    pc = get(custom, ns, kinds.PROVISIONED_CLUSTER, "prod")
    conds = {c["type"]: c for c in pc["status"]["conditions"]}
    assert conds["Stalled"]["reason"] == "AccessDenied" and "retry-requested-at" in conds["Stalled"]["message"]
    failed_op = infra.operations(custom, ns, "prod")[-1]["metadata"]["name"]
    failed = kubectl(env, "wait", "-n", ns, "--for=condition=Succeeded=False", f"operation/{failed_op}",
                     "--timeout=10s")
    assert failed.returncode == 0, failed.stderr
    row = kubectl(env, "get", "-n", ns, "operation", failed_op, "--no-headers").stdout
    assert re.search(r"provision\s+ProvisionedCluster\s+all\s+prod\s+failed\s+\d+/\d+\s+AccessDenied", row), row
    runs = infra.operation_names(custom, ns, "prod")

    # the customer widens the role outside fleetyard: only a retry request tells fleetyard to go again
    _allow_everything(env, org)
    asked = "2026-12-02T10:00:00Z"
    annotated = kubectl(env, "annotate", "-n", ns, "pcl/prod", f"fleetyard.io/retry-requested-at={asked}")
    assert annotated.returncode == 0, annotated.stderr
    wait_for(lambda: infra.new_operations(custom, ns, "prod", runs), 30, "the retried run")
    retried = infra.operations(custom, ns, "prod")[-1]
    assert retried["spec"]["attempt"] == 2
    # `kubectl wait` for Ready, then the kubeconfig Secret at once (Cluster API's order)
    ready = kubectl(env, "wait", "-n", ns, "--for=condition=Ready", "pcl/prod", "--timeout=300s")
    assert ready.returncode == 0, ready.stderr
    secret = kubectl(env, "get", "-n", ns, "secret", "prod-kubeconfig", "-o", "jsonpath={.data.value}")
    assert secret.returncode == 0 and secret.stdout, secret.stderr
    ref = kubectl(env, "get", "-n", ns, "pcl/prod", "-o", "jsonpath={.status.kubeconfigSecretRef.name}")
    assert ref.stdout == "prod-kubeconfig"
    pc = get(custom, ns, kinds.PROVISIONED_CLUSTER, "prod")
    assert pc["status"]["lastHandledRetryAt"] == asked
    succeeded = kubectl(env, "wait", "-n", ns, "--for=condition=Succeeded", f"operation/{retried['metadata']['name']}",
                        "--timeout=30s")
    assert succeeded.returncode == 0, succeeded.stderr
    record = kubectl(env, "wait", "-n", ns, "--for=condition=Ready", "cluster/prod", "--timeout=60s")
    assert record.returncode == 0, record.stderr
    events = kubectl(env, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=prod,reason=RequestHandled",
                     "-o", "jsonpath={.items[*].message}")
    assert f"retry requested at {asked}: started provision (attempt 2)" in events.stdout


def test_kubectl_get_shows_versions_nodes_progress_and_ready(env, org, active) -> None:
    ns = org.namespace
    custom = kubernetes.client.CustomObjectsApi(env.api)
    wait_for(lambda: (get(custom, ns, kinds.PROVISIONED_CLUSTER, "prod").get("status") or {}).get("health"), 60,
             "a health check")  # READY NODES comes from it (no Nodes in the workload cluster: 0)
    pcl = kubectl(env, "get", "-n", ns, "pcl/prod")
    header, row = pcl.stdout.splitlines()
    assert re.search(r"VERSION\s+DESIRED\s+NODES\s+READY NODES\s+STATUS\s+HEALTH", header), header
    assert re.search(r"1\.34\s+1\.34\s+2\s+\d+\s+active\s+\S+", row), pcl.stdout
    assert re.search(r"True\s+\S+$", row), row  # READY
    fycl = kubectl(env, "get", "-n", ns, "cluster/prod").stdout.splitlines()
    assert re.search(r"\bREADY\b", fycl[0]) and re.search(r"active\s+(\S+\s+)?True\s+\S+$", fycl[1]), fycl
    ops = kubectl(env, "get", "-n", ns, "operations", "--sort-by=.metadata.creationTimestamp").stdout.splitlines()
    assert re.search(r"OPERATION\s+KIND\s+SCOPE\s+TARGET\s+STATUS\s+PROGRESS\s+ERROR", ops[0]), ops[0]
    done = [line for line in ops[1:] if " succeeded " in line and "ProvisionedCluster" in line]
    assert done and re.search(r"succeeded\s+(\d+)/\1\s", done[-1]), ops  # every resource done: 24/24


def test_refresh_requested_with_an_annotation_runs_refresh_and_is_acknowledged(env, org, active, custom) -> None:
    ns = org.namespace
    before = infra.operation_names(custom, ns, "prod")
    token = "2026-12-02T11:00:00Z"
    assert kubectl(env, "annotate", "--overwrite", "-n", ns, "pcl/prod",
                   f"fleetyard.io/refresh-requested-at={token}").returncode == 0

    def new_runs():
        runs = infra.new_operations(custom, ns, "prod", before)
        return runs if any(o["spec"]["operation"] == "refresh" for o in runs) else None
    refresh = next(o for o in wait_for(new_runs, 30, "a refresh Operation") if o["spec"]["operation"] == "refresh")
    done = kubectl(env, "wait", "-n", ns, "--for=condition=Succeeded", f"operation/{refresh['metadata']['name']}",
                   "--timeout=300s")
    assert done.returncode == 0, done.stderr
    pc = infra.phase_is(custom, ns, kinds.PROVISIONED_CLUSTER, "prod", "active")
    assert pc["status"]["lastHandledRefreshAt"] == token
    # the update after the refresh puts back what drifted: here nothing, so nothing is replaced
    runs = infra.new_operations(custom, ns, "prod", before)
    assert [o["spec"]["operation"] for o in runs] == ["refresh", "update"]
    assert runs[-1]["status"]["progress"]["summary"]["succeeded"] == 0
    seen = infra.operation_names(custom, ns, "prod")
    # the same value again is no new request
    kubectl(env, "annotate", "--overwrite", "-n", ns, "pcl/prod", f"fleetyard.io/refresh-requested-at={token}",
            "fleetyard.io/unrelated=1")
    time.sleep(3)  # several reconcile ticks
    assert not infra.new_operations(custom, ns, "prod", seen)


def test_connection_retry_annotation_verifies_now(env, org, custom) -> None:
    ns = org.namespace
    before = get(custom, ns, kinds.CONNECTION, "prod")["status"]["lastVerifiedAt"]
    assert kubectl(env, "annotate", "--overwrite", "-n", ns, "connection/prod",
                   "fleetyard.io/retry-requested-at=now-1").returncode == 0
    status = wait_for(lambda: (s := get(custom, ns, kinds.CONNECTION, "prod")["status"]).get(
        "lastHandledRetryAt") == "now-1" and s, 30, "the Connection to acknowledge the retry")
    assert status["status"] == "active" and status["lastVerifiedAt"] >= before


def test_missing_connection_stalls_with_a_reason(env, namespace, custom) -> None:
    infra.network(custom, namespace, name="orphan", connection="nowhere")
    out = kubectl(env, "wait", "-n", namespace, "--for=condition=Stalled", "network/orphan", "--timeout=60s")
    assert out.returncode == 0, out.stderr
    conds = {c["type"]: c for c in get(custom, namespace, kinds.NETWORK, "orphan")["status"]["conditions"]}
    assert conds["Stalled"]["reason"] == "ConnectionNotFound"
    assert "Connection nowhere (not found)" in conds["Stalled"]["message"]
    assert conds["Ready"]["status"] == "False"


def test_every_event_comes_from_fleetyard_operator(env, org, active, core) -> None:
    items = core.list_namespaced_event(org.namespace).items
    kinds_seen = {e.involved_object.kind for e in items}
    assert {"Connection", "Network", "ProvisionedCluster"} <= kinds_seen
    sources = {(e.involved_object.kind, e.source.component if e.source else None, e.reporting_component)
               for e in items}
    assert {s[1] for s in sources} == {"fleetyard-operator"}, sources
    assert {s[2] for s in sources} == {"fleetyard-operator"}, sources
