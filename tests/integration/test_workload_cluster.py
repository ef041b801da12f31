"""Integration tests of `fleetyard.devenv.workload_cluster`: a kube-apiserver that takes EKS tokens.

One workload cluster and one moto server (IAM access control on) for the module, started as the
Environment starts them: the workload cluster first, moto with its `env()`, so moto's EKS clusters
(and the fake plugin's) report the workload endpoint and CA. A role trusting
the moto operator user is assumed; `fleetyard.cloud.eks_token` makes the token; the workload API
server is called with it as a bearer token, as the operator will call a provisioned cluster. The
caller is the role's ARN, authenticated but authorized for nothing until `grant_cluster_admin`.
Tampered, expired, unsigned-cluster-header, wrong-cluster and wrong-host tokens are 401s; the
authenticator's own verdict names the reason.
"""

from __future__ import annotations

import base64
import collections.abc
import datetime
import importlib
import json
import pathlib
import urllib.parse
import uuid

import boto3
import botocore.auth
import kubernetes
import pytest

from fleetyard.cloud import eks_token
from fleetyard.devenv import moto_server, workload_cluster

pytestmark = pytest.mark.integration

CLUSTER = "workload-demo"


@pytest.fixture(scope="module")
def test_bed(tmp_path_factory: pytest.TempPathFactory,
             ) -> collections.abc.Iterator[tuple[moto_server.MotoServer, workload_cluster.WorkloadCluster]]:
    server = moto_server.MotoServer(tmp_path_factory.mktemp("moto"))
    with workload_cluster.WorkloadCluster(tmp_path_factory.mktemp("workload"), lambda: server.endpoint,
                                          [CLUSTER]) as cluster:
        server.server_env.update(cluster.env())
        with server:
            yield server, cluster


@pytest.fixture(scope="module")
def moto(test_bed: tuple[moto_server.MotoServer, workload_cluster.WorkloadCluster]) -> moto_server.MotoServer:
    return test_bed[0]


@pytest.fixture(scope="module")
def workload(test_bed: tuple[moto_server.MotoServer, workload_cluster.WorkloadCluster],
             ) -> workload_cluster.WorkloadCluster:
    return test_bed[1]


@pytest.fixture(scope="module")
def role(moto: moto_server.MotoServer) -> tuple[str, boto3.Session]:
    """(role ARN, a session of the role assumed by the moto operator user)."""
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
def sts_env(moto: moto_server.MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """`eks_token` builds its STS client from the standard settings, as the operator's does."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)


def _token(sess: boto3.Session, cluster: str = CLUSTER) -> str:
    return eks_token.get_token(sess, cluster, "us-east-1").value


def _client(workload: workload_cluster.WorkloadCluster, token: str) -> kubernetes.client.ApiClient:
    config = kubernetes.client.Configuration(host=workload.endpoint)
    config.ssl_ca_cert = str(workload.ca_file)
    config.api_key = {"authorization": f"Bearer {token}"}
    return kubernetes.client.ApiClient(config)


def _list_nodes_status(workload: workload_cluster.WorkloadCluster, token: str) -> int:
    with _client(workload, token) as api:
        try:
            kubernetes.client.CoreV1Api(api).list_node()
        except kubernetes.client.ApiException as exc:
            return int(exc.status)
    return 200


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

    plugin_dir = pathlib.Path(__file__).resolve().parents[2] / "hack" / "pulumi-aws-plugin"
    monkeypatch.syspath_prepend(str(plugin_dir))
    fake_aws_eks = importlib.import_module("fake_aws_eks")
    moto_said = {"endpoint": "https://x.gr7.us-east-1.eks.amazonaws.com/", "certificateAuthority": {"data": "x"}}
    for name, value in workload.env().items():
        monkeypatch.setenv(name, value)
    assert fake_aws_eks.api_server(moto_said) == (workload.endpoint, workload.ca_data)
    monkeypatch.delenv("FLEETYARD_FAKE_EKS_CA_DATA")
    assert fake_aws_eks.api_server(moto_said) == ("https://x.gr7.us-east-1.eks.amazonaws.com/", "x")


@pytest.mark.usefixtures("sts_env")
def test_assumed_role_token_is_the_role_and_needs_an_access_entry(
        workload: workload_cluster.WorkloadCluster, role: tuple[str, boto3.Session]) -> None:
    role_arn, sess = role
    token = _token(sess)
    with _client(workload, token) as api:
        review = kubernetes.client.AuthenticationV1Api(api).create_self_subject_review(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        user = review.status.user_info
        assert user.username == role_arn
        assert "system:authenticated" in user.groups
        assert user.extra["arn"][0].startswith(f"arn:aws:sts::{role_arn.split(':')[4]}:assumed-role/")
        assert user.extra["x-k8s-aws-id"] == [CLUSTER]

        core = kubernetes.client.CoreV1Api(api)
        with pytest.raises(kubernetes.client.ApiException) as forbidden:
            core.list_node()
        assert forbidden.value.status == 403
        assert f'User "{role_arn}" cannot list resource "nodes"' in json.loads(forbidden.value.body)["message"]

        workload.grant_cluster_admin(role_arn)
        kubernetes.client.CoreV1Api(workload.admin_api).create_node({"metadata": {"name": "node-a"}})
        assert [n.metadata.name for n in core.list_node().items] == ["node-a"]
        assert core.list_namespaced_pod("kube-system").items == []

        workload.revoke_cluster_admin(role_arn)
        with pytest.raises(kubernetes.client.ApiException) as forbidden:
            core.list_node()
        assert forbidden.value.status == 403


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


@pytest.mark.usefixtures("sts_env")
@pytest.mark.parametrize(("case", "reason"), [
    ("tampered signature", "SignatureDoesNotMatch"),
    ("signed 16 minutes ago", "token expired"),
    ("no x-k8s-aws-id", "does not sign the x-k8s-aws-id header"),
    ("another cluster", "SignatureDoesNotMatch"),
    ("another host", "not on the STS endpoint"),
    ("not an EKS token", "does not start with"),
])
def test_bad_tokens_are_unauthorized(workload: workload_cluster.WorkloadCluster,
                                     role: tuple[str, boto3.Session], monkeypatch: pytest.MonkeyPatch,
                                     case: str, reason: str) -> None:
    role_arn, sess = role
    workload.grant_cluster_admin(role_arn)
    assert _list_nodes_status(workload, _token(sess)) == 200
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
