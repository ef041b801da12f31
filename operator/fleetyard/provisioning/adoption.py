"""Adopting what an interrupted run was creating, so a recovered stack never builds a second copy.

Called by the worker when it recovers an Operation. When an engine dies in the middle of a create
(the operator's pod was killed), the stack keeps a *pending create*: Pulumi does not know whether
the resource exists, and a plain `up` would create it again (a second VPC). For each pending create
this module finds the resource's id, either predicted from its inputs (names fleetyard sets:
IAM roles, the EKS cluster, node groups, addons, access entries, routes) or looked up by fleetyard's
tags (EC2 resources AWS names itself), and turns the pending operation into a normal state entry.
The refresh that follows reads the adopted resources from the cloud and drops those that turn out
not to exist; the next `up` then creates only what is really missing.
"""

from __future__ import annotations

import binascii
import copy
from collections.abc import Callable
from typing import Any

Finder = Callable[[str, dict[str, Any]], "str | None"]


def predicted_id(type_: str, inputs: dict[str, Any], account_id: str | None = None) -> str | None:
    """The id a resource has in pulumi_aws when it can be computed from its inputs alone."""
    if type_ in ("aws:iam/role:Role", "aws:eks/cluster:Cluster"):
        return inputs.get("name")
    if type_ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
        # the provider reads an attachment by its role and policy; the id only has to be stable
        return f"{inputs['role']}/{inputs['policyArn']}"
    if type_ == "aws:eks/nodeGroup:NodeGroup":
        return f"{inputs['clusterName']}:{inputs['nodeGroupName']}"
    if type_ == "aws:eks/addon:Addon":
        return f"{inputs['clusterName']}:{inputs['addonName']}"
    if type_ == "aws:eks/accessEntry:AccessEntry":
        return f"{inputs['clusterName']}:{inputs['principalArn']}"
    if type_ == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation":
        return f"{inputs['clusterName']}#{inputs['principalArn']}#{inputs['policyArn']}"
    if type_ == "aws:ec2/route:Route" and inputs.get("destinationCidrBlock"):
        return f"r-{inputs['routeTableId']}{binascii.crc32(inputs['destinationCidrBlock'].encode())}"
    if type_ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider" and account_id:
        return f"arn:aws:iam::{account_id}:oidc-provider/{str(inputs['url']).removeprefix('https://')}"
    return None


def pending_creates(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for op in deployment.get("pending_operations") or [] if op.get("type") == "creating"]


def _needs(resource: dict[str, Any]) -> set[str]:
    """URNs a state entry refers to: its parent, dependencies and property dependencies."""
    urns = set(resource.get("dependencies") or [])
    for deps in (resource.get("propertyDependencies") or {}).values():
        urns.update(deps or [])
    if resource.get("parent"):
        urns.add(resource["parent"])
    return urns


def adopt(deployment: dict[str, Any], find: Finder) -> tuple[dict[str, Any], list[str], list[str]]:
    """(new deployment, adopted urns, dropped urns). `find(type, inputs)` answers an id or None.

    Adopted entries are appended after what they refer to (the state must be ordered), and an
    entry whose dependency was not found is not adopted either."""
    out = copy.deepcopy(deployment)
    resources = out.setdefault("resources", [])
    keep, candidates, dropped = [], [], []
    for op in out.get("pending_operations") or []:
        if op.get("type") != "creating":
            keep.append(op)
            continue
        resource = op["resource"]
        found = find(resource["type"], resource.get("inputs") or {})
        if found:
            candidates.append({**resource, "id": found, "custom": True,
                               "outputs": copy.deepcopy(resource.get("inputs") or {})})
        else:
            dropped.append(resource["urn"])
    present = {r["urn"] for r in resources}
    adopted = []
    while candidates:
        ready = [c for c in candidates if _needs(c) <= present | {c["urn"]}]
        if not ready:
            break
        for entry in ready:
            resources.append(entry)
            present.add(entry["urn"])
            adopted.append(entry["urn"])
            candidates.remove(entry)
    dropped.extend(c["urn"] for c in candidates)
    out["pending_operations"] = keep
    return out, adopted, dropped


class CloudFinder:
    """Finds ids of pending creates: predicted where possible, else by fleetyard's tags in EC2."""

    TAGGED = {
        "aws:ec2/vpc:Vpc": ("describe_vpcs", "Vpcs", "VpcId"),
        "aws:ec2/subnet:Subnet": ("describe_subnets", "Subnets", "SubnetId"),
        "aws:ec2/internetGateway:InternetGateway": ("describe_internet_gateways", "InternetGateways",
                                                    "InternetGatewayId"),
        "aws:ec2/routeTable:RouteTable": ("describe_route_tables", "RouteTables", "RouteTableId"),
        "aws:ec2/natGateway:NatGateway": ("describe_nat_gateways", "NatGateways", "NatGatewayId"),
        "aws:ec2/eip:Eip": ("describe_addresses", "Addresses", "AllocationId"),
    }

    def __init__(self, ec2: Any, account_id: str | None) -> None:
        self.ec2 = ec2
        self.account_id = account_id

    def __call__(self, type_: str, inputs: dict[str, Any]) -> str | None:
        if (predicted := predicted_id(type_, inputs, self.account_id)) is not None:
            return predicted
        if type_ == "aws:ec2/routeTableAssociation:RouteTableAssociation":
            return self._association(inputs)
        if type_ in self.TAGGED:
            return self._tagged(type_, inputs)
        return None

    def _tagged(self, type_: str, inputs: dict[str, Any]) -> str | None:
        tags = {k: v for k, v in (inputs.get("tags") or {}).items()
                if isinstance(v, str) and k.startswith(("Name", "fleetyard.io/"))}
        if "Name" not in tags:
            return None
        call, key, id_key = self.TAGGED[type_]
        filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]
        # Matched here as well: not every EC2 emulation honours tag filters on every call
        # (moto ignores them for NAT gateways), and a wrong adoption is worse than none.
        found = self._matching(getattr(self.ec2, call)(Filters=filters).get(key, []), tags)
        if not found:
            found = self._matching(getattr(self.ec2, call)().get(key, []), tags)
        return found[0][id_key] if len(found) == 1 else None

    @staticmethod
    def _matching(items: list[dict[str, Any]], tags: dict[str, str]) -> list[dict[str, Any]]:
        def has(item: dict[str, Any]) -> bool:
            actual = {t["Key"]: t["Value"] for t in item.get("Tags") or item.get("TagSet") or []}
            return all(actual.get(k) == v for k, v in tags.items())
        return [i for i in items if has(i) and i.get("State") not in ("deleted", "deleting", "failed")]

    def _association(self, inputs: dict[str, Any]) -> str | None:
        tables = self.ec2.describe_route_tables(Filters=[
            {"Name": "association.subnet-id", "Values": [inputs.get("subnetId", "")]}]).get("RouteTables", [])
        for table in tables:
            for assoc in table.get("Associations", []):
                if assoc.get("SubnetId") == inputs.get("subnetId") and table["RouteTableId"] == inputs.get("routeTableId"):
                    return str(assoc["RouteTableAssociationId"])
        return None
