"""fleetyard's RBAC (the chart's roles, `charts/fleetyard/templates/rbac-*.yaml`) and ServiceAccount tokens against a real kube-apiserver.

The story of one organization: a platform engineer binds a viewer, an editor and an admin (and
leaves one ServiceAccount unbound); each gets a TokenRequest token. The REST API server, running as
the `fleetyard-api` ServiceAccount, authenticates those tokens with TokenReview, asks
SubjectAccessReviews with the user it learned, and acts as a caller through impersonation. Only a
control plane is needed (no moto, no operator): one serves the module.
"""

from __future__ import annotations

import collections.abc
import time
import urllib.parse
import uuid

import kubernetes
import pytest

from fleetyard.devenv import controlplane, environment
from fleetyard.kube import apply as kube_apply
from fleetyard.kube import service_accounts

pytestmark = pytest.mark.integration

ROLES = {"viewer": "fleetyard-viewer", "editor": "fleetyard-editor", "admin": "fleetyard-admin"}
API_NAMESPACE, API_ACCOUNT = "fleetyard-system", "fleetyard-api"


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> collections.abc.Iterator[controlplane.ControlPlane]:
    with controlplane.ControlPlane(tmp_path_factory.mktemp("rbac")) as cp:
        yield cp


@pytest.fixture(scope="module")
def admin(plane: controlplane.ControlPlane) -> kubernetes.client.ApiClient:
    api = kubernetes.config.new_client_from_config(config_file=str(plane.kubeconfig))
    kube_apply.apply(api, environment.rbac_docs())
    return api


def _client(plane: controlplane.ControlPlane, token: str,
            impersonate: kubernetes.client.V1UserInfo | None = None) -> kubernetes.client.ApiClient:
    """A client presenting `token`; with `impersonate`, acting as that user (as the API server does)."""
    config = kubernetes.client.Configuration()
    config.host = plane.server
    config.ssl_ca_cert = str(plane.ca_file)
    config.api_key = {"BearerToken": token}
    config.api_key_prefix = {"BearerToken": "Bearer"}
    api = kubernetes.client.ApiClient(config)
    if impersonate is not None:
        api.set_default_header("Impersonate-User", impersonate.username)
        api.set_default_header("Impersonate-Uid", impersonate.uid)
        # one header per name in this client: the first group and the first value of each extra
        api.set_default_header("Impersonate-Group", impersonate.groups[0])
        for key, values in (impersonate.extra or {}).items():
            api.set_default_header(f"Impersonate-Extra-{urllib.parse.quote(key, safe='')}", values[0])
    return api


def _eventually(probe: collections.abc.Callable[[], bool], what: str, timeout: float = 10) -> None:
    """RBAC reads bindings from an informer: a fresh binding takes effect within moments."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} after {timeout}s")
        time.sleep(0.1)


def _review(api: kubernetes.client.ApiClient, token: str,
            audiences: list[str] | None = None) -> kubernetes.client.V1TokenReviewStatus:
    body = kubernetes.client.V1TokenReview(spec=kubernetes.client.V1TokenReviewSpec(token=token, audiences=audiences))
    return kubernetes.client.AuthenticationV1Api(api).create_token_review(body).status


def _may(api: kubernetes.client.ApiClient, user: kubernetes.client.V1UserInfo, verb: str, resource: str,
         namespace: str, group: str = "fleetyard.io") -> bool:
    """What the API server asks before acting for `user` (a TokenReview's userInfo)."""
    review = kubernetes.client.V1SubjectAccessReview(spec=kubernetes.client.V1SubjectAccessReviewSpec(
        user=user.username, groups=user.groups, uid=user.uid, extra=user.extra,
        resource_attributes=kubernetes.client.V1ResourceAttributes(
            namespace=namespace, verb=verb, group=group, resource=resource.partition("/")[0],
            subresource=resource.partition("/")[2] or None)))
    return bool(kubernetes.client.AuthorizationV1Api(api).create_subject_access_review(review).status.allowed)


def _whoami(api: kubernetes.client.ApiClient) -> kubernetes.client.V1UserInfo:
    review = kubernetes.client.AuthenticationV1Api(api).create_self_subject_review(
        kubernetes.client.V1SelfSubjectReview())
    return review.status.user_info


@pytest.fixture(scope="module")
def api_server(plane: controlplane.ControlPlane, admin: kubernetes.client.ApiClient) -> kubernetes.client.ApiClient:
    """A client with the identity of the REST API server (the `fleetyard-api` ServiceAccount)."""
    api = _client(plane, service_accounts.token(admin, API_NAMESPACE, API_ACCOUNT, 600))

    def reviews() -> bool:
        try:
            return _review(api, "not-a-token").authenticated is not True
        except kubernetes.client.ApiException as exc:
            if exc.status != 403:
                raise
            return False
    _eventually(reviews, "allowed to create TokenReviews")
    return api


@pytest.fixture(scope="module")
def org(admin: kubernetes.client.ApiClient, api_server: kubernetes.client.ApiClient,
        ) -> dict[str, kubernetes.client.V1UserInfo | str]:
    """A namespace with ServiceAccounts viewer/editor/admin bound to the roles and `nobody` unbound;
    maps each to the user its token authenticates as (and "namespace" to the namespace)."""
    namespace = f"org-{uuid.uuid4().hex[:6]}"
    kube_apply.ensure_namespace(admin, namespace)
    users: dict[str, kubernetes.client.V1UserInfo | str] = {"namespace": namespace}
    for name in (*ROLES, "nobody"):
        service_accounts.ensure_service_account(admin, namespace, name)
        if name in ROLES:
            service_accounts.bind(admin, namespace, ROLES[name], namespace, name)
        users[name] = _review(api_server, service_accounts.token(admin, namespace, name)).user
    for name in ROLES:
        _eventually(lambda: _may(api_server, users[name], "list", "provisionedclusters", namespace),
                    f"{name}'s binding in effect")
    return users


def test_a_minted_token_authenticates_as_its_service_account(
        admin: kubernetes.client.ApiClient, api_server: kubernetes.client.ApiClient, org: dict) -> None:
    namespace = org["namespace"]
    token = service_accounts.token(admin, namespace, "viewer", seconds=600)

    status = _review(api_server, token)

    assert status.authenticated
    assert status.user.username == f"system:serviceaccount:{namespace}:viewer"
    assert service_accounts.parse_username(status.user.username) == (namespace, "viewer")
    assert f"system:serviceaccounts:{namespace}" in status.user.groups
    assert _review(api_server, token[:-4] + "AAAA").authenticated is not True


def test_a_token_for_an_audience_is_accepted_only_for_it(
        admin: kubernetes.client.ApiClient, api_server: kubernetes.client.ApiClient, org: dict) -> None:
    token = service_accounts.token(admin, org["namespace"], "viewer", seconds=600, audiences=["fleetyard"])

    assert _review(api_server, token, audiences=["fleetyard"]).authenticated
    assert _review(api_server, token).authenticated is not True


@pytest.mark.parametrize(("who", "verb", "resource", "group", "allowed"), [
    ("viewer", "list", "provisionedclusters", "fleetyard.io", True),
    ("viewer", "watch", "operations", "fleetyard.io", True),
    ("viewer", "create", "provisionedclusters", "fleetyard.io", False),
    ("viewer", "get", "secrets", "", False),
    ("editor", "create", "provisionedclusters", "fleetyard.io", True),
    ("editor", "delete", "teams", "fleetyard.io", True),
    ("editor", "create", "connections", "fleetyard.io", False),
    ("editor", "get", "secrets", "", False),
    ("admin", "create", "connections", "fleetyard.io", True),
    # the external-id Secret a Connection names: written, never read back; no role reads Secrets
    ("admin", "create", "secrets", "", True),
    ("admin", "patch", "secrets", "", True),
    ("admin", "get", "secrets", "", False),
    ("admin", "list", "secrets", "", False),
    # a cluster's kubeconfig through the REST API (a permission only the API asks about)
    ("admin", "get", "provisionedclusters/kubeconfig", "fleetyard.io", True),
    ("editor", "get", "provisionedclusters/kubeconfig", "fleetyard.io", False),
    ("viewer", "get", "provisionedclusters/kubeconfig", "fleetyard.io", False),
    ("admin", "update", "operations", "fleetyard.io", False),
    ("nobody", "list", "provisionedclusters", "fleetyard.io", False),
])
def test_what_each_role_may_do_in_its_organization(api_server: kubernetes.client.ApiClient, org: dict, who: str,
                                                   verb: str, resource: str, group: str, allowed: bool) -> None:
    assert _may(api_server, org[who], verb, resource, org["namespace"], group) is allowed


def test_a_binding_grants_nothing_in_another_organization(
        admin: kubernetes.client.ApiClient, api_server: kubernetes.client.ApiClient, org: dict) -> None:
    other = f"org-{uuid.uuid4().hex[:6]}"
    kube_apply.ensure_namespace(admin, other)

    assert not _may(api_server, org["admin"], "list", "provisionedclusters", other)


def test_the_api_server_acts_as_the_caller(plane: controlplane.ControlPlane, admin: kubernetes.client.ApiClient,
                                           org: dict) -> None:
    viewer = org["viewer"]
    assert viewer.extra, "a ServiceAccount token's review carries extras (its credential id)"
    as_viewer = _client(plane, service_accounts.token(admin, API_NAMESPACE, API_ACCOUNT, 600), impersonate=viewer)

    seen = _whoami(as_viewer)

    assert (seen.username, seen.uid, seen.extra) == (viewer.username, viewer.uid, viewer.extra)
    assert viewer.groups[0] in seen.groups
    with pytest.raises(kubernetes.client.ApiException) as denied:  # as the viewer, not as itself
        kubernetes.client.CoreV1Api(as_viewer).read_namespaced_secret("any", org["namespace"])
    assert denied.value.status == 403


def test_the_api_server_reads_everything_but_writes_only_as_a_caller(
        api_server: kubernetes.client.ApiClient, org: dict) -> None:
    identity = _whoami(api_server)
    namespace = org["namespace"]

    assert identity.username == service_accounts.username(API_NAMESPACE, API_ACCOUNT)
    for resource in ("connections", "networks", "provisionedclusters", "clusters", "teams", "operations"):
        assert _may(api_server, identity, "watch", resource, "")
        assert not _may(api_server, identity, "create", resource, namespace)
    assert _may(api_server, identity, "get", "secrets", namespace, "")


def test_binding_and_creating_twice_change_nothing(admin: kubernetes.client.ApiClient, org: dict) -> None:
    namespace = org["namespace"]

    service_accounts.ensure_service_account(admin, namespace, "viewer")
    name = service_accounts.bind(admin, namespace, ROLES["viewer"], namespace, "viewer")
    again = service_accounts.bind(admin, namespace, ROLES["viewer"], namespace, "viewer")

    assert name == again
    bindings = kubernetes.client.RbacAuthorizationV1Api(admin).list_namespaced_role_binding(namespace).items
    viewer_bindings = [b for b in bindings if any(s.name == "viewer" for s in b.subjects or [])]
    assert [b.metadata.name for b in viewer_bindings] == [name]
