"""Strict input and HTTP manners of the running REST API, with a real token against the real apiserver:
JSON types are not converted, names with control/bidi/zero-width characters and public-access CIDRs
with host bits are refused (and `kubectl` refuses them alike), malformed JSON names the body, a body
of another content type is 415, header values are trimmed, HEAD answers what GET answers, a trailing
slash is not redirected, a starting server's 503 carries `Retry-After`, and a Team named in `access`
must exist. The organization is `inert`: nothing is built."""

from __future__ import annotations

import dataclasses
import http.client
import json
import sys
import urllib.parse

import kubernetes
import pytest

from fleetyard.devenv import chart, processes
from fleetyard.kube import service_accounts
from fleetyard.models import kinds
from tests.conftest import create, get, wait_for
from tests.e2e import inert, rest

pytestmark = pytest.mark.timeout(300)


@dataclasses.dataclass(frozen=True)
class Org:
    namespace: str
    token: str
    connection: str
    network: str
    cluster: str  # a Pending ProvisionedCluster `c0`
    custom: kubernetes.client.CustomObjectsApi

    @property
    def base(self) -> str:
        return f"/infra/connections/{self.connection}/clusters"


@pytest.fixture(scope="module")
def org(env) -> Org:
    custom = kubernetes.client.CustomObjectsApi(env.api)
    namespace = inert.organization(env, custom, kubernetes.client.CoreV1Api(env.api), "input")
    inert.pending_cluster(custom, namespace, "c0")
    rest.team(custom, namespace, "blue")
    return Org(namespace, rest.user(env, namespace, "ops", "fleetyard-editor"),
               rest.seed_id(custom, namespace, kinds.CONNECTION, "prod"),
               rest.seed_id(custom, namespace, kinds.NETWORK, "net"),
               rest.seed_id(custom, namespace, kinds.PROVISIONED_CLUSTER, "c0"), custom)


def _create_body(org: Org, **changes) -> dict:
    body = {"connectionId": org.connection, "networkId": org.network, "name": "Input", "region": "us-east-1",
            "config": {"kubernetesVersion": "1.34", "publicAccessCidrs": ["203.0.113.0/24"],
                       "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large"], "minSize": 1,
                                           "maxSize": 3, "desiredSize": 2, "diskSizeGb": 50}}}
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = body
        for part in parents:
            node = node[part]
        node[last] = value
    return body


# (body changes, the field refused, a fragment of its message): for create; the update cases follow
CREATE_REFUSED = [
    ({"config__systemNodeGroup__desiredSize": "2"}, "config.systemNodeGroup.desiredSize", "not a string"),
    ({"config__systemNodeGroup__minSize": True}, "config.systemNodeGroup.minSize", "not a boolean"),
    ({"config__systemNodeGroup__maxSize": 3.0}, "config.systemNodeGroup.maxSize", "not a number"),
    ({"config__kubernetesVersion": 1.35}, "config.kubernetesVersion", "must be a string, not a number"),
    ({"name": None}, "name", "not null"),
    ({"name": "Prod \u202egnp.exe"}, "name", "bidi"),
    ({"name": "Prod\u200bcluster"}, "name", "zero-width"),
    ({"name": "Prod\ncluster"}, "name", "control"),
    ({"config__publicAccessCidrs": ["203.0.113.0/24", "198.51.100.7/24"]}, "config.publicAccessCidrs[1]",
     "host bits set: 198.51.100.7/24 is the network 198.51.100.0/24"),
    ({"access": {"teams": ["blue", "red"]}}, "access.teams[1]", "no Team red"),
]


@pytest.mark.parametrize("changes,field,fragment", CREATE_REFUSED, ids=[c[1] + str(i) for i, c in
                                                                        enumerate(CREATE_REFUSED)])
def test_create_refuses_what_it_would_have_to_convert(env, org: Org, changes, field, fragment) -> None:
    with rest.client(env, org.token) as api:
        response = api.post(org.base, json=_create_body(org, **changes))
    assert response.status_code == 400, response.text
    fields = response.json()["details"]["fieldErrors"]
    assert list(fields) == [field] and fragment in fields[field], fields


UPDATE_REFUSED = [
    ({"config": {"systemNodeGroup": {"desiredSize": "3"}}}, "config.systemNodeGroup.desiredSize", "not a string"),
    ({"config": {"publicAccessCidrs": ["203.0.113.9/24"]}}, "config.publicAccessCidrs[0]", "host bits"),
    ({"config": {"publicAccessCidrs": None}}, "config.publicAccessCidrs", "leave the field out"),
    ({"name": "\u2066Prod\u2069"}, "name", "bidi"),
    ({"name": 7}, "name", "not a number"),
]


@pytest.mark.parametrize("body,field,fragment", UPDATE_REFUSED, ids=[c[1] + str(i) for i, c in
                                                                     enumerate(UPDATE_REFUSED)])
def test_update_refuses_alike_and_changes_nothing(env, org: Org, body, field, fragment) -> None:
    before = get(org.custom, org.namespace, kinds.PROVISIONED_CLUSTER, "c0")["metadata"]["generation"]
    with rest.client(env, org.token) as api:
        response = api.post(f"{org.base}/{org.cluster}", json=body)
    assert response.status_code == 400, response.text
    fields = response.json()["details"]["fieldErrors"]
    assert list(fields) == [field] and fragment in fields[field], fields
    assert get(org.custom, org.namespace, kinds.PROVISIONED_CLUSTER, "c0")["metadata"]["generation"] == before


def test_kubectl_refuses_host_bits_and_hidden_characters_alike(org: Org) -> None:
    """The same rules at admission (CEL in the CRD), so a manifest cannot store what the API refuses."""
    for field, value, fragment in (("publicAccessCidrs", ["198.51.100.7/24"], "must not have host bits set"),
                                   ("displayName", "Prod \u202egnp.exe", "bidi")):
        spec = {"connectionRef": {"name": "prod"}, "networkRef": {"name": "net"}, "displayName": "K",
                "region": "us-east-1", "desiredState": "Pending", "config": {
                    "kubernetesVersion": "1.34", "systemNodeGroup": {"instanceTypes": ["m7g.large"], "minSize": 1,
                                                                     "maxSize": 2, "desiredSize": 1}}}
        if field == "displayName":
            spec["displayName"] = value
        else:
            spec["config"][field] = value
        with pytest.raises(kubernetes.client.ApiException) as refused:
            create(org.custom, org.namespace, kinds.PROVISIONED_CLUSTER, {"metadata": {"name": "k"}, "spec": spec})
        assert refused.value.status == 422 and fragment in json.loads(refused.value.body)["message"]


def test_a_known_team_passes_the_body_checks(env, org: Org) -> None:
    """(A cluster created with a Team, on an active network: tests/e2e/test_rest_updates.py.)"""
    with rest.client(env, org.token) as api:
        response = api.post(org.base, json=_create_body(org, name="With team", access={"teams": ["blue"]}))
    # the inert network is not active: the create stops at the state check, after the body checks
    assert response.status_code == 409 and "network" in response.json()["message"], response.text


def test_malformed_json_names_the_body(env, org: Org) -> None:
    with rest.client(env, org.token) as api:
        response = api.post(f"{org.base}/{org.cluster}", content=b'{"name": "x" "config": {}}',
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert list(body["details"]["fieldErrors"]) == ["body"]
    assert body["details"]["fieldErrors"]["body"].startswith("is not valid JSON at character 13")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None,
                                          "application/merge-patch+json"])
def test_a_body_of_another_content_type_is_415(env, org: Org, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    with rest.client(env, org.token) as api:
        request = api.build_request("POST", f"{org.base}/{org.cluster}", content=b'{"name": "Renamed"}',
                                    headers=headers)
        if content_type is None:
            request.headers.pop("Content-Type", None)
        response = api.send(request)
        assert response.status_code == 415, response.text
        assert response.json()["code"] == "UnsupportedMediaType"
        fine = api.post(f"{org.base}/{org.cluster}", content=b'{"name": "Renamed"}',
                        headers={"Content-Type": "application/json; charset=utf-8"})
        assert fine.status_code == 202, fine.text


def test_unauthenticated_is_401_before_the_content_type(env, org: Org) -> None:
    with rest.client(env, None) as api:
        response = api.post(f"{org.base}/{org.cluster}", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 401


def _raw_get(env, path: str, headers: list[tuple[str, str]]) -> tuple[int, dict[str, str], bytes]:
    """A GET with header values exactly as given (httpx refuses surrounding whitespace)."""
    url = urllib.parse.urlsplit(env.api_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.putrequest("GET", path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_header_values_are_trimmed(env, org: Org) -> None:
    status, headers, body = _raw_get(env, "/infra/clusters", [
        ("Authorization", f"  Bearer   {org.token}  "), ("X-Fleetyard-Organization", f"  {org.namespace}\t"),
        ("X-Request-Id", "  trimmed-id-1  ")])
    assert status == 200, body
    assert headers["x-request-id"] == "trimmed-id-1"
    assert org.cluster in {i["id"] for i in json.loads(body)["items"]}


@pytest.mark.parametrize("template", ["/infra/clusters", "/infra/clusters/{cluster}", "/me/clusters",
                                      "{base}/{cluster}/health", "/infra/connections/{connection}/instance-types",
                                      "/infra/clusters/NOSUCHID00"])
def test_head_answers_what_get_answers(env, org: Org, template: str) -> None:
    path = template.format(base=org.base, cluster=org.cluster, connection=org.connection)
    with rest.client(env, org.token) as api:
        got, head = api.get(path), api.head(path)
    assert head.status_code == got.status_code and head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == got.headers["content-type"]


def test_a_trailing_slash_is_a_404_naming_the_path_not_a_redirect(env, org: Org) -> None:
    with rest.client(env, org.token) as api:
        for path in ("/infra/clusters/", f"{org.base}/{org.cluster}/"):
            response = api.get(path, follow_redirects=False)
            assert response.status_code == 404 and "location" not in response.headers
            assert f"the resource is at {path.rstrip('/')}" in response.json()["message"]


def test_a_starting_server_answers_503_with_retry_after(env, namespace, tmp_path) -> None:
    """A second `fleetyard api` whose caches cannot load (its ServiceAccount may list nothing) answers
    every request 503, with `Retry-After` beside `retryAfter`."""
    name = "api-without-rbac"
    service_accounts.ensure_service_account(env.api, namespace, name)
    kubeconfig = chart.service_account_kubeconfig(env.api, env.control_plane.server, env.control_plane.ca_file,
                                                  namespace, name, tmp_path / "kubeconfig")
    port = processes.free_port()
    proc = processes.ManagedProcess("api-starting", [sys.executable, "-m", "fleetyard.cli", "api"], tmp_path,
                                    processes.child_env(env.aws_env(), {
                                        "KUBECONFIG": str(kubeconfig), "FLEETYARD_API_HOST": "127.0.0.1",
                                        "FLEETYARD_API_PORT": str(port)}, {}))
    proc.start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url), 60, "the second API to listen")
        import httpx

        response = httpx.get(f"{url}/infra/clusters", headers={"Authorization": "Bearer x"}, timeout=10)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1" and response.json()["details"]["retryAfter"] == 1
        assert response.json()["code"] == "Unavailable" and response.json()["details"]["retryable"] is True
    finally:
        proc.stop()


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 503
    except httpx.HTTPError:
        return False
