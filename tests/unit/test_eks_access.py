"""Who an IAM principal is on a test-bed EKS cluster (`fleetyard.devenv.eks_access`), and the plugin's
EKS checks of access entries (hack/pulumi-aws-plugin/fake_aws_eks_access.py), as EKS documents them."""

from __future__ import annotations

import importlib
import json
import pathlib
import sys
from typing import Any

import pytest

from fleetyard.devenv import eks_access, eks_access_policies

ACCOUNT = "123456789012"
PLUGIN_DIR = pathlib.Path(__file__).resolve().parents[2] / "hack" / "pulumi-aws-plugin"
VIEW = eks_access_policies.arn("AmazonEKSViewPolicy")
EDIT = eks_access_policies.arn("AmazonEKSEditPolicy")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sso/DataViewer"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
ALICE = eks_access.Caller(USER, ACCOUNT, "AIDAALICE", "AKIAALICE")
SESSION = eks_access.Caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/DataViewer/bob@example.com", ACCOUNT,
                            "AROAVIEWER:bob@example.com", "ASIABOB")
NAMESPACES = ("data", "data-raw", "default", "web")


def _plugin(name: str) -> Any:
    if str(PLUGIN_DIR) not in sys.path:
        sys.path.append(str(PLUGIN_DIR))
    return importlib.import_module(name)


def _entry(principal: str, policies: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    kind = principal.split(":")[5].split("/")[0]
    return {"principalArn": principal, "type": "STANDARD", "kubernetesGroups": [],
            "userName": (f"arn:aws:sts::{ACCOUNT}:assumed-role/{principal.rsplit('/', 1)[1]}/{{{{SessionName}}}}"
                         if kind == "role" else principal),
            "policies": policies or {}, **fields}


def _scope(*namespaces: str) -> dict[str, Any]:
    return {"accessScope": {"type": "namespace" if namespaces else "cluster", "namespaces": list(namespaces)}}


def _resolve(entries: dict[str, Any], caller: eks_access.Caller, mode: str = "API") -> eks_access.Access:
    return eks_access.resolve(eks_access.ClusterAccess(mode, entries), caller, lambda: NAMESPACES)


@pytest.mark.parametrize(("case", "entries", "caller", "username", "groups"), [
    ("a user with a view entry", {USER: _entry(USER, {VIEW: _scope()})}, ALICE, USER,
     ("eks-access-policy:AmazonEKSViewPolicy",)),
    ("a session of a role with a path", {ROLE: _entry(ROLE, {VIEW: _scope("data")}, principalId="AROAVIEWER")},
     SESSION, f"arn:aws:sts::{ACCOUNT}:assumed-role/DataViewer/bob-example.com",
     ("eks-access-policy:AmazonEKSViewPolicy:data",)),
    ("a namespace pattern", {USER: _entry(USER, {EDIT: _scope("data*", "web")})}, ALICE, USER,
     ("eks-access-policy:AmazonEKSEditPolicy:data", "eks-access-policy:AmazonEKSEditPolicy:data-raw",
      "eks-access-policy:AmazonEKSEditPolicy:web")),
    ("kubernetesGroups pass through", {USER: _entry(USER, kubernetesGroups=["data-readers"])}, ALICE, USER,
     ("data-readers",)),
    ("a group posing as an access policy is dropped",
     {USER: _entry(USER, kubernetesGroups=["eks-access-policy:AmazonEKSClusterAdminPolicy"])}, ALICE, USER, ()),
    ("a custom username", {ROLE: _entry(ROLE, userName="viewer:{{SessionNameRaw}}@{{AccountID}}")}, SESSION,
     f"viewer:bob@example.com@{ACCOUNT}", ()),
])
def test_resolve(case: str, entries: dict[str, Any], caller: eks_access.Caller, username: str,
                 groups: tuple[str, ...]) -> None:
    access = _resolve(entries, caller)
    assert (access.username, access.groups) == (username, groups)


def test_namespace_scope_needs_role_bindings_in_those_namespaces() -> None:
    access = _resolve({USER: _entry(USER, {VIEW: _scope("data", "gone"), EDIT: _scope("web")})}, ALICE)
    assert access.bindings == (("AmazonEKSEditPolicy", "web"), ("AmazonEKSViewPolicy", "data"))


@pytest.mark.parametrize(("case", "entries", "caller", "mode", "reason"), [
    ("no entry", {ROLE: _entry(ROLE)}, ALICE, "API", f"no access entry for {USER}"),
    ("another account's role of that name", {"arn:aws:iam::210987654321:role/DataViewer":
                                             _entry("arn:aws:iam::210987654321:role/DataViewer")},
     SESSION, "API", "no access entry"),
    ("a user entry does not cover a role", {USER: _entry(USER)}, SESSION, "API", "no access entry"),
    ("the principal was re-created", {USER: _entry(USER, principalId="AIDAEARLIER")}, ALICE, "API",
     "earlier principal"),
    ("a node entry", {ROLE: _entry(ROLE, type="EC2_LINUX")}, SESSION, "API", "EC2_LINUX is not emulated"),
    ("aws-auth only", {USER: _entry(USER)}, ALICE, "CONFIG_MAP", "aws-auth ConfigMap is not emulated"),
])
def test_refused(case: str, entries: dict[str, Any], caller: eks_access.Caller, mode: str, reason: str) -> None:
    with pytest.raises(eks_access.NoAccess, match=reason):
        _resolve(entries, caller, mode)


def test_plugin_clusters_reads_the_state_file_per_region(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state.json"
    lookup = eks_access.plugin_clusters(state)
    assert lookup("demo", "us-east-1") is None
    entries = {USER: _entry(USER)}
    state.write_text(json.dumps({"clusters": {
        "us-east-1/demo": {"accessConfig": {"authenticationMode": "API"}, "accessEntries": entries},
        "eu-west-1/demo": {"accessConfig": {"authenticationMode": "CONFIG_MAP"}},
        "eu-west-1/solo": {}}}))
    assert lookup("demo", "us-east-1") == eks_access.ClusterAccess("API", entries)
    assert lookup("demo", "eu-west-1").authentication_mode == "CONFIG_MAP"  # type: ignore[union-attr]
    assert lookup("demo", "ap-south-1") is None  # two clusters of that name, neither in the token's region
    assert lookup("solo", "us-east-1") == eks_access.ClusterAccess("API_AND_CONFIG_MAP", {})


def test_the_plugin_accepts_exactly_the_policies_the_workload_cluster_has_rules_for() -> None:
    assert _plugin("fake_aws_eks_access").ACCESS_POLICIES == set(eks_access_policies.RULES)


def test_policy_rules_follow_the_eks_tables() -> None:
    def allows(policy: str, group: str, resource: str, verb: str) -> bool:
        return any(group in r.get("apiGroups", []) or "*" in r.get("apiGroups", [])
                   for r in eks_access_policies.RULES[policy]
                   if (resource in r.get("resources", []) or "*" in r.get("resources", []))
                   and (verb in r["verbs"] or "*" in r["verbs"]))
    table = [  # (group, resource, verb): view, edit, admin, cluster-admin
        (("", "pods", "list"), (True, True, True, True)),
        (("", "pods", "create"), (False, True, True, True)),
        (("", "secrets", "get"), (False, True, True, True)),
        (("apps", "deployments", "create"), (False, True, True, True)),
        (("rbac.authorization.k8s.io", "rolebindings", "create"), (False, False, True, True)),
        (("", "nodes", "list"), (False, False, False, True)),
        (("", "namespaces", "create"), (False, False, False, True)),
    ]
    policies = ("AmazonEKSViewPolicy", "AmazonEKSEditPolicy", "AmazonEKSAdminPolicy", "AmazonEKSClusterAdminPolicy")
    for action, expected in table:
        assert tuple(allows(p, *action) for p in policies) == expected, action


@pytest.mark.parametrize(("entry_type", "groups", "user", "error"), [
    ("STANDARD", ["data-readers"], None, None),
    ("STANDARD", ["system:masters"], None, "kubernetes group name system:masters is invalid"),
    ("STANDARD", [], "system:admin", "must not begin with system:"),
    ("STANDARD", [], "eks:me", "must not begin with eks:"),
    ("STANDARD", [], "john{{SessionName}}", "colon before"),
    ("STANDARD", [], "jo:hn{{SessionName}}", None),
    ("EC2_LINUX", ["nodes"], None, "can only be set for access entries of type STANDARD"),
    ("ADMIN", [], None, "type ADMIN is invalid"),
])
def test_plugin_checks_access_entries_as_eks(entry_type: str, groups: list[str], user: str | None,
                                             error: str | None) -> None:
    check = _plugin("fake_aws_eks_access").check_identity
    if error is None:
        check(entry_type, groups, user)
    else:
        with pytest.raises(ValueError, match="InvalidParameterException: .*" + error.replace("{", r"\{")):
            check(entry_type, groups, user)
