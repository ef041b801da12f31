"""People reach a provisioned cluster as themselves: Team `data` names a person's IAM user with `view`;
the cluster program gives that principal an EKS access entry (AmazonEKSViewPolicy) and the workload
cluster, which lets in only principals with an entry, answers the person's own `aws eks get-token`
token: they list pods and cannot create one; a person in no Team is refused; adding and removing a
member is an update Operation of the access entries alone, and removal revokes access. Nothing handed
to people (the REST kubeconfig, the user kubeconfig Secret) mentions the Connection's role. Admission
refuses a malformed principal, the Connection's role as a member, and a cluster naming a missing Team.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
import uuid
from typing import Any

import kubernetes
import pytest
import yaml

from fleetyard.devenv import people, tools
from fleetyard.models import kinds, timestamps
from fleetyard.provisioning import cluster_program
from tests.conftest import create, get, wait_for
from tests.e2e import connections, infra, rest

pytestmark = pytest.mark.timeout(900)
REGION = "us-east-1"
# the workload apiserver keeps an accepted token 10 s (whatever the webhook's TTL flag says)
REVOKE_WAIT = 30


def _team(custom, namespace: str, name: str, principals: list[str], level: str = "view") -> None:
    create(custom, namespace, kinds.TEAM, {"metadata": {"name": name}, "spec": {
        "displayName": name, "principals": principals, "access": {"level": level}}})


def _set_principals(custom, namespace: str, name: str, principals: list[str]) -> None:
    custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kinds.TEAM.plural, name,
                                          {"spec": {"principals": principals}},
                                          _content_type="application/merge-patch+json")


@pytest.fixture(scope="module")
def org(env) -> dict[str, Any]:
    namespace = connections.organization(env, "people")
    custom = kubernetes.client.CustomObjectsApi(env.api)
    suffix = uuid.uuid4().hex[:6]
    viewer = people.create_person(env.aws_env(), f"dana-{suffix}")
    outsider = people.create_person(env.aws_env(), f"olga-{suffix}")
    newcomer = people.create_person(env.aws_env(), f"nico-{suffix}")
    _team(custom, namespace, "data", [viewer.arn])
    infra.network(custom, namespace, cidr="10.130.0.0/20")
    infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")
    infra.cluster(custom, namespace, access={"teams": ["data"]})
    pc = infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")
    conn = get(custom, namespace, kinds.CONNECTION, "prod")
    return {"namespace": namespace, "custom": custom, "viewer": viewer, "outsider": outsider, "newcomer": newcomer,
            "cluster": pc["status"]["providerMetadata"]["clusterName"],
            "role_arn": conn["spec"]["providerConfig"]["roleArn"]}


def _status(env, token: str, call) -> int:
    config = kubernetes.client.Configuration(host=env.workload.endpoint)
    config.ssl_ca_cert = str(env.workload.ca_file)
    config.api_key = {"authorization": f"Bearer {token}"}
    with kubernetes.client.ApiClient(config) as api:
        try:
            call(kubernetes.client.CoreV1Api(api))
        except kubernetes.client.ApiException as exc:
            return int(exc.status)
    return 200


def _list_pods(core) -> Any:
    return core.list_namespaced_pod("default")


def _create_pod(core) -> Any:
    return core.create_namespaced_pod("default", {"metadata": {"name": f"p-{uuid.uuid4().hex[:6]}"}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}]}})


def _token(person: people.Person, cluster: str) -> str:
    return people.eks_token(person.session(), cluster, REGION)


def _eventually(probe, expected, timeout: float = REVOKE_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while (got := probe()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"still {got!r} after {timeout}s, expected {expected!r}")
        time.sleep(0.5)


def test_a_view_member_lists_pods_and_cannot_create_one(env, org) -> None:
    token = _token(org["viewer"], org["cluster"])
    _eventually(lambda: _status(env, token, _list_pods), 200)
    assert _status(env, token, _create_pod) == 403
    assert _status(env, token, lambda core: core.list_namespaced_secret("default")) == 403


def test_a_person_in_no_team_is_refused(env, org) -> None:
    assert _status(env, _token(org["outsider"], org["cluster"]), _list_pods) == 401


def test_the_exec_kubeconfig_gets_in_as_the_person(env, org, tmp_path) -> None:
    """The REST kubeconfig, run by kubectl with the person's own AWS keys (no profile, no role)."""
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("no aws CLI on PATH")
    namespace = org["namespace"]
    with rest.client(env, rest.user(env, namespace, "ops", "fleetyard-admin")) as api:
        conn_id = rest.seed_id(org["custom"], namespace, kinds.CONNECTION, "prod")
        pc_id = rest.seed_id(org["custom"], namespace, kinds.PROVISIONED_CLUSTER, "prod")
        document = api.get(f"/infra/connections/{conn_id}/clusters/{pc_id}/kubeconfig").json()["kubeconfig"]
    path = tmp_path / "person.kubeconfig"
    path.write_text(document)
    person = org["viewer"]
    person_env = {"PATH": f"{os.path.dirname(aws)}:{os.environ.get('PATH', '')}", "HOME": str(tmp_path),
                  "AWS_ACCESS_KEY_ID": person.access_key_id, "AWS_SECRET_ACCESS_KEY": person.secret_access_key,
                  "AWS_ENDPOINT_URL": env.aws_env()["AWS_ENDPOINT_URL"], "AWS_DEFAULT_REGION": REGION}
    out = subprocess.run([str(tools.tool_path("kubectl")), "--kubeconfig", str(path), "auth", "whoami", "-o",
                          "jsonpath={.status.userInfo.username}"], capture_output=True, text=True, timeout=60,
                         env=person_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == person.arn


def test_nothing_handed_to_people_mentions_the_connection_role(env, org, core) -> None:
    namespace, role_arn = org["namespace"], org["role_arn"]
    role_name = role_arn.rsplit("/", 1)[-1]
    with rest.client(env, rest.user(env, namespace, "ops", "fleetyard-admin")) as api:
        conn_id = rest.seed_id(org["custom"], namespace, kinds.CONNECTION, "prod")
        pc_id = rest.seed_id(org["custom"], namespace, kinds.PROVISIONED_CLUSTER, "prod")
        served = api.get(f"/infra/connections/{conn_id}/clusters/{pc_id}/kubeconfig")
    assert served.status_code == 200, served.text
    user_secret = wait_for(lambda: _secret_or_none(core, namespace, "prod-user-kubeconfig"), 90,
                           "the user kubeconfig Secret")
    for document in (served.text, served.json()["kubeconfig"], user_secret):
        assert role_arn not in document and role_name not in document and "--role-arn" not in document
    exec_ = yaml.safe_load(served.json()["kubeconfig"])["users"][0]["user"]["exec"]
    assert exec_["args"] == ["eks", "get-token", "--cluster-name", org["cluster"], "--output", "json",
                             "--region", REGION]
    assert yaml.safe_load(user_secret)["users"][0]["user"] == yaml.safe_load(served.json()["kubeconfig"])[
        "users"][0]["user"]


def _secret_or_none(core, namespace: str, name: str) -> str | None:
    try:
        return base64.b64decode(core.read_namespaced_secret(name, namespace).data["value"]).decode()
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _access_update_after(custom, namespace: str, known: set[str]) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        for op in infra.operations(custom, namespace, "prod"):
            if op["metadata"]["name"] not in known and (op.get("status") or {}).get("status") in ("succeeded", "failed"):
                return op
        return None
    op = wait_for(probe, infra.PROVISION_TIMEOUT, "an access-entries update Operation")
    assert op["status"]["status"] == "succeeded", op["status"].get("error")
    return op


def test_adding_and_removing_a_member_updates_only_the_access_entries(env, org) -> None:
    custom, namespace = org["custom"], org["namespace"]
    newcomer, viewer = org["newcomer"], org["viewer"]
    token = _token(newcomer, org["cluster"])
    assert _status(env, token, _list_pods) == 401
    known = {o["metadata"]["name"] for o in infra.operations(custom, namespace, "prod")}
    generation = get(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod")["metadata"]["generation"]

    _set_principals(custom, namespace, "data", [viewer.arn, newcomer.arn])
    added = _access_update_after(custom, namespace, known)
    assert added["spec"]["operation"] == "update" and added["spec"]["scope"] == "accessEntries"
    assert added["spec"]["targetGeneration"] == generation  # the cluster's spec did not change
    touched = {r["type"] for r in added["status"]["progress"]["resources"] if r["operation"] != "same"}
    assert touched and touched <= {*cluster_program.ACCESS_TYPES, "pulumi:providers:aws"}, touched
    assert "aws:eks/accessEntry:AccessEntry" in touched
    _eventually(lambda: _status(env, _token(newcomer, org["cluster"]), _list_pods), 200)
    assert _status(env, _token(newcomer, org["cluster"]), _create_pod) == 403

    known.add(added["metadata"]["name"])
    _set_principals(custom, namespace, "data", [viewer.arn])
    removed = _access_update_after(custom, namespace, known)
    assert removed["spec"]["scope"] == "accessEntries"
    deleted = {r["type"] for r in removed["status"]["progress"]["resources"] if r["operation"] == "delete"}
    assert "aws:eks/accessEntry:AccessEntry" in deleted
    _eventually(lambda: _status(env, _token(newcomer, org["cluster"]), _list_pods), 401)
    assert _status(env, _token(viewer, org["cluster"]), _list_pods) == 200  # the other member keeps access
    phase = infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "active")
    assert phase["status"]["status"] == "active"


def test_admission_checks_principals_and_teams(env, org) -> None:
    custom, namespace = org["custom"], org["namespace"]

    def refused(kind: kinds.Kind, body: dict[str, Any]) -> str:
        with pytest.raises(kubernetes.client.ApiException) as caught:
            create(custom, namespace, kind, body)
        assert caught.value.status in (400, 422), caught.value.body
        return str(caught.value.body)

    bad_arn = refused(kinds.TEAM, {"metadata": {"name": "bad"}, "spec": {
        "displayName": "Bad", "principals": ["arn:aws:sts::123456789012:assumed-role/Dev/dana"]}})
    assert "principals" in bad_arn
    connection_role = refused(kinds.TEAM, {"metadata": {"name": "sneaky"}, "spec": {
        "displayName": "Sneaky", "principals": [org["role_arn"]]}})
    assert "spec.principals" in connection_role and "Connection prod" in connection_role
    missing = refused(kinds.CLUSTER, {"metadata": {"name": "edge"}, "spec": {
        "displayName": "Edge", "kubeconfigSecretRef": {"name": "edge-kubeconfig"},
        "access": {"teams": ["data", {"name": "ghosts", "access": "edit"}]}}})
    assert "spec.access.teams" in missing and "ghosts" in missing
    wrong_level = refused(kinds.CLUSTER, {"metadata": {"name": "edge"}, "spec": {
        "displayName": "Edge", "kubeconfigSecretRef": {"name": "edge-kubeconfig"},
        "access": {"teams": [{"name": "data", "access": "root"}]}}})
    assert "access.teams[0].access" in wrong_level


ARGOCD_NAMESPACE = "argocd"  # the operator's default FLEETYARD_ARGOCD_NAMESPACE


def _argocd_secret(core, namespace: str) -> Any:
    try:
        return core.read_namespaced_secret(f"fleetyard-{namespace}-prod", ARGOCD_NAMESPACE)
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_an_opted_in_cluster_gets_an_argocd_cluster_secret_kept_fresh(env, org, core) -> None:
    """Argo CD's declarative cluster Secret, written with the machine token and rewritten with it; we
    measure how long the old token still had when it was replaced."""
    import json

    from fleetyard.kube import apply as kube_apply

    custom, namespace = org["custom"], org["namespace"]
    kube_apply.ensure_namespace(env.api, ARGOCD_NAMESPACE)
    assert _argocd_secret(core, namespace) is None  # opt-in only
    custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kinds.PROVISIONED_CLUSTER.plural,
                                          "prod", {"metadata": {"annotations": {"fleetyard.io/argocd": "true"}}},
                                          _content_type="application/merge-patch+json")
    secret = wait_for(lambda: _argocd_secret(core, namespace), 60, "the Argo CD cluster Secret")
    assert secret.metadata.labels["argocd.argoproj.io/secret-type"] == "cluster"
    data = {k: base64.b64decode(v).decode() for k, v in secret.data.items()}
    assert data["name"] == f"{namespace}/prod" and data["server"] == env.workload_env()["FLEETYARD_FAKE_EKS_ENDPOINT"]
    config = json.loads(data["config"])
    assert set(config) == {"bearerToken", "tlsClientConfig"} and config["tlsClientConfig"]["caData"]
    assert _status(env, config["bearerToken"], lambda c: c.list_node()) == 200  # Argo CD gets in
    first = secret.metadata.annotations["fleetyard.io/expires-at"]
    rotated = wait_for(lambda: (lambda s: s if s and s.metadata.annotations["fleetyard.io/expires-at"] != first
                                else None)(_argocd_secret(core, namespace)), 60, "the Argo CD token to be refreshed")
    replaced_at = time.time()
    left = timestamps.parse(first).timestamp() - replaced_at
    # the test operator's tokens live 30 s and are due with 20 s left, checked every 2 s (±10 %)
    print(f"argocd token replaced {left:.1f}s before it expired")
    assert 15 <= left <= 21, left
    new_config = json.loads(base64.b64decode(rotated.data["config"]).decode())
    assert new_config["bearerToken"] != config["bearerToken"]


def test_destroying_the_cluster_removes_its_argocd_secret(env, org, core) -> None:
    custom, namespace = org["custom"], org["namespace"]
    wait_for(lambda: _argocd_secret(core, namespace), 60, "the Argo CD cluster Secret")
    infra.patch_spec(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", {"desiredState": "Destroyed"})
    infra.phase_is(custom, namespace, kinds.PROVISIONED_CLUSTER, "prod", "destroyed")
    wait_for(lambda: _argocd_secret(core, namespace) is None, 30, "the Argo CD cluster Secret to be removed")
