"""EKS Addon, AccessEntry and AccessPolicyAssociation of the fake `aws` plugin.

moto 5.2 has none of these APIs, so they live only in the plugin's state file (`fake_aws_state`),
under their cluster's entry; the cluster itself must exist in moto (checked on create and read,
as EKS does), and deleting the cluster drops them. EKS rules kept: an addon or access entry exists
once per cluster (ResourceInUseException), access entries need authentication mode API or
API_AND_CONFIG_MAP, a policy association needs its access entry, and deleting an access entry
removes its associations. An addon without `addonVersion` gets a plausible default version.

Access entries are checked as EKS checks them (InvalidParameterException, EKS's messages where
known): the principal is an IAM role or user ARN (not an assumed-role session), not a
service-linked role, and, in the cluster's account, exists in IAM with exactly that ARN; its
unique id (RoleId / UserId) is recorded as `principalId`, as EKS keeps it, so the test bed's
authenticator (`fleetyard.devenv.eks_access`) refuses a principal re-created under the same ARN.
The type is one of EKS's; only `STANDARD` takes `kubernetesGroups`, a `userName` and access
policies, and a non-STANDARD principal must be in the cluster's account. No group may start with
`system:`, no username with `system:`, `eks:`, `aws:`, `amazon:` or `iam:`, and a username with
`{{SessionName}}` needs a colon before it. A policy association names one of `ACCESS_POLICIES`
(the AWS-managed policies the authenticator has rules for) with scope `cluster` (no namespaces)
or `namespace` (at least one; `*` wildcards allowed, as EKS allows). Not checked: that the caller
may pass the role of a node entry (iam:PassRole), tags' limits.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Mapping
from typing import Any

from fake_aws_base import Context, Handler, error_code
from fake_aws_eks import (
    cluster_item,
    cluster_version,
    drop_cluster_item,
    edit_cluster_entry,
    edit_cluster_item,
    live_cluster,
)

DEFAULT_ADDON_VERSIONS = {
    "vpc-cni": "v1.19.2-eksbuild.1",
    "coredns": "v1.11.4-eksbuild.2",
    "aws-ebs-csi-driver": "v1.38.1-eksbuild.1",
    "eks-pod-identity-agent": "v1.3.4-eksbuild.1",
    "aws-efs-csi-driver": "v2.1.4-eksbuild.1",
    "snapshot-controller": "v8.1.0-eksbuild.2",
}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _account(cluster: Mapping[str, Any]) -> str:
    return str(cluster["arn"]).split(":")[4]


def default_addon_version(addon: str, kubernetes_version: str) -> str:
    if addon == "kube-proxy":
        return f"v{kubernetes_version}.0-eksbuild.1"
    return DEFAULT_ADDON_VERSIONS.get(addon, "v1.0.0-eksbuild.1")


class Addon(Handler):
    token = "aws:eks/addon:Addon"
    inputs = frozenset({"region", "clusterName", "addonName", "addonVersion", "configurationValues",
                        "resolveConflictsOnCreate", "resolveConflictsOnUpdate", "serviceAccountRoleArn",
                        "preserve", "tags", "podIdentityAssociations"})
    computed_inputs = frozenset({"region", "addonVersion", "configurationValues"})
    replace_on = frozenset({"region", "clusterName", "addonName"})
    required = ("clusterName", "addonName")
    computed = ("id", "arn", "addonVersion", "createdAt", "modifiedAt", "configurationValues")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        cluster = live_cluster(ctx, inputs)
        name = str(inputs["addonName"])
        version = inputs.get("addonVersion") or default_addon_version(
            name, cluster_version(ctx, inputs, cluster))
        with edit_cluster_entry(ctx, inputs, cluster) as entry:
            addons = entry.setdefault("addons", {})
            if name in addons:
                raise ValueError(f"ResourceInUseException: Addon already exists: {name}")
            addons[name] = {
                "addonName": name,
                "addonVersion": version,
                "arn": f"arn:aws:eks:{ctx.region_of(inputs)}:{_account(cluster)}:addon/"
                       f"{cluster['name']}/{name}/{uuid.uuid4()}",
                "createdAt": _now(),
                "modifiedAt": _now(),
                "configurationValues": inputs.get("configurationValues") or "",
                "serviceAccountRoleArn": inputs.get("serviceAccountRoleArn") or "",
                "tags": ctx.tags_all(inputs.get("tags")),
            }
        rid = f"{cluster['name']}:{name}"
        return rid, self.read_back(ctx, rid, inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        cluster_name, _, name = rid.partition(":")
        addon = cluster_item(ctx, state, cluster_name, "addons", name)
        if addon is None:
            return None
        return self.finish(ctx, {**state, "clusterName": cluster_name, "addonName": name}, {
            "id": rid,
            **{k: addon[k] for k in ("arn", "addonVersion", "createdAt", "modifiedAt",
                                     "configurationValues", "serviceAccountRoleArn")},
            "tagsAll": addon.get("tags") or {},
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        name = str(news["addonName"])
        with edit_cluster_item(ctx, news, "addons", name,
                               f"ResourceNotFoundException: No addon: {name} found in cluster") as addon:
            for key in ("addonVersion", "configurationValues", "serviceAccountRoleArn"):
                if news.get(key) is not None:
                    addon[key] = news[key]
            addon["tags"] = ctx.tags_all(news.get("tags"))
            addon["modifiedAt"] = _now()
        return self.read_back(ctx, rid, news)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        cluster_name, _, name = rid.partition(":")
        drop_cluster_item(ctx, state, cluster_name, "addons", name)


POLICY_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
ACCESS_POLICIES = frozenset({
    "AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy",
    "AmazonEKSAdminViewPolicy", "AmazonEKSSecretReaderPolicy"})
STANDARD = "STANDARD"
NODE_USERNAMES = {
    "EC2_LINUX": "system:node:{{EC2PrivateDNSName}}",
    "EC2_WINDOWS": "system:node:{{EC2PrivateDNSName}}",
    "EC2": "system:node:{{EC2PrivateDNSName}}",
    "FARGATE_LINUX": "system:node:{{SessionName}}",
    "HYBRID_LINUX": "system:node:{{SessionName}}",
}
RESERVED_USERNAME_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")
_PRINCIPAL = re.compile(r"arn:aws:iam::\d{12}:(role|user)/[\w+=,.@/-]+")
_INVALID_PRINCIPAL = "InvalidParameterException: The specified principalArn is invalid: invalid principal"


def _principal_path(principal: str) -> tuple[str, str]:
    """(role|user, name) of an IAM principal ARN."""
    resource = principal.split(":", 5)[-1]
    kind, _, name = resource.partition("/")
    return kind, name.rsplit("/", 1)[-1]


def check_identity(entry_type: str, groups: list[str], user: str | None) -> None:
    """EKS's rules for an access entry's type, kubernetesGroups and username."""
    if entry_type != STANDARD and entry_type not in NODE_USERNAMES:
        raise ValueError(f"InvalidParameterException: The access entry type {entry_type} is invalid")
    if entry_type != STANDARD and (groups or user):
        raise ValueError(f"InvalidParameterException: kubernetesGroups and username can only be set for "
                         f"access entries of type {STANDARD}")
    for group in groups:
        if group.startswith("system:"):
            raise ValueError(f"InvalidParameterException: The kubernetes group name {group} is invalid, "
                             f"it cannot start with system:")
    for prefix in RESERVED_USERNAME_PREFIXES:
        if user and user.startswith(prefix):
            raise ValueError(f"InvalidParameterException: The username must not begin with {prefix}")
    if user and "{{SessionName" in user and ":" not in user.split("{{SessionName", 1)[0]:
        raise ValueError("InvalidParameterException: The username must contain a colon before "
                         "{{SessionName}}")


def principal_id(ctx: Context, props: Mapping[str, Any], principal: str, cluster_account: str,
                 entry_type: str) -> str:
    """The principal's RoleId / UserId after EKS's checks of the ARN ("" where the plugin cannot
    see the principal: another account, or IAM refuses the lookup)."""
    if not _PRINCIPAL.fullmatch(principal):
        raise ValueError(_INVALID_PRINCIPAL)
    if ":role/aws-service-role/" in principal:
        raise ValueError("InvalidParameterException: The caller is not allowed to modify access entries "
                         "with a principalArn value of a Service Linked Role")
    if principal.split(":")[4] != cluster_account:
        if entry_type != STANDARD:
            raise ValueError(f"InvalidParameterException: The principalArn of an access entry of type "
                             f"{entry_type} must be in the cluster's account")
        return ""
    kind, name = _principal_path(principal)
    iam = ctx.client("iam", props)
    try:
        found = iam.get_role(RoleName=name)["Role"] if kind == "role" else iam.get_user(UserName=name)["User"]
    except Exception as exc:  # noqa: BLE001 - only "no such principal" is EKS's business here
        if error_code(exc) == "NoSuchEntity":
            raise ValueError(_INVALID_PRINCIPAL) from None
        if error_code(exc) in ("AccessDenied", "AccessDeniedException"):
            return ""
        raise
    if found["Arn"] != principal:  # the same name under another path
        raise ValueError(_INVALID_PRINCIPAL)
    return str(found.get("RoleId") or found.get("UserId") or "")


class AccessEntry(Handler):
    token = "aws:eks/accessEntry:AccessEntry"
    inputs = frozenset({"region", "clusterName", "principalArn", "type", "kubernetesGroups",
                        "userName", "tags"})
    computed_inputs = frozenset({"region", "userName", "kubernetesGroups"})
    replace_on = frozenset({"region", "clusterName", "principalArn", "type"})
    required = ("clusterName", "principalArn")
    defaults = {"type": "STANDARD"}
    computed = ("id", "accessEntryArn", "createdAt", "modifiedAt", "userName", "kubernetesGroups")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        cluster = live_cluster(ctx, inputs)
        principal = str(inputs["principalArn"])
        account = _account(cluster)
        kind, name = _principal_path(principal)
        entry_type = str(inputs.get("type") or STANDARD)
        groups = [str(g) for g in inputs.get("kubernetesGroups") or []]
        check_identity(entry_type, groups, inputs.get("userName"))
        principal_account = principal.split(":")[4] if principal.count(":") >= 5 else account
        user = inputs.get("userName") or NODE_USERNAMES.get(entry_type) or (
            f"arn:aws:sts::{principal_account}:assumed-role/{name}/{{{{SessionName}}}}" if kind == "role"
            else principal)
        unique_id = principal_id(ctx, inputs, principal, account, entry_type)
        with edit_cluster_entry(ctx, inputs, cluster) as entry:
            mode = (entry.get("accessConfig") or {}).get("authenticationMode")
            if mode == "CONFIG_MAP":
                raise ValueError("InvalidRequestException: The cluster's authentication mode must be "
                                 "set to one of [API, API_AND_CONFIG_MAP] to perform this operation.")
            entries = entry.setdefault("accessEntries", {})
            if principal in entries:
                raise ValueError(f"ResourceInUseException: The specified access entry resource is "
                                 f"already in use on this cluster: {principal}")
            entries[principal] = {
                "principalArn": principal,
                "principalId": unique_id,
                "type": entry_type,
                "kubernetesGroups": groups,
                "userName": user,
                "accessEntryArn": f"arn:aws:eks:{ctx.region_of(inputs)}:{account}:access-entry/"
                                  f"{cluster['name']}/{kind}/{account}/{name}/{uuid.uuid4().hex[:12]}",
                "createdAt": _now(),
                "modifiedAt": _now(),
                "tags": ctx.tags_all(inputs.get("tags")),
                "policies": {},
            }
        rid = f"{cluster['name']}:{principal}"
        return rid, self.read_back(ctx, rid, inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        cluster_name, _, principal = rid.partition(":")
        found = cluster_item(ctx, state, cluster_name, "accessEntries", principal)
        if found is None:
            return None
        return self.finish(ctx, {**state, "clusterName": cluster_name}, {
            "id": rid,
            **{k: found[k] for k in ("principalArn", "type", "kubernetesGroups", "userName",
                                     "accessEntryArn", "createdAt", "modifiedAt")},
            "tagsAll": found.get("tags") or {},
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        principal = str(news["principalArn"])
        with edit_cluster_item(ctx, news, "accessEntries", principal,
                               f"ResourceNotFoundException: No access entry for {principal}") as found:
            check_identity(str(found.get("type") or STANDARD),
                           [str(g) for g in news.get("kubernetesGroups") or []],
                           news.get("userName") if news.get("userName") != found.get("userName") else None)
            if news.get("kubernetesGroups") is not None:
                found["kubernetesGroups"] = list(news["kubernetesGroups"])
            if news.get("userName"):
                found["userName"] = news["userName"]
            found["tags"] = ctx.tags_all(news.get("tags"))
            found["modifiedAt"] = _now()
        return self.read_back(ctx, rid, news)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        cluster_name, _, principal = rid.partition(":")
        drop_cluster_item(ctx, state, cluster_name, "accessEntries", principal)


class AccessPolicyAssociation(Handler):
    token = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
    inputs = frozenset({"region", "clusterName", "principalArn", "policyArn", "accessScope"})
    replace_on = frozenset({"region", "clusterName", "principalArn", "policyArn", "accessScope"})
    required = ("clusterName", "principalArn", "policyArn", "accessScope")
    computed = ("id", "associatedAt", "modifiedAt")
    taggable = False

    @staticmethod
    def _scope(value: Mapping[str, Any] | None) -> dict[str, Any]:
        """The access scope after EKS's checks of its type and namespaces."""
        v = dict(value or {})
        namespaces = [str(n) for n in v.get("namespaces") or []]
        scope = {"type": v.get("type") or "cluster", "namespaces": namespaces}
        if scope["type"] not in ("cluster", "namespace"):
            raise ValueError(f"InvalidParameterException: The access scope type {scope['type']} is invalid")
        if (scope["type"] == "namespace") != bool(scope["namespaces"]):
            raise ValueError("InvalidParameterException: An access scope of type namespace needs at least "
                             "one namespace, one of type cluster none")
        return scope

    @staticmethod
    def _check_policy(policy: str) -> None:
        if not policy.startswith(POLICY_PREFIX) or policy.removeprefix(POLICY_PREFIX) not in ACCESS_POLICIES:
            raise ValueError(f"InvalidParameterException: The policyArn {policy} is not an access policy "
                             f"(the test plugin knows {', '.join(sorted(ACCESS_POLICIES))})")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        cluster = live_cluster(ctx, inputs)
        principal, policy = str(inputs["principalArn"]), str(inputs["policyArn"])
        self._check_policy(policy)
        scope = self._scope(inputs.get("accessScope"))
        with edit_cluster_entry(ctx, inputs, cluster) as entry:
            access = entry.get("accessEntries", {}).get(principal)
            if access is None:
                raise ValueError(f"ResourceNotFoundException: The specified principalArn could not be "
                                 f"found. You can view your available access entries with "
                                 f"'list-access-entries'. ({principal})")
            if (access.get("type") or STANDARD) != STANDARD:
                raise ValueError(f"InvalidParameterException: Access policies can only be associated with "
                                 f"access entries of type {STANDARD}")
            access.setdefault("policies", {})[policy] = {
                "accessScope": scope,
                "associatedAt": _now(),
                "modifiedAt": _now(),
            }
        rid = f"{cluster['name']}#{principal}#{policy}"
        return rid, self.read_back(ctx, rid, inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        cluster_name, principal, policy = (rid.split("#", 2) + ["", ""])[:3]
        found = cluster_item(ctx, state, cluster_name, "accessEntries", principal, "policies", policy)
        if found is None:
            return None
        return self.finish(ctx, {**state, "clusterName": cluster_name, "principalArn": principal,
                                 "policyArn": policy}, {"id": rid, **found})

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        cluster_name, principal, policy = (rid.split("#", 2) + ["", ""])[:3]
        drop_cluster_item(ctx, state, cluster_name, "accessEntries", principal, "policies", policy)


HANDLERS: tuple[Handler, ...] = (Addon(), AccessEntry(), AccessPolicyAssociation())
