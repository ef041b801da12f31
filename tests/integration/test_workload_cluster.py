"""Integration tests of `fleetyard.devenv.workload_cluster`: a kube-apiserver that takes EKS tokens
and lets in whom the cluster's EKS access entries name, as EKS does.

One workload cluster and one moto server (IAM access control on) for the module, started as the
Environment starts them: the workload cluster first, moto with its `env()`, so moto's EKS clusters
(and the fake plugin's) report the workload endpoint and CA. Access entries are made the way the
cluster program makes them, through the fake `aws` plugin's AccessEntry and
AccessPolicyAssociation (called in-process here, as the account admin), into the plugin state file
the workload cluster reads. Tokens are made by `fleetyard.cloud.eks_token`: for a role the moto
operator user assumes (as the operator will call a provisioned cluster) and for people, IAM users
with their own keys (`fleetyard.devenv.people`, as `aws eks get-token` would). Without an access
entry a token is a 401; an entry's access policies give what EKS documents for them (view cannot
create, a namespace scope stops at its namespaces); deleting the entry revokes access at the
token's next review. The apiserver caches a refusal for the cluster's `webhook_cache_ttl`, 1 s
here (10 s in the Environment), and an accepted token for 10 s whatever that TTL
(`workload_cluster.TOKEN_SUCCESS_CACHE`): the tests wait it out rather than shorten it.
Tampered, expired, unsigned-cluster-header, wrong-cluster and wrong-host tokens are 401s; the
authenticator's own verdict names the reason.
"""

from __future__ import annotations

import base64
import collections.abc
import dataclasses
import datetime
import importlib
import json
import pathlib
import sys
import time
import urllib.parse
import uuid
from typing import Any

import boto3
import botocore.auth
import kubernetes
import pytest

from fleetyard.cloud import eks_token
from fleetyard.devenv import eks_access, moto_server, people, workload_cluster

pytestmark = pytest.mark.integration

CLUSTER = "workload-demo"
REGION = moto_server.DEFAULT_REGION
PLUGIN_DIR = pathlib.Path(__file__).resolve().parents[2] / "hack" / "pulumi-aws-plugin"
POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKS{}Policy"
CACHE_TTL = 1.0
Bed = tuple[moto_server.MotoServer, workload_cluster.WorkloadCluster, pathlib.Path]
REVIEW_WAIT = workload_cluster.TOKEN_SUCCESS_CACHE + 5  # the cache, then STS and the webhook on a busy machine


def _plugin(name: str) -> Any:
    if str(PLUGIN_DIR) not in sys.path:
        sys.path.append(str(PLUGIN_DIR))
    return importlib.import_module(name)


@dataclasses.dataclass
class EksAccessApi:
    """EKS's access-entry API as the fake plugin serves it to a Pulumi program."""

    ctx: Any

    def create_entry(self, principal: str, groups: collections.abc.Sequence[str] = (), **inputs: Any) -> None:
        _plugin("fake_aws_eks_access").AccessEntry().create(self.ctx, {
            "clusterName": CLUSTER, "principalArn": principal, "type": "STANDARD",
            "kubernetesGroups": list(groups), **inputs})

    def associate(self, principal: str, policy: str, *namespaces: str) -> None:
        scope = {"type": "namespace", "namespaces": list(namespaces)} if namespaces else {"type": "cluster"}
        _plugin("fake_aws_eks_access").AccessPolicyAssociation().create(self.ctx, {
            "clusterName": CLUSTER, "principalArn": principal, "policyArn": POLICY.format(policy),
            "accessScope": scope})

    def disassociate(self, principal: str, policy: str) -> None:
        _plugin("fake_aws_eks_access").AccessPolicyAssociation().delete(
            self.ctx, f"{CLUSTER}#{principal}#{POLICY.format(policy)}", {"region": REGION})

    def delete_entry(self, principal: str) -> None:
        _plugin("fake_aws_eks_access").AccessEntry().delete(self.ctx, f"{CLUSTER}:{principal}", {"region": REGION})

    def grant(self, principal: str, policy: str, *namespaces: str) -> None:
        self.create_entry(principal)
        self.associate(principal, policy, *namespaces)


@pytest.fixture(scope="module")
def test_bed(tmp_path_factory: pytest.TempPathFactory) -> collections.abc.Iterator[Bed]:
    server = moto_server.MotoServer(tmp_path_factory.mktemp("moto"))
    state_file = tmp_path_factory.mktemp("plugin") / "fake-aws-state.json"
    with workload_cluster.WorkloadCluster(tmp_path_factory.mktemp("workload"), lambda: server.endpoint, [CLUSTER],
                                          access_entries=eks_access.plugin_clusters(state_file),
                                          webhook_cache_ttl=f"{CACHE_TTL:g}s") as cluster:
        server.server_env.update(cluster.env())
        with server:
            yield server, cluster, state_file


@pytest.fixture(scope="module")
def moto(test_bed: Bed) -> moto_server.MotoServer:
    return test_bed[0]


@pytest.fixture(scope="module")
def workload(test_bed: Bed) -> workload_cluster.WorkloadCluster:
    return test_bed[1]


@pytest.fixture(scope="module")
def eks_api(test_bed: Bed) -> EksAccessApi:
    """The EKS cluster `CLUSTER` in moto and its access-entry API, called as the account admin."""
    server, _, state_file = test_bed
    config = _plugin("fake_aws_config")
    clients = config.Clients(config.ProviderConfig(
        region=REGION, access_key=server.access_key_id, secret_key=server.secret_access_key,
        endpoints={service: server.endpoint for service in ("eks", "iam", "sts")}))
    clients.client("eks").create_cluster(name=CLUSTER, roleArn=f"arn:aws:iam::{server.account_id}:role/eks",
                                         resourcesVpcConfig={})
    return EksAccessApi(_plugin("fake_aws_base").Context(clients, state_file))


def _assumed_role(moto: moto_server.MotoServer) -> tuple[str, boto3.Session]:
    """(role ARN, a session `fleetyard-test` of a new role assumed by the moto operator user)."""
    name = f"fleetyard-connection-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": moto.operator_user_arn}, "Action": "sts:AssumeRole"}]}
    operator = boto3.Session(aws_access_key_id=moto.access_key_id,
                             aws_secret_access_key=moto.secret_access_key, region_name=moto.region)
    arn = operator.client("iam", endpoint_url=moto.endpoint).create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    creds = operator.client("sts", endpoint_url=moto.endpoint).assume_role(
        RoleArn=arn, RoleSessionName="fleetyard-test")["Credentials"]
    return arn, boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                              aws_secret_access_key=creds["SecretAccessKey"],
                              aws_session_token=creds["SessionToken"], region_name=moto.region)


@pytest.fixture()
def role(moto: moto_server.MotoServer) -> tuple[str, boto3.Session]:
    return _assumed_role(moto)


@pytest.fixture(scope="module")
def admin_role(moto: moto_server.MotoServer, eks_api: EksAccessApi) -> tuple[str, boto3.Session]:
    """A role with the cluster-admin access entry the cluster program gives the Connection role."""
    arn, sess = _assumed_role(moto)
    eks_api.grant(arn, "ClusterAdmin")
    return arn, sess


@pytest.fixture(autouse=True)
def sts_env(moto: moto_server.MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """`eks_token` builds its STS client from the standard settings, as the operator's does."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)


@pytest.fixture()
def person(moto: moto_server.MotoServer) -> people.Person:
    return people.create_person(moto.env(), f"person-{uuid.uuid4().hex[:8]}")


@pytest.fixture()
def namespaces(workload: workload_cluster.WorkloadCluster) -> tuple[str, str]:
    """Two fresh namespaces of the workload cluster with a Pod each."""
    core = kubernetes.client.CoreV1Api(workload.admin_api)
    names = tuple(f"ns-{uuid.uuid4().hex[:6]}" for _ in range(2))
    for name in names:
        core.create_namespace({"metadata": {"name": name}})
        core.create_namespaced_pod(name, _pod("existing"))
    return names  # type: ignore[return-value]


def _pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def _token(sess: boto3.Session, cluster: str = CLUSTER) -> str:
    return eks_token.get_token(sess, cluster, REGION).value


def _client(workload: workload_cluster.WorkloadCluster, token: str) -> kubernetes.client.ApiClient:
    config = kubernetes.client.Configuration(host=workload.endpoint)
    config.ssl_ca_cert = str(workload.ca_file)
    config.api_key = {"authorization": f"Bearer {token}"}
    return kubernetes.client.ApiClient(config)


def _status(workload: workload_cluster.WorkloadCluster, token: str,
            call: collections.abc.Callable[[kubernetes.client.CoreV1Api], object]) -> int:
    """The HTTP status of `call` made with `token` as the bearer."""
    with _client(workload, token) as api:
        try:
            call(kubernetes.client.CoreV1Api(api))
        except kubernetes.client.ApiException as exc:
            return int(exc.status)
    return 200


def _list_nodes_status(workload: workload_cluster.WorkloadCluster, token: str) -> int:
    return _status(workload, token, lambda core: core.list_node())


def _eventually(probe: collections.abc.Callable[[], object], expected: object, timeout: float = REVIEW_WAIT) -> None:
    """Until `probe()` gives `expected`: the apiserver serves a cached review until it expires."""
    deadline = time.monotonic() + timeout
    while (got := probe()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"still {got!r} after {timeout}s, expected {expected!r}")
        time.sleep(0.2)


def _whoami(workload: workload_cluster.WorkloadCluster, token: str) -> Any:
    with _client(workload, token) as api:
        return kubernetes.client.AuthenticationV1Api(api).create_self_subject_review(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).status.user_info


def _with_url(token: str, change: collections.abc.Callable[[str], str]) -> str:
    url = change(eks_token.presigned_url(token))
    return eks_token.PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def test_exposes_what_an_eks_cluster_describes(workload: workload_cluster.WorkloadCluster) -> None:
    assert workload.endpoint.startswith("https://127.0.0.1:")
    assert base64.b64decode(workload.ca_data) == workload.ca_file.read_bytes()
    assert workload.env() == {"FLEETYARD_FAKE_EKS_ENDPOINT": workload.endpoint,
                              "FLEETYARD_FAKE_EKS_CA_DATA": workload.ca_data}
    assert workload.admin.is_file() and workload.admin == workload.admin_kubeconfig


def test_eks_clusters_point_at_it(workload: workload_cluster.WorkloadCluster,
                                  moto: moto_server.MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    eks = boto3.client("eks", endpoint_url=moto.endpoint, region_name=moto.region,
                       aws_access_key_id=moto.access_key_id, aws_secret_access_key=moto.secret_access_key)
    name = f"c-{uuid.uuid4().hex[:6]}"
    eks.create_cluster(name=name, roleArn=f"arn:aws:iam::{moto.account_id}:role/eks", resourcesVpcConfig={})
    cluster = eks.describe_cluster(name=name)["cluster"]
    assert cluster["endpoint"] == workload.endpoint
    assert cluster["certificateAuthority"]["data"] == workload.ca_data

    fake_aws_eks = _plugin("fake_aws_eks")
    moto_said = {"endpoint": "https://x.gr7.us-east-1.eks.amazonaws.com/", "certificateAuthority": {"data": "x"}}
    for name, value in workload.env().items():
        monkeypatch.setenv(name, value)
    assert fake_aws_eks.api_server(moto_said) == (workload.endpoint, workload.ca_data)
    monkeypatch.delenv("FLEETYARD_FAKE_EKS_CA_DATA")
    assert fake_aws_eks.api_server(moto_said) == ("https://x.gr7.us-east-1.eks.amazonaws.com/", "x")


def test_the_connection_role_is_let_in_by_its_access_entry_only(
        workload: workload_cluster.WorkloadCluster, role: tuple[str, boto3.Session], eks_api: EksAccessApi) -> None:
    role_arn, sess = role
    account, role_name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[1]
    token = _token(sess)
    assert _list_nodes_status(workload, token) == 401
    verdict = workload.authenticator.review({"spec": {"token": token}})["status"]
    assert verdict["error"] == f"no access entry for arn:aws:sts::{account}:assumed-role/{role_name}/fleetyard-test " \
                               f"on this cluster"

    eks_api.grant(role_arn, "ClusterAdmin")
    _eventually(lambda: _list_nodes_status(workload, token), 200)
    user = _whoami(workload, token)
    assert user.username == f"arn:aws:sts::{account}:assumed-role/{role_name}/fleetyard-test"
    assert user.groups == ["system:authenticated", "eks-access-policy:AmazonEKSClusterAdminPolicy"]
    assert user.extra["canonicalArn"] == [role_arn] and user.extra["x-k8s-aws-id"] == [CLUSTER]
    kubernetes.client.CoreV1Api(workload.admin_api).create_node({"metadata": {"name": "node-a"}})
    with _client(workload, token) as api:
        assert [n.metadata.name for n in kubernetes.client.CoreV1Api(api).list_node().items] == ["node-a"]

    eks_api.delete_entry(role_arn)
    _eventually(lambda: _list_nodes_status(workload, token), 401)


def _tampered(token: str) -> str:
    def change(url: str) -> str:
        signature = url.rsplit("=", 1)[1]
        return url[:-1] + ("0" if signature[-1] != "0" else "1")
    return _with_url(token, change)


def _expired(sess: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> str:
    then = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=16)
    with monkeypatch.context() as m:
        m.setattr(botocore.auth, "get_current_datetime", lambda: then)
        return _token(sess)


def _without_cluster_header(sess: boto3.Session) -> str:
    url = sess.client("sts", region_name="us-east-1").generate_presigned_url(
        "get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    return eks_token.PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def _other_host(token: str) -> str:
    def change(url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        return parts._replace(netloc=f"localhost:{parts.port}").geturl()
    return _with_url(token, change)


@pytest.mark.parametrize(("case", "reason"), [
    ("tampered signature", "SignatureDoesNotMatch"),
    ("signed 16 minutes ago", "token expired"),
    ("no x-k8s-aws-id", "does not sign the x-k8s-aws-id header"),
    ("another cluster", "SignatureDoesNotMatch"),
    ("another host", "not on the STS endpoint"),
    ("not an EKS token", "does not start with"),
])
def test_bad_tokens_are_unauthorized(workload: workload_cluster.WorkloadCluster,
                                     admin_role: tuple[str, boto3.Session], monkeypatch: pytest.MonkeyPatch,
                                     case: str, reason: str) -> None:
    _, sess = admin_role
    _eventually(lambda: _list_nodes_status(workload, _token(sess)), 200)
    token = {
        "tampered signature": lambda: _tampered(_token(sess)),
        "signed 16 minutes ago": lambda: _expired(sess, monkeypatch),
        "no x-k8s-aws-id": lambda: _without_cluster_header(sess),
        "another cluster": lambda: _token(sess, "not-served-here"),
        "another host": lambda: _other_host(_token(sess)),
        "not an EKS token": lambda: "k8s-aws-v2." + _token(sess)[len(eks_token.PREFIX):],
    }[case]()
    assert _list_nodes_status(workload, token) == 401
    status = workload.authenticator.review({"spec": {"token": token}})["status"]
    assert status["authenticated"] is False
    assert reason in status["error"]


def test_plugin_cluster_names_reads_the_fake_plugin_state(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "fake-aws-state.json"
    names = workload_cluster.plugin_cluster_names(state)
    assert names() == []
    state.write_text(json.dumps({"clusters": {"us-east-1/b": {}, "eu-west-1/a": {}, "us-east-1/a": {}}}))
    assert names() == ["a", "b"]


# -- people: IAM users with their own keys, as `aws eks get-token` signs for them ----------------
def test_a_person_without_an_access_entry_is_refused(workload: workload_cluster.WorkloadCluster,
                                                     person: people.Person, eks_api: EksAccessApi) -> None:
    token = people.eks_token(person.session(), CLUSTER, REGION)
    assert _status(workload, token, lambda core: core.list_namespaced_pod("default")) == 401
    verdict = workload.authenticator.review({"spec": {"token": token}})["status"]
    assert verdict == {"authenticated": False, "error": f"no access entry for {person.arn} on this cluster"}


def test_a_view_entry_lists_pods_and_cannot_create_one(
        workload: workload_cluster.WorkloadCluster, person: people.Person, eks_api: EksAccessApi,
        namespaces: tuple[str, str]) -> None:
    eks_api.grant(person.arn, "View")
    token = people.eks_token(person.session(), CLUSTER, REGION)
    _eventually(lambda: _status(workload, token, lambda core: core.list_namespaced_pod(namespaces[0])), 200)
    with _client(workload, token) as api:
        assert [p.metadata.name for p in kubernetes.client.CoreV1Api(api).list_namespaced_pod(
            namespaces[0]).items] == ["existing"]
    assert _status(workload, token, lambda core: core.create_namespaced_pod(namespaces[0], _pod("mine"))) == 403
    assert _status(workload, token, lambda core: core.list_namespaced_secret(namespaces[0])) == 403
    user = _whoami(workload, token)
    assert (user.username, user.groups) == (person.arn, ["system:authenticated",
                                                         "eks-access-policy:AmazonEKSViewPolicy"])


def test_a_namespace_scoped_entry_cannot_read_another_namespace(
        workload: workload_cluster.WorkloadCluster, person: people.Person, eks_api: EksAccessApi,
        namespaces: tuple[str, str]) -> None:
    mine, other = namespaces
    eks_api.grant(person.arn, "Edit", mine)
    token = people.eks_token(person.session(), CLUSTER, REGION)
    _eventually(lambda: _status(workload, token, lambda core: core.list_namespaced_pod(mine)), 200)
    assert _status(workload, token, lambda core: core.create_namespaced_pod(mine, _pod("mine"))) == 200
    assert _status(workload, token, lambda core: core.list_namespaced_pod(other)) == 403
    assert _status(workload, token, lambda core: core.list_pod_for_all_namespaces()) == 403
    assert _status(workload, token, lambda core: core.create_namespaced_pod(other, _pod("mine"))) == 403


POLICIES = ("View", "Edit", "Admin", "ClusterAdmin")
SSAR_CASES = [  # (verb, group, resource, cluster-wide?): allowed for each of POLICIES
    ("list", "", "pods", False, (True, True, True, True)),
    ("create", "", "pods", False, (False, True, True, True)),
    ("get", "", "secrets", False, (False, True, True, True)),
    ("create", "apps", "deployments", False, (False, True, True, True)),
    ("create", "rbac.authorization.k8s.io", "rolebindings", False, (False, False, True, True)),
    ("list", "", "nodes", True, (False, False, False, True)),
    ("create", "", "namespaces", True, (False, False, False, True)),
]


@pytest.mark.parametrize("policy", POLICIES)
def test_each_access_policy_allows_what_eks_documents(
        workload: workload_cluster.WorkloadCluster, person: people.Person, eks_api: EksAccessApi,
        namespaces: tuple[str, str], policy: str) -> None:
    eks_api.grant(person.arn, policy)
    token = people.eks_token(person.session(), CLUSTER, REGION)
    _eventually(lambda: _status(workload, token, lambda core: core.list_namespaced_pod(namespaces[0])), 200)
    with _client(workload, token) as api:
        authz = kubernetes.client.AuthorizationV1Api(api)
        allowed = [authz.create_self_subject_access_review({"spec": {"resourceAttributes": {
            "verb": verb, "group": group, "resource": resource,
            **({} if cluster_wide else {"namespace": namespaces[0]})}}}).status.allowed
            for verb, group, resource, cluster_wide, _ in SSAR_CASES]
    assert allowed == [expected[POLICIES.index(policy)] for *_, expected in SSAR_CASES]


def test_kubernetes_groups_of_an_entry_are_the_persons_groups(
        workload: workload_cluster.WorkloadCluster, person: people.Person, eks_api: EksAccessApi,
        namespaces: tuple[str, str]) -> None:
    group = f"readers-{uuid.uuid4().hex[:6]}"
    rbac = kubernetes.client.RbacAuthorizationV1Api(workload.admin_api)
    rbac.create_namespaced_role(namespaces[1], {"metadata": {"name": "pod-reader"}, "rules": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]})
    rbac.create_namespaced_role_binding(namespaces[1], {
        "metadata": {"name": "readers"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]})
    eks_api.create_entry(person.arn, [group])
    token = people.eks_token(person.session(), CLUSTER, REGION)
    _eventually(lambda: _status(workload, token, lambda core: core.list_namespaced_pod(namespaces[1])), 200)
    assert _whoami(workload, token).groups == ["system:authenticated", group]
    assert _status(workload, token, lambda core: core.list_namespaced_pod(namespaces[0])) == 403


def test_deleting_the_entry_or_its_policy_revokes_access(
        workload: workload_cluster.WorkloadCluster, person: people.Person, eks_api: EksAccessApi,
        namespaces: tuple[str, str]) -> None:
    eks_api.grant(person.arn, "View", namespaces[0])
    token = people.eks_token(person.session(), CLUSTER, REGION)

    def pods() -> int:
        return _status(workload, token, lambda core: core.list_namespaced_pod(namespaces[0]))
    _eventually(pods, 200)
    eks_api.disassociate(person.arn, "View")
    _eventually(pods, 403)  # still the entry's user, with no access policy
    eks_api.delete_entry(person.arn)
    _eventually(pods, 401)


def test_a_principal_recreated_under_the_same_arn_needs_a_new_entry(
        workload: workload_cluster.WorkloadCluster, moto: moto_server.MotoServer, person: people.Person,
        eks_api: EksAccessApi) -> None:
    eks_api.grant(person.arn, "View")
    people.delete_person(moto.env(), person)
    again = people.create_person(moto.env(), person.name)
    assert again.arn == person.arn and again.user_id != person.user_id
    token = people.eks_token(again.session(), CLUSTER, REGION)
    assert _status(workload, token, lambda core: core.list_namespaced_pod("default")) == 401
    assert "earlier principal" in workload.authenticator.review({"spec": {"token": token}})["status"]["error"]


def test_a_role_the_person_assumes_maps_to_the_roles_entry(
        workload: workload_cluster.WorkloadCluster, moto: moto_server.MotoServer, person: people.Person,
        eks_api: EksAccessApi, namespaces: tuple[str, str]) -> None:
    role_arn = people.create_role_for(moto.env(), person, f"DataViewer-{uuid.uuid4().hex[:6]}")
    eks_api.grant(role_arn, "View", namespaces[0])
    token = people.eks_token(person.assume(role_arn, "alice@example.com"), CLUSTER, REGION)
    _eventually(lambda: _status(workload, token, lambda core: core.list_namespaced_pod(namespaces[0])), 200)
    role_name = role_arn.rsplit("/", 1)[1]
    assert _whoami(workload, token).username == (
        f"arn:aws:sts::{moto.account_id}:assumed-role/{role_name}/alice-example.com")
    own = people.eks_token(person.session(), CLUSTER, REGION)
    assert _status(workload, own, lambda core: core.list_namespaced_pod(namespaces[0])) == 401


@pytest.mark.parametrize(("case", "principal", "inputs", "error"), [
    ("an assumed-role session", "arn:aws:sts::123456789012:assumed-role/x/y", {}, "invalid principal"),
    ("a user that does not exist", "arn:aws:iam::123456789012:user/nobody", {}, "invalid principal"),
    ("a service-linked role",
     "arn:aws:iam::123456789012:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS", {},
     "Service Linked Role"),
    ("a system: group", "{person}", {"kubernetesGroups": ["system:masters"]}, "cannot start with system:"),
])
def test_the_plugin_refuses_access_entries_eks_refuses(eks_api: EksAccessApi, person: people.Person, case: str,
                                                       principal: str, inputs: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=f"InvalidParameterException: .*{error}"):
        eks_api.create_entry(principal.format(person=person.arn), **inputs)
