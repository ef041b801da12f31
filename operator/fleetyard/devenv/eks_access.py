"""Who a token's IAM principal is on an EKS cluster, from the cluster's access entries, as EKS decides.

Called by `fleetyard.devenv.workload_cluster` from the token webhook (`eks_authenticator`) once
STS has said who signed the token. The access entries are what the fake `aws` Pulumi plugin
recorded in its state file (`plugin_clusters`; written by hack/pulumi-aws-plugin/
fake_aws_eks_access.py). The rules, from the EKS User Guide ("Create access entries",
"Associate access policies"):

- the cluster's authentication mode must allow access entries (`API` or `API_AND_CONFIG_MAP`); the
  aws-auth ConfigMap is not emulated, so a `CONFIG_MAP` cluster lets nobody in;
- an IAM user is found by its ARN, an assumed-role session (`arn:aws:sts::A:assumed-role/R/S`) by
  its role: the entry of role `R` of account `A`, whatever the role's path (an assumed-role ARN
  has none). No entry: refused, which the apiserver answers 401 Unauthorized as EKS does;
- the principal's unique id recorded with the entry (RoleId / UserId) must be the caller's, so a
  principal deleted and re-created under the same ARN is refused until its entry is re-created;
- only `STANDARD` entries are emulated (node entry types are refused);
- the username is the entry's (default: the user ARN, or `arn:aws:sts::A:assumed-role/R/{{SessionName}}`)
  with `{{SessionName}}` (`@` made `-`), `{{SessionNameRaw}}`, `{{AccountID}}` and
  `{{AccessKeyID}}` filled in;
- the groups are `system:authenticated`, the entry's `kubernetesGroups`, and per associated access
  policy `policy_group(name)` (cluster scope) or `policy_group(name, ns)` for each namespace of a
  namespace scope that exists (a pattern such as `dev-*` is matched against the namespaces that
  exist at the review). The workload cluster binds those groups to ClusterRoles with the
  policy's rules (`eks_access_policies`): a ClusterRoleBinding per policy, a RoleBinding per
  policy and namespace.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import pathlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fleetyard.devenv import eks_access_policies

GROUP_PREFIX = "eks-access-policy:"
MODES_WITH_ENTRIES = ("API", "API_AND_CONFIG_MAP")
STANDARD = "STANDARD"


class NoAccess(Exception):
    """The principal may not use the cluster; the message says why (the TokenReview's error)."""


@dataclasses.dataclass(frozen=True)
class Caller:
    """What STS's GetCallerIdentity said about a token's signer."""

    arn: str
    account: str
    user_id: str
    access_key_id: str = ""


@dataclasses.dataclass(frozen=True)
class Access:
    """The Kubernetes identity an access entry gives, and the RoleBindings its groups need."""

    username: str
    groups: tuple[str, ...]
    bindings: tuple[tuple[str, str], ...] = ()  # (policy name, namespace) RoleBindings it needs


@dataclasses.dataclass(frozen=True)
class ClusterAccess:
    """One cluster's access configuration as the plugin recorded it."""

    authentication_mode: str
    entries: Mapping[str, Mapping[str, Any]]


def policy_group(policy: str, namespace: str | None = None) -> str:
    """The group standing for access policy `policy`, cluster-wide or in `namespace`."""
    return f"{GROUP_PREFIX}{policy}" + (f":{namespace}" if namespace else "")


def _principal(arn: str) -> tuple[str, str, str]:
    """(account, "role"|"user", name without path) of an IAM principal ARN; ("", "", "") otherwise."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam":
        return "", "", ""
    kind, _, path = parts[5].partition("/")
    return parts[4], kind, path.rsplit("/", 1)[-1]


def _session(caller: Caller) -> tuple[str, str] | None:
    """(role name, session name) of an assumed-role caller, else None."""
    parts = caller.arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role, _, session = parts[5].removeprefix("assumed-role/").partition("/")
        return role, session
    return None


def find_entry(entries: Mapping[str, Mapping[str, Any]], caller: Caller) -> tuple[str, Mapping[str, Any]]:
    """(principal ARN, entry) of the access entry `caller` falls under; NoAccess if none."""
    session = _session(caller)
    for principal, entry in entries.items():
        account, kind, name = _principal(principal)
        if session is None and kind == "user" and principal == caller.arn:
            return principal, entry
        if session is not None and kind == "role" and account == caller.account and name == session[0]:
            return principal, entry
    raise NoAccess(f"no access entry for {caller.arn} on this cluster")


def username(template: str, caller: Caller) -> str:
    session = _session(caller)
    raw = session[1] if session else ""
    return (template.replace("{{SessionNameRaw}}", raw).replace("{{SessionName}}", raw.replace("@", "-"))
            .replace("{{AccountID}}", caller.account).replace("{{AccessKeyID}}", caller.access_key_id))


def _default_username(principal: str, caller: Caller) -> str:
    account, kind, name = _principal(principal)
    return f"arn:aws:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}" if kind == "role" else principal


def _scoped_groups(policies: Mapping[str, Any],
                   namespaces: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    groups: list[str] = []
    bindings: list[tuple[str, str]] = []
    existing = sorted(set(namespaces))
    for policy_arn, association in sorted(policies.items()):
        name = eks_access_policies.name_of(policy_arn)
        if name is None:
            continue
        scope = (association or {}).get("accessScope") or {}
        if scope.get("type", "cluster") == "cluster":
            groups.append(policy_group(name))
            continue
        patterns = [str(p) for p in scope.get("namespaces") or []]
        for namespace in existing:
            if any(fnmatch.fnmatchcase(namespace, p) for p in patterns):
                groups.append(policy_group(name, namespace))
                bindings.append((name, namespace))
    return groups, bindings


def resolve(cluster: ClusterAccess | None, caller: Caller, namespaces: Callable[[], Iterable[str]]) -> Access:
    """The Kubernetes identity of `caller` on `cluster` (None: a cluster the plugin recorded nothing
    for, so without entries); `namespaces` lists the cluster's namespaces (read only for
    namespace-scoped associations)."""
    cluster = cluster or ClusterAccess("API", {})
    if cluster.authentication_mode not in MODES_WITH_ENTRIES:
        raise NoAccess(f"the cluster's authentication mode is {cluster.authentication_mode}: the "
                       f"aws-auth ConfigMap is not emulated")
    principal, entry = find_entry(cluster.entries, caller)
    recorded = str(entry.get("principalId") or "")
    if recorded and recorded != caller.user_id.split(":", 1)[0]:
        raise NoAccess(f"the access entry for {principal} belongs to an earlier principal of that ARN "
                       f"(id {recorded}); re-create the entry")
    if (entry.get("type") or STANDARD) != STANDARD:
        raise NoAccess(f"access entry type {entry.get('type')} is not emulated")
    policies = entry.get("policies") or {}
    needs_namespaces = any(((a or {}).get("accessScope") or {}).get("type") == "namespace"
                           for a in policies.values())
    groups, bindings = _scoped_groups(policies, namespaces() if needs_namespaces else ())
    own = [str(g) for g in entry.get("kubernetesGroups") or [] if not str(g).startswith(GROUP_PREFIX)]
    template = str(entry.get("userName") or _default_username(principal, caller))
    return Access(username(template, caller), (*own, *groups), tuple(bindings))


def plugin_clusters(state_file: pathlib.Path) -> Callable[[str, str], ClusterAccess | None]:
    """(cluster name, region) -> its ClusterAccess from the fake plugin's state file, read at each
    call; None if the plugin knows no such cluster. A name in several regions is taken from
    `region` (the token's signing region)."""
    def lookup(cluster: str, region: str) -> ClusterAccess | None:
        try:
            clusters = json.loads(pathlib.Path(state_file).read_text()).get("clusters") or {}
        except (OSError, ValueError, AttributeError):
            return None
        found = {key.partition("/")[0]: entry for key, entry in clusters.items()
                 if key.partition("/")[2] == cluster and isinstance(entry, dict)}
        entry = found.get(region) or (next(iter(found.values())) if len(found) == 1 else None)
        if entry is None:
            return None
        mode = str((entry.get("accessConfig") or {}).get("authenticationMode") or "API_AND_CONFIG_MAP")
        return ClusterAccess(mode, dict(entry.get("accessEntries") or {}))
    return lookup
