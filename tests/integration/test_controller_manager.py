"""The management cluster of the test bed behaves like a real one because kube-controller-manager runs
in it: a deleted namespace empties and goes away, dependents go with their owner, a ClusterRole
labelled for aggregation shows up in the built-in `view`, and a new namespace gets its `default`
ServiceAccount, whose tokens (legacy token Secrets too) authenticate against the CA published in its
`kube-root-ca.crt`. Approved certificate requests are signed by the control plane's CA.

Uses the session's environment (`env`): the operator runs, so fleetyard objects are admitted as usual.
The garbage collector learns about fleetyard's kinds, installed after it started, at its next
discovery pass (every 30 s), hence the longer waits where a fleetyard object is an owner.
"""

from __future__ import annotations

import base64
import uuid

import kubernetes
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import oid

from fleetyard.models import kinds
from tests.conftest import create, wait_for

pytestmark = pytest.mark.integration

GC_TIMEOUT = 75  # the collector's 30 s discovery pass for a kind it has not seen yet, then its retry


def _gone(read) -> bool:
    try:
        read()
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def _team(custom, namespace: str, name: str) -> dict:
    return create(custom, namespace, kinds.TEAM, {"metadata": {"name": name},
                                                   "spec": {"displayName": name, "members": ["alice"]}})


def _client(env, token: str, ca_file: str) -> kubernetes.client.ApiClient:
    config = kubernetes.client.Configuration(host=env.control_plane.server)
    config.ssl_ca_cert = ca_file
    config.api_key = {"BearerToken": token}
    config.api_key_prefix = {"BearerToken": "Bearer"}
    return kubernetes.client.ApiClient(config)


def _whoami(api: kubernetes.client.ApiClient) -> str:
    review = kubernetes.client.AuthenticationV1Api(api).create_self_subject_review(
        kubernetes.client.V1SelfSubjectReview())
    return str(review.status.user_info.username)


def test_deleted_namespace_goes_away_with_everything_in_it(env, namespace, core, custom) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "settings"}, "data": {"a": "b"}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "ext-id"}, "stringData": {"value": "x"}})
    team = _team(custom, namespace, "platform")
    assert not team["metadata"].get("finalizers")  # nothing but the namespace controller removes it
    core.delete_namespace(namespace)
    assert core.read_namespace(namespace).status.phase == "Terminating"
    wait_for(lambda: _gone(lambda: core.read_namespace(namespace)), 45, f"namespace {namespace} to be deleted")
    with pytest.raises(kubernetes.client.ApiException) as exc:
        custom.get_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kinds.TEAM.plural, "platform")
    assert exc.value.status == 404


def test_secret_owned_by_a_custom_resource_goes_with_it(env, namespace, core, custom) -> None:
    team = _team(custom, namespace, "data")
    meta = team["metadata"]
    owner = {"apiVersion": kinds.API_VERSION, "kind": "Team", "name": meta["name"], "uid": meta["uid"]}
    core.create_namespaced_secret(namespace, {"metadata": {"name": "owned", "ownerReferences": [owner]},
                                              "stringData": {"value": "x"}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "unowned"}, "stringData": {"value": "y"}})
    custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kinds.TEAM.plural, "data")
    wait_for(lambda: _gone(lambda: core.read_namespaced_secret("owned", namespace)), GC_TIMEOUT,
             "the owned Secret to be garbage-collected")
    assert core.read_namespaced_secret("unowned", namespace).metadata.name == "unowned"


def test_dependent_of_a_core_object_goes_with_it(env, namespace, core) -> None:
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "dependent", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}]}})
    core.delete_namespaced_config_map("owner", namespace)
    wait_for(lambda: _gone(lambda: core.read_namespaced_config_map("dependent", namespace)), 20,
             "the dependent ConfigMap to be garbage-collected")


def test_cluster_role_labelled_for_view_is_aggregated(env, namespace) -> None:
    rbac = kubernetes.client.RbacAuthorizationV1Api(env.api)
    group = f"{uuid.uuid4().hex[:8]}.example.com"
    rule = {"apiGroups": [group], "resources": ["widgets"], "verbs": ["get", "list", "watch"]}
    name = f"widgets-view-{group}"
    user = f"viewer-{group}"
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "viewer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})
    auth = kubernetes.client.AuthorizationV1Api(env.api)

    def may_list_widgets() -> bool:
        review = auth.create_subject_access_review({"spec": {"user": user, "resourceAttributes": {
            "namespace": namespace, "verb": "list", "group": group, "resource": "widgets"}}})
        return bool(review.status.allowed)

    def view_rules() -> list[dict]:
        return [r.to_dict() for r in rbac.read_cluster_role("view").rules or []]

    assert not may_list_widgets()
    rbac.create_cluster_role({"metadata": {"name": name, "labels": {
        "rbac.authorization.k8s.io/aggregate-to-view": "true"}}, "rules": [rule]})
    try:
        wait_for(lambda: any(r["api_groups"] == [group] for r in view_rules()), 20,
                 "the rule to be aggregated into view")
        wait_for(may_list_widgets, 10, "the view binding to allow listing widgets")
    finally:
        rbac.delete_cluster_role(name)
    wait_for(lambda: not any(r["api_groups"] == [group] for r in view_rules()), 20,
             "the rule to leave view with its ClusterRole")


@pytest.mark.parametrize("role,allowed,denied", [
    ("view", [("list", "provisionedclusters"), ("watch", "operations")], [("create", "provisionedclusters")]),
    ("edit", [("create", "provisionedclusters"), ("delete", "networks")], [("create", "connections")]),
    ("admin", [("create", "connections"), ("get", "provisionedclusters/kubeconfig")], []),
])
def test_chart_roles_reach_whoever_is_bound_to_the_kubernetes_roles(env, namespace, role, allowed, denied) -> None:
    """The chart labels fleetyard-viewer/-editor/-admin for aggregation into view/edit/admin."""
    user = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    kubernetes.client.RbacAuthorizationV1Api(env.api).create_namespaced_role_binding(namespace, {
        "metadata": {"name": f"{role}-binding"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})
    auth = kubernetes.client.AuthorizationV1Api(env.api)

    def may(verb: str, resource: str) -> bool:
        resource, _, subresource = resource.partition("/")
        review = auth.create_subject_access_review({"spec": {"user": user, "resourceAttributes": {
            "namespace": namespace, "verb": verb, "group": kinds.GROUP, "resource": resource,
            "subresource": subresource}}})
        return bool(review.status.allowed)

    wait_for(lambda: all(may(v, r) for v, r in allowed), 20, f"{role} to allow {allowed}")
    assert [(v, r) for v, r in denied if may(v, r)] == []


def test_built_in_roles_are_aggregated(env) -> None:
    rbac = kubernetes.client.RbacAuthorizationV1Api(env.api)
    for role in ("view", "edit", "admin"):
        rules = rbac.read_cluster_role(role).rules or []
        assert any("pods" in (r.resources or []) for r in rules), role


def test_new_namespace_gets_default_service_account_and_root_ca(env, namespace, core) -> None:
    wait_for(lambda: any(sa.metadata.name == "default" for sa in core.list_namespaced_service_account(namespace).items),
             20, "the default ServiceAccount")
    published = wait_for(lambda: next((c for c in core.list_namespaced_config_map(namespace).items
                                       if c.metadata.name == "kube-root-ca.crt"), None), 20, "kube-root-ca.crt")
    assert published.data["ca.crt"] == env.control_plane.ca_file.read_text()


def test_service_account_tokens_authenticate(env, namespace, core, tmp_path) -> None:
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "robot"}})
    ca = wait_for(lambda: next((c.data["ca.crt"] for c in core.list_namespaced_config_map(namespace).items
                                if c.metadata.name == "kube-root-ca.crt"), None), 20, "kube-root-ca.crt")
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(ca)
    expected = f"system:serviceaccount:{namespace}:robot"

    requested = core.create_namespaced_service_account_token("robot", namespace, {"spec": {"expirationSeconds": 600}})
    with _client(env, requested.status.token, str(ca_file)) as api:
        assert _whoami(api) == expected

    # a legacy token Secret: the token controller fills it (--service-account-private-key-file, --root-ca-file)
    core.create_namespaced_secret(namespace, {
        "metadata": {"name": "robot-token", "annotations": {"kubernetes.io/service-account.name": "robot"}},
        "type": "kubernetes.io/service-account-token"})
    data = wait_for(lambda: (lambda d: d if d and "token" in d else None)(
        core.read_namespaced_secret("robot-token", namespace).data), 20, "the token controller to fill the Secret")
    assert base64.b64decode(data["ca.crt"]).decode() == env.control_plane.ca_file.read_text()
    with _client(env, base64.b64decode(data["token"]).decode(), str(ca_file)) as api:
        assert _whoami(api) == expected


def test_approved_certificate_request_is_signed_by_the_cluster_ca(env, tmp_path) -> None:
    certificates = kubernetes.client.CertificatesV1Api(env.api)
    key = ec.generate_private_key(ec.SECP256R1())
    user = f"csr-user-{uuid.uuid4().hex[:8]}"
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(oid.NameOID.COMMON_NAME, user)]))
               .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    certificates.create_certificate_signing_request({"metadata": {"name": user}, "spec": {
        "request": base64.b64encode(request).decode(), "signerName": "kubernetes.io/kube-apiserver-client",
        "usages": ["client auth"], "expirationSeconds": 600}})
    try:
        csr = certificates.read_certificate_signing_request(user)
        csr.status.conditions = [kubernetes.client.V1CertificateSigningRequestCondition(
            type="Approved", status="True", reason="TestApproved", message="approved by the test")]
        certificates.replace_certificate_signing_request_approval(user, csr)
        issued = wait_for(lambda: certificates.read_certificate_signing_request(user).status.certificate, 20,
                          "the signed certificate")
        cert = x509.load_pem_x509_certificate(base64.b64decode(issued))
        ca = x509.load_pem_x509_certificate(env.control_plane.ca_file.read_bytes())
        cert.verify_directly_issued_by(ca)
        (tmp_path / "user.crt").write_bytes(base64.b64decode(issued))
        (tmp_path / "user.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        config = kubernetes.client.Configuration(host=env.control_plane.server)
        config.ssl_ca_cert = str(env.control_plane.ca_file)
        config.cert_file, config.key_file = str(tmp_path / "user.crt"), str(tmp_path / "user.key")
        with kubernetes.client.ApiClient(config) as api:
            assert _whoami(api) == user
    finally:
        certificates.delete_certificate_signing_request(user)
