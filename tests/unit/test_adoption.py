"""Turning an interrupted run's pending creates into state entries: ids, order, what is dropped."""

from __future__ import annotations

import pytest

from fleetyard.provisioning import adoption

STACK = "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s"


def pending(name: str, type_: str, deps: tuple[str, ...] = (), **inputs: object) -> dict:
    return {"type": "creating", "resource": {"urn": f"urn:pulumi:s::p::{type_}::{name}", "type": type_,
                                             "custom": True, "parent": STACK, "inputs": inputs,
                                             "dependencies": [f"urn:pulumi:s::p::{d}" for d in deps]}}


@pytest.mark.parametrize("type_,inputs,expected", [
    ("aws:eks/cluster:Cluster", {"name": "fy-acme-prod-x"}, "fy-acme-prod-x"),
    ("aws:iam/role:Role", {"name": "fy-a-b-node"}, "fy-a-b-node"),
    ("aws:eks/nodeGroup:NodeGroup", {"clusterName": "c", "nodeGroupName": "system-1"}, "c:system-1"),
    ("aws:eks/addon:Addon", {"clusterName": "c", "addonName": "coredns"}, "c:coredns"),
    ("aws:ec2/route:Route", {"routeTableId": "rtb-1", "destinationCidrBlock": "0.0.0.0/0"}, "r-rtb-11080289494"),
    ("aws:iam/openIdConnectProvider:OpenIdConnectProvider", {"url": "https://oidc.eks/id/ABC"},
     "arn:aws:iam::123456789012:oidc-provider/oidc.eks/id/ABC"),
    ("aws:ec2/vpc:Vpc", {"cidrBlock": "10.0.0.0/16"}, None),
])
def test_predicted_ids(type_: str, inputs: dict, expected: str | None) -> None:
    assert adoption.predicted_id(type_, inputs, "123456789012") == expected


def test_found_resources_are_adopted_after_what_they_need() -> None:
    deployment = {"resources": [{"urn": STACK, "type": "pulumi:pulumi:Stack"}], "pending_operations": [
        pending("public", "aws:ec2/subnet:Subnet", ("aws:ec2/vpc:Vpc::vpc",)),
        pending("vpc", "aws:ec2/vpc:Vpc"),
        {"type": "deleting", "resource": {"urn": "urn:x", "type": "aws:ec2/eip:Eip"}},
    ]}
    ids = {"aws:ec2/vpc:Vpc": "vpc-1", "aws:ec2/subnet:Subnet": "subnet-1"}
    out, adopted, dropped = adoption.adopt(deployment, lambda t, _: ids.get(t))
    assert [r["urn"].rsplit("::", 1)[1] for r in out["resources"][1:]] == ["vpc", "public"]
    assert out["resources"][1]["id"] == "vpc-1" and out["resources"][1]["outputs"] == {}
    assert len(adopted) == 2 and dropped == []
    assert [op["type"] for op in out["pending_operations"]] == ["deleting"]  # refresh settles those
    assert deployment["pending_operations"][0]["type"] == "creating"  # the input is not modified


def test_not_found_is_dropped_and_so_is_what_needs_it() -> None:
    deployment = {"resources": [{"urn": STACK}], "pending_operations": [
        pending("vpc", "aws:ec2/vpc:Vpc"), pending("igw", "aws:ec2/internetGateway:InternetGateway", ("aws:ec2/vpc:Vpc::vpc",))]}
    out, adopted, dropped = adoption.adopt(deployment, lambda t, _: "igw-1" if "internet" in t else None)
    assert adopted == [] and len(dropped) == 2 and out["pending_operations"] == []
