"""What a user sees when applying manifests: bad input is refused by the apiserver with a message
naming the field, and nothing is stored; ids and authorship are stamped by the webhooks."""

from __future__ import annotations

import kubernetes
import pytest

from fleetyard.models import kinds
from tests import manifests
from tests.conftest import create, get


def _create_status(custom, namespace, kind, spec, name="x") -> kubernetes.client.ApiException:
    with pytest.raises(kubernetes.client.ApiException) as exc:
        create(custom, namespace, kind, {"metadata": {"name": name}, "spec": spec})
    return exc.value


@pytest.mark.parametrize("case", manifests.INVALID, ids=[c[0] for c in manifests.INVALID])
def test_invalid_manifest_is_rejected_naming_the_field(custom, namespace, case) -> None:
    _, kind, path, value, fragment = case
    error = _create_status(custom, namespace, kind, manifests.with_change(manifests.VALID[kind], path, value))
    assert error.status == 422
    assert fragment in error.body
    assert custom.list_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural)["items"] == []


@pytest.mark.parametrize("case", manifests.INVALID_UPDATES, ids=[c[0] for c in manifests.INVALID_UPDATES])
def test_invalid_change_is_rejected_and_the_object_is_unchanged(custom, namespace, case) -> None:
    _, kind, path, old, new, fragment = case
    spec = manifests.with_change(manifests.VALID[kind], path, old)
    if kind is kinds.CONNECTION and path.endswith("accountId"):
        spec = manifests.with_change(spec, "providerConfig.roleArn", f"arn:aws:iam::{old}:role/R")
    before = create(custom, namespace, kind, {"metadata": {"name": "x"}, "spec": spec})["spec"]
    changed = manifests.with_change(spec, path, new)
    with pytest.raises(kubernetes.client.ApiException) as exc:
        custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, "x",
                                              {"spec": changed})
    assert exc.value.status == 422 and fragment in exc.value.body
    assert get(custom, namespace, kind, "x")["spec"] == before


def test_version_upgrade_by_one_minor_is_accepted(custom, namespace) -> None:
    create(custom, namespace, kinds.PROVISIONED_CLUSTER, {"metadata": {"name": "x"}, "spec": manifests.CLUSTER_SPEC})
    custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kinds.PROVISIONED_CLUSTER.plural,
                                          "x", {"spec": {"config": {"kubernetesVersion": "1.36"}}})
    assert get(custom, namespace, kinds.PROVISIONED_CLUSTER, "x")["spec"]["config"]["kubernetesVersion"] == "1.36"


def test_defaults_are_filled_by_the_schema(custom, namespace) -> None:
    spec = manifests.with_change(manifests.CLUSTER_SPEC, "config.systemNodeGroup.diskSizeGb", manifests.DELETE)
    obj = create(custom, namespace, kinds.PROVISIONED_CLUSTER, {"metadata": {"name": "x"}, "spec": spec})
    assert obj["spec"]["desiredState"] == "Provisioned"
    assert obj["spec"]["deletionPolicy"] == "Delete"
    assert obj["spec"]["config"]["systemNodeGroup"]["diskSizeGb"] == 100


def test_webhook_assigns_an_id_and_records_who_created_and_updated(env, custom, namespace) -> None:
    rbac = kubernetes.client.RbacAuthorizationV1Api(env.api)
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "editor"}, "rules": [
        {"apiGroups": [kinds.GROUP], "resources": ["*"], "verbs": ["*"]}]})
    for user in ("alice", "bob"):
        rbac.create_namespaced_role_binding(namespace, {
            "metadata": {"name": user}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                    "name": "editor"},
            "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}]})

    def as_user(user):
        api = kubernetes.config.new_client_from_config(str(env.control_plane.user_kubeconfig(user, ["devs"])))
        return kubernetes.client.CustomObjectsApi(api)

    from tests.conftest import wait_for

    def try_create():
        try:
            return create(as_user("alice"), namespace, kinds.TEAM,
                          {"metadata": {"name": "t", "annotations": {kinds.CREATED_BY_ANNOTATION: "mallory"}},
                           "spec": {"displayName": "Team", "members": ["alice"]}})
        except kubernetes.client.ApiException as exc:
            if exc.status == 403:  # RBAC bindings take a moment to be seen
                return None
            raise

    obj = wait_for(try_create, 10, "alice's RBAC binding")
    team_id = obj["metadata"]["labels"][kinds.ID_LABEL]
    assert len(team_id) == 10 and team_id == team_id.upper() and team_id.isalnum()
    assert obj["metadata"]["annotations"][kinds.CREATED_BY_ANNOTATION] == "alice"
    bob = wait_for(lambda: _patch_or_none(as_user("bob"), namespace, {"spec": {"displayName": "Renamed"}}), 10,
                   "bob's RBAC binding")
    assert bob["metadata"]["annotations"][kinds.CREATED_BY_ANNOTATION] == "alice"
    assert bob["metadata"]["annotations"][kinds.UPDATED_BY_ANNOTATION] == "bob"
    assert wait_for(lambda: get(custom, namespace, kinds.TEAM, "t").get("status", {}).get("id"), 10) == team_id


def _patch_or_none(api, namespace, body):
    try:
        return api.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "teams", "t", body)
    except kubernetes.client.ApiException as exc:
        if exc.status == 403:
            return None
        raise


def test_id_label_cannot_be_changed(custom, namespace) -> None:
    obj = create(custom, namespace, kinds.TEAM, {"metadata": {"name": "t"}, "spec": {"displayName": "T"}})
    with pytest.raises(kubernetes.client.ApiException) as exc:
        custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "teams", "t",
                                              {"metadata": {"labels": {kinds.ID_LABEL: "ZZZZZ99999"}}})
    assert exc.value.status == 422 and "immutable" in exc.value.body
    assert get(custom, namespace, kinds.TEAM, "t")["metadata"]["labels"][kinds.ID_LABEL] == \
        obj["metadata"]["labels"][kinds.ID_LABEL]


def test_duplicate_id_in_a_namespace_is_refused(custom, namespace) -> None:
    obj = create(custom, namespace, kinds.TEAM, {"metadata": {"name": "a"}, "spec": {"displayName": "A"}})
    taken = obj["metadata"]["labels"][kinds.ID_LABEL]
    with pytest.raises(kubernetes.client.ApiException) as exc:
        create(custom, namespace, kinds.TEAM, {"metadata": {"name": "b", "labels": {kinds.ID_LABEL: taken}},
                                               "spec": {"displayName": "B"}})
    error = exc.value
    assert error.status == 422 and "already used" in error.body


def test_cluster_on_a_network_of_another_connection_is_refused(custom, namespace) -> None:
    create(custom, namespace, kinds.NETWORK, {"metadata": {"name": "prod-net"}, "spec": manifests.with_change(
        manifests.NETWORK_SPEC, "connectionRef", {"name": "other"})})
    error = _create_status(custom, namespace, kinds.PROVISIONED_CLUSTER, manifests.CLUSTER_SPEC)
    assert error.status == 422 and "belongs to Connection other" in error.body
