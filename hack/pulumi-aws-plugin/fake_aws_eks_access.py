"""EKS Addon, AccessEntry and AccessPolicyAssociation of the fake `aws` plugin.

moto 5.2 has none of these APIs, so they live only in the plugin's state file (`fake_aws_state`),
under their cluster's entry; the cluster itself must exist in moto (checked on create and read,
as EKS does), and deleting the cluster drops them. EKS rules kept: an addon or access entry exists
once per cluster (ResourceInUseException), access entries need authentication mode API or
API_AND_CONFIG_MAP, a policy association needs its access entry, and deleting an access entry
removes its associations. An addon without `addonVersion` gets a plausible default version.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import Any

from fake_aws_base import Context, Handler
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


def _principal_path(principal: str) -> tuple[str, str]:
    """(role|user, name) of an IAM principal ARN."""
    resource = principal.split(":", 5)[-1]
    kind, _, name = resource.partition("/")
    return kind, name.rsplit("/", 1)[-1]


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
        user = inputs.get("userName") or (
            f"arn:aws:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}" if kind == "role"
            else principal)
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
                "type": inputs.get("type") or "STANDARD",
                "kubernetesGroups": list(inputs.get("kubernetesGroups") or []),
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
        v = dict(value or {})
        return {"type": v.get("type") or "cluster", "namespaces": list(v.get("namespaces") or [])}

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        cluster = live_cluster(ctx, inputs)
        principal, policy = str(inputs["principalArn"]), str(inputs["policyArn"])
        with edit_cluster_entry(ctx, inputs, cluster) as entry:
            access = entry.get("accessEntries", {}).get(principal)
            if access is None:
                raise ValueError(f"ResourceNotFoundException: The specified principalArn could not be "
                                 f"found. You can view your available access entries with "
                                 f"'list-access-entries'. ({principal})")
            access.setdefault("policies", {})[policy] = {
                "accessScope": self._scope(inputs.get("accessScope")),
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
