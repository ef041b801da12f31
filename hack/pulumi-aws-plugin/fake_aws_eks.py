"""EKS Cluster and NodeGroup of the fake `aws` plugin, on moto's EKS plus the plugin's state file.

moto creates, describes and deletes clusters and node groups, changes endpoint access and
scaling/labels (`update_cluster_config`, `update_nodegroup_config`) and holds tags. What it lacks
the plugin keeps in `fake_aws_state` (see there): Kubernetes version updates of clusters and node
groups, the cluster's `accessConfig` and its full `vpcConfig` (moto's update_cluster_config
replaces the whole block). Read merges that state over moto's answer.

Differences from moto's raw answers, to look like EKS:
- `identities[0].oidcs[0].issuer` is made per cluster (moto gives every cluster of a process the
  same issuer, so a second cluster's IAM OIDC provider would collide).
- `vpcConfig.clusterSecurityGroupId` is a real security group the plugin creates in the cluster's
  VPC (`eks-cluster-sg-<name>-<n>`) and deletes with the cluster; `vpcConfig.vpcId` is the
  subnets' VPC.
- `certificateAuthority` is ONE object `{data}` (pulumi_aws 7's Cluster output type), moto's
  random text, not a PEM.
- With `FLEETYARD_FAKE_EKS_ENDPOINT` and `FLEETYARD_FAKE_EKS_CA_DATA` both set (the test bed's
  workload cluster, `fleetyard.devenv.workload_cluster`: a real kube-apiserver that accepts EKS
  tokens), every cluster reports them as its `endpoint` and `certificateAuthority.data` (on create
  and read) instead of moto's fake values.
- Version changes go one minor version at a time, and a node group never gets ahead of its cluster
  (EKS's InvalidParameterException / InvalidRequestException).
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

import fake_aws_state
from fake_aws_base import Context, Handler, apply_tags, changed, ignore_codes, wait_for
from fake_aws_values import UNKNOWN, same

DEFAULT_VERSION = "1.33"
_NOT_FOUND = "ResourceNotFoundException"
ENDPOINT_ENV = "FLEETYARD_FAKE_EKS_ENDPOINT"
CA_DATA_ENV = "FLEETYARD_FAKE_EKS_CA_DATA"


def minor(version: str) -> tuple[int, int]:
    major, _, rest = str(version).partition(".")
    return int(major), int(rest.split(".")[0] or 0)


def created_key(created: Any) -> str:
    return f"{created.timestamp():.3f}" if hasattr(created, "timestamp") else str(created)


def describe_cluster(ctx: Context, props: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    eks = ctx.client("eks", props)
    found = ignore_codes(lambda: eks.describe_cluster(name=name)["cluster"], _NOT_FOUND)
    if found is None or found.get("status") == "DELETING":
        return None
    return dict(found)


def live_cluster(ctx: Context, props: Mapping[str, Any]) -> dict[str, Any]:
    """The cluster `props["clusterName"]` names, or EKS's ResourceNotFoundException."""
    name = str(props["clusterName"])
    cluster = describe_cluster(ctx, props, name)
    if cluster is None:
        raise ValueError(f"ResourceNotFoundException: No cluster found for name: {name}.")
    return cluster


def cluster_entry(ctx: Context, props: Mapping[str, Any], cluster: Mapping[str, Any]) -> dict[str, Any]:
    """The plugin's state of a live cluster ({} if none, or if it belonged to an older namesake)."""
    state = fake_aws_state.load(ctx.state_path)
    entry = fake_aws_state.cluster(state, ctx.region_of(props), cluster["name"])
    return entry if entry.get("createdAt") == created_key(cluster.get("createdAt")) else {}


@contextlib.contextmanager
def edit_cluster_entry(ctx: Context, props: Mapping[str, Any],
                       cluster: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    key = fake_aws_state.cluster_key(ctx.region_of(props), cluster["name"])
    created = created_key(cluster.get("createdAt"))
    with fake_aws_state.edit(ctx.state_path) as state:
        entry = state["clusters"].get(key)
        if not isinstance(entry, dict) or entry.get("createdAt") != created:
            entry = {"createdAt": created}
            state["clusters"][key] = entry
        yield entry


def cluster_item(ctx: Context, state: Mapping[str, Any], cluster_name: str, *path: str) -> Any:
    """What the plugin's state holds at `path` under a live cluster's entry (e.g. "addons",
    name), None if the cluster or anything on the way is missing."""
    cluster = describe_cluster(ctx, state, cluster_name)
    item: Any = cluster_entry(ctx, state, cluster) if cluster is not None else None
    for key in path:
        item = item.get(key) if isinstance(item, dict) else None
    return item


def drop_cluster_item(ctx: Context, state: Mapping[str, Any], cluster_name: str, *path: str) -> None:
    """Remove what the state holds at `path` under the cluster's entry (if the cluster lives)."""
    cluster = describe_cluster(ctx, state, cluster_name)
    if cluster is None:
        return
    with edit_cluster_entry(ctx, state, cluster) as entry:
        parent: Any = entry
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent.pop(path[-1], None)


@contextlib.contextmanager
def edit_cluster_item(ctx: Context, props: Mapping[str, Any], kind: str, key: str,
                      missing: str) -> Iterator[dict[str, Any]]:
    """Yield the live cluster's `kind` entry `key` for changing; ValueError(`missing`) if none."""
    with edit_cluster_entry(ctx, props, live_cluster(ctx, props)) as entry:
        item = entry.get(kind, {}).get(key)
        if item is None:
            raise ValueError(missing)
        yield item


def update_eks_tags(ctx: Context, arn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> None:
    eks = ctx.client("eks", news)
    apply_tags(ctx, olds, news, lambda tags: eks.tag_resource(resourceArn=arn, tags=tags),
               lambda keys: eks.untag_resource(resourceArn=arn, tagKeys=keys))


def cluster_version(ctx: Context, props: Mapping[str, Any], cluster: Mapping[str, Any]) -> str:
    return str(cluster_entry(ctx, props, cluster).get("version") or cluster.get("version"))


def api_server(cluster: Mapping[str, Any]) -> tuple[str, str]:
    """(endpoint, certificateAuthority.data): the workload cluster's when configured, else moto's."""
    endpoint, ca_data = os.environ.get(ENDPOINT_ENV), os.environ.get(CA_DATA_ENV)
    if endpoint and ca_data:
        return endpoint, ca_data
    return cluster.get("endpoint", ""), (cluster.get("certificateAuthority") or {}).get("data", "")


def _issuer(region: str, cluster: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(f"{cluster['arn']}|{created_key(cluster.get('createdAt'))}".encode())
    return f"https://oidc.eks.{region}.amazonaws.com/id/{digest.hexdigest()[:32].upper()}"


def _vpc_config(value: Mapping[str, Any] | None) -> dict[str, Any]:
    v = dict(value or {})
    public = v.get("endpointPublicAccess")
    return {
        "subnetIds": list(v.get("subnetIds") or []),
        "securityGroupIds": list(v.get("securityGroupIds") or []),
        "endpointPublicAccess": True if public is None else bool(public),
        "endpointPrivateAccess": bool(v.get("endpointPrivateAccess")),
        "publicAccessCidrs": list(v.get("publicAccessCidrs") or ["0.0.0.0/0"]),
    }


def _access_config(value: Mapping[str, Any] | None) -> dict[str, Any]:
    v = dict(value or {})
    bootstrap = v.get("bootstrapClusterCreatorAdminPermissions")
    return {
        "authenticationMode": v.get("authenticationMode") or "CONFIG_MAP",
        "bootstrapClusterCreatorAdminPermissions": True if bootstrap is None else bool(bootstrap),
    }


class Cluster(Handler):
    token = "aws:eks/cluster:Cluster"
    inputs = frozenset({"region", "name", "roleArn", "version", "vpcConfig", "accessConfig", "tags",
                        "kubernetesNetworkConfig", "enabledClusterLogTypes",
                        "bootstrapSelfManagedAddons", "upgradePolicy", "deletionProtection"})
    computed_inputs = frozenset({"region", "name", "version", "accessConfig", "kubernetesNetworkConfig",
                                 "upgradePolicy", "bootstrapSelfManagedAddons"})
    replace_on = frozenset({"region", "name", "roleArn", "vpcConfig.subnetIds", "kubernetesNetworkConfig",
                            "bootstrapSelfManagedAddons",
                            "accessConfig.bootstrapClusterCreatorAdminPermissions"})
    required = ("roleArn", "vpcConfig")
    computed = ("id", "arn", "endpoint", "status", "platformVersion", "certificateAuthority",
                "identities", "createdAt", "version", "clusterId", "kubernetesNetworkConfig")
    name_property = "name"
    name_max_length = 100

    def preview_create(self, ctx: Context, inputs: Mapping[str, Any]) -> dict[str, Any]:
        outputs = super().preview_create(ctx, inputs)
        vpc = inputs.get("vpcConfig")
        if isinstance(vpc, dict):
            outputs["vpcConfig"] = {**_vpc_config(vpc), **vpc, "clusterSecurityGroupId": UNKNOWN,
                                    "vpcId": UNKNOWN}
        if isinstance(inputs.get("accessConfig"), dict) or inputs.get("accessConfig") is None:
            outputs["accessConfig"] = _access_config(inputs.get("accessConfig"))
        return outputs

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        eks = ctx.client("eks", inputs)
        name = str(inputs["name"])
        vpc = _vpc_config(inputs.get("vpcConfig"))
        access = _access_config(inputs.get("accessConfig"))
        kwargs: dict[str, Any] = {
            "name": name,
            "roleArn": inputs["roleArn"],
            "version": str(inputs.get("version") or DEFAULT_VERSION),
            "resourcesVpcConfig": vpc,
            "accessConfig": access,
        }
        tags = ctx.tags_all(inputs.get("tags"))
        if tags:
            kwargs["tags"] = tags
        if isinstance(inputs.get("kubernetesNetworkConfig"), dict):
            kwargs["kubernetesNetworkConfig"] = {
                k: v for k, v in inputs["kubernetesNetworkConfig"].items() if v}
        cluster = eks.create_cluster(**kwargs)["cluster"]
        ec2 = ctx.client("ec2", inputs)
        vpc_id = ec2.describe_subnets(SubnetIds=vpc["subnetIds"][:1])["Subnets"][0]["VpcId"]
        group_name = f"eks-cluster-sg-{name}-{binascii.crc32(cluster['arn'].encode())}"
        group_id = ec2.create_security_group(
            GroupName=group_name, VpcId=vpc_id,
            Description="EKS created security group applied to ENI that is attached to EKS Control "
                        "Plane master nodes, as well as any managed workloads.",
            TagSpecifications=[{"ResourceType": "security-group", "Tags": [
                {"Key": "Name", "Value": group_name},
                {"Key": f"kubernetes.io/cluster/{name}", "Value": "owned"}]}],
        )["GroupId"]
        with edit_cluster_entry(ctx, inputs, cluster) as entry:
            entry.update({"version": kwargs["version"], "vpcConfig": vpc, "accessConfig": access,
                          "clusterSecurityGroupId": group_id, "vpcId": vpc_id})
        return name, self.read_back(ctx, name, inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        cluster = describe_cluster(ctx, state, rid)
        if cluster is None:
            return None
        entry = cluster_entry(ctx, state, cluster)
        region = ctx.region_of(state)
        vpc = {**_vpc_config(cluster.get("resourcesVpcConfig")), **(entry.get("vpcConfig") or {})}
        vpc["clusterSecurityGroupId"] = entry.get("clusterSecurityGroupId", "")
        vpc["vpcId"] = entry.get("vpcId", "")
        network = cluster.get("kubernetesNetworkConfig") or {}
        endpoint, ca_data = api_server(cluster)
        return self.finish(ctx, state, {
            "id": rid,
            "name": cluster["name"],
            "arn": cluster["arn"],
            "roleArn": cluster["roleArn"],
            "version": str(entry.get("version") or cluster.get("version")),
            "endpoint": endpoint,
            "status": cluster.get("status", "ACTIVE"),
            "platformVersion": cluster.get("platformVersion", "eks.1"),
            "createdAt": cluster.get("createdAt"),
            "certificateAuthority": {"data": ca_data},
            "identities": [{"oidcs": [{"issuer": _issuer(region, cluster)}]}],
            "vpcConfig": vpc,
            "accessConfig": entry.get("accessConfig") or _access_config(state.get("accessConfig")),
            "kubernetesNetworkConfig": {
                "serviceIpv4Cidr": network.get("serviceIpv4Cidr", "172.20.0.0/16"),
                "serviceIpv6Cidr": network.get("serviceIpv6Cidr", ""),
                "ipFamily": network.get("ipFamily", "ipv4"),
            },
            "enabledClusterLogTypes": list(state.get("enabledClusterLogTypes") or []),
            "bootstrapSelfManagedAddons": state.get("bootstrapSelfManagedAddons", True),
            "tagsAll": dict(cluster.get("tags") or {}),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        eks = ctx.client("eks", news)
        cluster = describe_cluster(ctx, olds, rid)
        if cluster is None:
            raise RuntimeError(f"EKS cluster {rid} not found")
        current = cluster_version(ctx, olds, cluster)
        wanted = news.get("version")
        if wanted and str(wanted) != current:
            old_v, new_v = minor(current), minor(str(wanted))
            if new_v != (old_v[0], old_v[1] + 1):
                raise ValueError(
                    f"InvalidParameterException: Unsupported Kubernetes minor version update from "
                    f"{current} to {wanted}")
            with edit_cluster_entry(ctx, olds, cluster) as entry:
                entry["version"] = str(wanted)
        if not same(olds.get("vpcConfig"), news.get("vpcConfig")):
            vpc = _vpc_config({**(olds.get("vpcConfig") or {}), **(news.get("vpcConfig") or {})})
            eks.update_cluster_config(name=rid, resourcesVpcConfig=vpc)
            with edit_cluster_entry(ctx, olds, cluster) as entry:
                entry["vpcConfig"] = vpc
        if news.get("accessConfig") is not None and changed(olds, news, "accessConfig"):
            with edit_cluster_entry(ctx, olds, cluster) as entry:
                entry["accessConfig"] = _access_config(
                    {**(olds.get("accessConfig") or {}), **news["accessConfig"]})
        update_eks_tags(ctx, cluster["arn"], olds, news)
        return self.read_back(ctx, rid, news)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        eks = ctx.client("eks", state)
        ignore_codes(lambda: eks.delete_cluster(name=rid), _NOT_FOUND)
        wait_for(lambda: describe_cluster(ctx, state, rid) is None, f"EKS cluster {rid} deleted")
        key = fake_aws_state.cluster_key(ctx.region_of(state), rid)
        with fake_aws_state.edit(ctx.state_path) as data:
            entry = data["clusters"].pop(key, None) or {}
        group_id = entry.get("clusterSecurityGroupId") or (state.get("vpcConfig") or {}).get(
            "clusterSecurityGroupId")
        if group_id:
            ec2 = ctx.client("ec2", state)
            ignore_codes(lambda: ec2.delete_security_group(GroupId=group_id), "InvalidGroup.NotFound")


def _scaling(value: Mapping[str, Any] | None) -> dict[str, int]:
    return {k: int(v) for k, v in (value or {}).items() if v is not None}


def _taints(value: list[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    return [{"key": t["key"], "value": t.get("value") or "", "effect": t["effect"]}
            for t in value or []]


class NodeGroup(Handler):
    token = "aws:eks/nodeGroup:NodeGroup"
    inputs = frozenset({"region", "clusterName", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn",
                        "subnetIds", "instanceTypes", "scalingConfig", "diskSize", "amiType",
                        "capacityType", "labels", "tags", "updateConfig", "version", "releaseVersion",
                        "taints", "forceUpdateVersion"})
    computed_inputs = frozenset({"region", "nodeGroupName", "nodeGroupNamePrefix", "instanceTypes",
                                 "diskSize", "amiType", "capacityType", "updateConfig", "version",
                                 "releaseVersion"})
    replace_on = frozenset({"region", "clusterName", "nodeGroupName", "nodeGroupNamePrefix",
                            "nodeRoleArn", "subnetIds", "instanceTypes", "diskSize", "amiType",
                            "capacityType"})
    required = ("clusterName", "nodeRoleArn", "subnetIds", "scalingConfig")
    computed = ("id", "arn", "status", "version", "releaseVersion", "resources", "instanceTypes",
                "diskSize", "amiType", "capacityType", "updateConfig")
    name_property = "nodeGroupName"
    name_prefix_property = "nodeGroupNamePrefix"
    name_max_length = 63
    maps = frozenset({"tags", "labels"})

    @staticmethod
    def _check_version(cluster_name: str, wanted: str, cluster_v: str) -> None:
        if minor(wanted) > minor(cluster_v):
            raise ValueError(
                f"InvalidParameterException: Requested Nodegroup version {wanted} is newer than the "
                f"version {cluster_v} of cluster {cluster_name}")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        cluster_name, name = str(inputs["clusterName"]), str(inputs["nodeGroupName"])
        cluster = live_cluster(ctx, inputs)
        cluster_v = cluster_version(ctx, inputs, cluster)
        version = str(inputs.get("version") or cluster_v)
        self._check_version(cluster_name, version, cluster_v)
        release = str(inputs.get("releaseVersion") or f"{version}.0-20250101")
        kwargs: dict[str, Any] = {
            "clusterName": cluster_name,
            "nodegroupName": name,
            "nodeRole": inputs["nodeRoleArn"],
            "subnets": list(inputs["subnetIds"]),
            "scalingConfig": _scaling(inputs.get("scalingConfig")),
            "instanceTypes": list(inputs.get("instanceTypes") or ["t3.medium"]),
            "diskSize": int(inputs.get("diskSize") or 20),
            "amiType": inputs.get("amiType") or "AL2023_x86_64_STANDARD",
            "capacityType": inputs.get("capacityType") or "ON_DEMAND",
            "labels": dict(inputs.get("labels") or {}),
            "updateConfig": _scaling(inputs.get("updateConfig")) or {"maxUnavailable": 1},
            "version": version,
            "releaseVersion": release,
        }
        if inputs.get("taints"):
            kwargs["taints"] = [{**t, "effect": t["effect"]} for t in _taints(inputs["taints"])]
        tags = ctx.tags_all(inputs.get("tags"))
        if tags:
            kwargs["tags"] = tags
        ctx.client("eks", inputs).create_nodegroup(**kwargs)
        with edit_cluster_entry(ctx, inputs, cluster) as entry:
            entry.setdefault("nodegroups", {})[name] = {
                "version": version, "releaseVersion": release, "updateConfig": kwargs["updateConfig"]}
        rid = f"{cluster_name}:{name}"
        return rid, self.read_back(ctx, rid, inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        cluster_name, _, name = rid.partition(":")
        cluster = describe_cluster(ctx, state, cluster_name)
        if cluster is None:
            return None
        eks = ctx.client("eks", state)
        ng = ignore_codes(lambda: eks.describe_nodegroup(clusterName=cluster_name,
                                                         nodegroupName=name)["nodegroup"], _NOT_FOUND)
        if ng is None or ng.get("status") == "DELETING":
            return None
        mine = cluster_entry(ctx, state, cluster).get("nodegroups", {}).get(name, {})
        resources = ng.get("resources") or {}
        return self.finish(ctx, state, {
            "id": rid,
            "arn": ng["nodegroupArn"],
            "clusterName": cluster_name,
            "nodeGroupName": name,
            "nodeRoleArn": ng["nodeRole"],
            "subnetIds": list(ng.get("subnets") or []),
            "instanceTypes": list(ng.get("instanceTypes") or []),
            "scalingConfig": dict(ng.get("scalingConfig") or {}),
            "diskSize": ng.get("diskSize", 20),
            "amiType": ng.get("amiType", ""),
            "capacityType": ng.get("capacityType", "ON_DEMAND"),
            "labels": dict(ng.get("labels") or {}),
            "taints": _taints(ng.get("taints")),
            "status": ng.get("status", "ACTIVE"),
            "version": str(mine.get("version") or ng.get("version")),
            "releaseVersion": str(mine.get("releaseVersion") or ng.get("releaseVersion", "")),
            "updateConfig": dict(ng.get("updateConfig") or mine.get("updateConfig")
                                 or {"maxUnavailable": 1}),
            "resources": [{
                "autoscalingGroups": [{"name": g["name"]} for g in resources.get("autoScalingGroups", [])],
                "remoteAccessSecurityGroupId": resources.get("remoteAccessSecurityGroup", ""),
            }],
            "tagsAll": dict(ng.get("tags") or {}),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        cluster_name, _, name = rid.partition(":")
        eks = ctx.client("eks", news)
        cluster = describe_cluster(ctx, olds, cluster_name)
        if cluster is None:
            raise RuntimeError(f"EKS cluster {cluster_name} not found")
        config: dict[str, Any] = {}
        if changed(olds, news, "scalingConfig"):
            config["scalingConfig"] = _scaling(news.get("scalingConfig"))
        if changed(olds, news, "labels", exact=True):
            old_labels, new_labels = olds.get("labels") or {}, news.get("labels") or {}
            config["labels"] = {
                "addOrUpdateLabels": {k: v for k, v in new_labels.items() if old_labels.get(k) != v},
                "removeLabels": [k for k in old_labels if k not in new_labels]}
        if changed(olds, news, "taints"):
            old_t, new_t = _taints(olds.get("taints")), _taints(news.get("taints"))
            config["taints"] = {"addOrUpdateTaints": [t for t in new_t if t not in old_t],
                                "removeTaints": [t for t in old_t if t not in new_t]}
        if news.get("updateConfig") is not None and changed(olds, news, "updateConfig"):
            config["updateConfig"] = _scaling(news["updateConfig"])
        if config:
            eks.update_nodegroup_config(clusterName=cluster_name, nodegroupName=name, **config)
        version_changed = news.get("version") is not None and changed(olds, news, "version")
        release_changed = news.get("releaseVersion") is not None and changed(olds, news, "releaseVersion")
        if version_changed or release_changed or "updateConfig" in config:
            version = str(news.get("version") or olds.get("version"))
            self._check_version(cluster_name, version, cluster_version(ctx, olds, cluster))
            with edit_cluster_entry(ctx, olds, cluster) as entry:
                mine = entry.setdefault("nodegroups", {}).setdefault(name, {})
                mine["version"] = version
                mine["releaseVersion"] = str(news.get("releaseVersion") if release_changed
                                             else f"{version}.0-20250101")
                if "updateConfig" in config:
                    mine["updateConfig"] = config["updateConfig"]
        update_eks_tags(ctx, olds["arn"], olds, news)
        return self.read_back(ctx, rid, news)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        cluster_name, _, name = rid.partition(":")
        eks = ctx.client("eks", state)
        ignore_codes(lambda: eks.delete_nodegroup(clusterName=cluster_name, nodegroupName=name),
                     _NOT_FOUND)
        wait_for(lambda: self.read(ctx, rid, state) is None, f"EKS node group {rid} deleted")
        drop_cluster_item(ctx, state, cluster_name, "nodegroups", name)


HANDLERS: tuple[Handler, ...] = (Cluster(), NodeGroup())
