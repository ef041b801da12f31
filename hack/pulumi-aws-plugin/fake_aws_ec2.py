"""EC2 resource types of the fake `aws` plugin: VPC, subnets, internet/NAT gateways, EIPs.

Vpc, Subnet, InternetGateway, Eip and NatGateway with pulumi_aws's type tokens and camelCase
properties, backed by the EC2 API (moto in tests), plus the tag and ARN helpers the route types
(`fake_aws_ec2_routes`) share. Every read returns `tagsAll` as EC2 holds it; `tags` are derived.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fake_aws_base import (
    Context,
    Handler,
    changed,
    ec2_tag_list,
    ec2_tags,
    ignore_codes,
    tag_delta,
    wait_for,
)

TAGGED_INPUTS = frozenset({"tags", "region"})


def tag_spec(kind: str, tags: Mapping[str, str] | None) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": ec2_tag_list(tags)}] if tags else []


def update_tags(ctx: Context, rid: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> None:
    ec2 = ctx.client("ec2", news)
    to_set, to_remove = tag_delta(olds.get("tagsAll"), ctx.tags_all(news.get("tags")))
    if to_set:
        ec2.create_tags(Resources=[rid], Tags=ec2_tag_list(to_set))
    if to_remove:
        ec2.delete_tags(Resources=[rid], Tags=[{"Key": k} for k in to_remove])


def ec2_arn(ctx: Context, props: Mapping[str, Any], owner: str, kind: str, rid: str) -> str:
    return f"arn:aws:ec2:{ctx.region_of(props)}:{owner}:{kind}/{rid}"


class Vpc(Handler):
    token = "aws:ec2/vpc:Vpc"
    inputs = TAGGED_INPUTS | {"cidrBlock", "enableDnsHostnames", "enableDnsSupport", "instanceTenancy",
                      "enableNetworkAddressUsageMetrics"}
    computed_inputs = frozenset({"region", "instanceTenancy", "enableNetworkAddressUsageMetrics"})
    replace_on = frozenset({"region", "cidrBlock", "instanceTenancy"})
    defaults = {"enableDnsSupport": True, "enableDnsHostnames": False}
    computed = ("id", "arn", "ownerId", "defaultRouteTableId", "mainRouteTableId",
                "defaultSecurityGroupId", "defaultNetworkAclId", "dhcpOptionsId", "instanceTenancy")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        kwargs: dict[str, Any] = {"CidrBlock": inputs["cidrBlock"],
                                  "TagSpecifications": tag_spec("vpc", ctx.tags_all(inputs.get("tags")))}
        if inputs.get("instanceTenancy"):
            kwargs["InstanceTenancy"] = inputs["instanceTenancy"]
        vpc_id = ec2.create_vpc(**kwargs)["Vpc"]["VpcId"]
        self._attributes(ec2, vpc_id, {}, inputs)
        outputs = self.read(ctx, vpc_id, inputs)
        assert outputs is not None
        return vpc_id, outputs

    @staticmethod
    def _attributes(ec2: Any, vpc_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> None:
        for prop, attr in (("enableDnsSupport", "EnableDnsSupport"),
                           ("enableDnsHostnames", "EnableDnsHostnames")):
            if news.get(prop) is not None and olds.get(prop) != news.get(prop):
                ec2.modify_vpc_attribute(VpcId=vpc_id, **{attr: {"Value": bool(news[prop])}})

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        ec2 = ctx.client("ec2", state)
        found = ignore_codes(lambda: ec2.describe_vpcs(VpcIds=[rid])["Vpcs"], "InvalidVpcID.NotFound")
        if not found:
            return None
        vpc = found[0]

        def attribute(name: str, key: str) -> bool:
            return bool(ec2.describe_vpc_attribute(VpcId=rid, Attribute=name)[key]["Value"])

        main = ec2.describe_route_tables(Filters=[
            {"Name": "vpc-id", "Values": [rid]}, {"Name": "association.main", "Values": ["true"]}])
        main_id = next((t["RouteTableId"] for t in main["RouteTables"]), "")
        groups = ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [rid]}, {"Name": "group-name", "Values": ["default"]}])
        acls = ec2.describe_network_acls(Filters=[
            {"Name": "vpc-id", "Values": [rid]}, {"Name": "default", "Values": ["true"]}])
        return self.finish(ctx, state, {
            "id": rid,
            "arn": ec2_arn(ctx, state, vpc["OwnerId"], "vpc", rid),
            "cidrBlock": vpc["CidrBlock"],
            "ownerId": vpc["OwnerId"],
            "instanceTenancy": vpc.get("InstanceTenancy", "default"),
            "dhcpOptionsId": vpc.get("DhcpOptionsId", ""),
            "enableDnsSupport": attribute("enableDnsSupport", "EnableDnsSupport"),
            "enableDnsHostnames": attribute("enableDnsHostnames", "EnableDnsHostnames"),
            "enableNetworkAddressUsageMetrics": False,
            "defaultRouteTableId": main_id,
            "mainRouteTableId": main_id,
            "defaultSecurityGroupId": next((g["GroupId"] for g in groups["SecurityGroups"]), ""),
            "defaultNetworkAclId": next((a["NetworkAclId"] for a in acls["NetworkAcls"]), ""),
            "ipv6CidrBlock": "",
            "assignGeneratedIpv6CidrBlock": False,
            "tagsAll": ec2_tags(vpc.get("Tags")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        self._attributes(ctx.client("ec2", news), rid, olds, news)
        update_tags(ctx, rid, olds, news)
        outputs = self.read(ctx, rid, news)
        assert outputs is not None
        return outputs

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        ec2 = ctx.client("ec2", state)
        ignore_codes(lambda: ec2.delete_vpc(VpcId=rid), "InvalidVpcID.NotFound")


class Subnet(Handler):
    token = "aws:ec2/subnet:Subnet"
    inputs = TAGGED_INPUTS | {"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId",
                      "mapPublicIpOnLaunch"}
    computed_inputs = frozenset({"region", "availabilityZone", "availabilityZoneId"})
    replace_on = frozenset({"region", "vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"})
    required = ("vpcId",)
    defaults = {"mapPublicIpOnLaunch": False}
    computed = ("id", "arn", "ownerId", "availabilityZone", "availabilityZoneId")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        kwargs: dict[str, Any] = {"VpcId": inputs["vpcId"], "CidrBlock": inputs["cidrBlock"],
                                  "TagSpecifications": tag_spec("subnet", ctx.tags_all(inputs.get("tags")))}
        if inputs.get("availabilityZone"):
            kwargs["AvailabilityZone"] = inputs["availabilityZone"]
        elif inputs.get("availabilityZoneId"):
            kwargs["AvailabilityZoneId"] = inputs["availabilityZoneId"]
        subnet_id = ec2.create_subnet(**kwargs)["Subnet"]["SubnetId"]
        if inputs.get("mapPublicIpOnLaunch"):
            ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
        outputs = self.read(ctx, subnet_id, inputs)
        assert outputs is not None
        return subnet_id, outputs

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        ec2 = ctx.client("ec2", state)
        found = ignore_codes(lambda: ec2.describe_subnets(SubnetIds=[rid])["Subnets"],
                             "InvalidSubnetID.NotFound")
        if not found:
            return None
        s = found[0]
        return self.finish(ctx, state, {
            "id": rid,
            "arn": s.get("SubnetArn") or ec2_arn(ctx, state, s["OwnerId"], "subnet", rid),
            "vpcId": s["VpcId"],
            "cidrBlock": s["CidrBlock"],
            "availabilityZone": s["AvailabilityZone"],
            "availabilityZoneId": s.get("AvailabilityZoneId", ""),
            "mapPublicIpOnLaunch": bool(s.get("MapPublicIpOnLaunch")),
            "assignIpv6AddressOnCreation": bool(s.get("AssignIpv6AddressOnCreation")),
            "ownerId": s["OwnerId"],
            "tagsAll": ec2_tags(s.get("Tags")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        if changed(olds, news, "mapPublicIpOnLaunch"):
            ctx.client("ec2", news).modify_subnet_attribute(
                SubnetId=rid, MapPublicIpOnLaunch={"Value": bool(news.get("mapPublicIpOnLaunch"))})
        update_tags(ctx, rid, olds, news)
        outputs = self.read(ctx, rid, news)
        assert outputs is not None
        return outputs

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        ec2 = ctx.client("ec2", state)
        ignore_codes(lambda: ec2.delete_subnet(SubnetId=rid), "InvalidSubnetID.NotFound")


class InternetGateway(Handler):
    token = "aws:ec2/internetGateway:InternetGateway"
    inputs = TAGGED_INPUTS | {"vpcId"}
    computed = ("id", "arn", "ownerId")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        igw_id = ec2.create_internet_gateway(
            TagSpecifications=tag_spec("internet-gateway", ctx.tags_all(inputs.get("tags")))
        )["InternetGateway"]["InternetGatewayId"]
        if inputs.get("vpcId"):
            ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=inputs["vpcId"])
        outputs = self.read(ctx, igw_id, inputs)
        assert outputs is not None
        return igw_id, outputs

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        ec2 = ctx.client("ec2", state)
        found = ignore_codes(
            lambda: ec2.describe_internet_gateways(InternetGatewayIds=[rid])["InternetGateways"],
            "InvalidInternetGatewayID.NotFound")
        if not found:
            return None
        igw = found[0]
        attached = [a["VpcId"] for a in igw.get("Attachments", [])]
        return self.finish(ctx, state, {
            "id": rid,
            "arn": ec2_arn(ctx, state, igw["OwnerId"], "internet-gateway", rid),
            "ownerId": igw["OwnerId"],
            "vpcId": attached[0] if attached else None,
            "tagsAll": ec2_tags(igw.get("Tags")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        ec2 = ctx.client("ec2", news)
        if changed(olds, news, "vpcId"):
            if olds.get("vpcId"):
                ec2.detach_internet_gateway(InternetGatewayId=rid, VpcId=olds["vpcId"])
            if news.get("vpcId"):
                ec2.attach_internet_gateway(InternetGatewayId=rid, VpcId=news["vpcId"])
        update_tags(ctx, rid, olds, news)
        outputs = self.read(ctx, rid, news)
        assert outputs is not None
        return outputs

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        ec2 = ctx.client("ec2", state)
        found = ignore_codes(
            lambda: ec2.describe_internet_gateways(InternetGatewayIds=[rid])["InternetGateways"],
            "InvalidInternetGatewayID.NotFound")
        if not found:
            return
        for attachment in found[0].get("Attachments", []):
            ignore_codes(lambda: ec2.detach_internet_gateway(
                InternetGatewayId=rid, VpcId=attachment["VpcId"]), "Gateway.NotAttached")
        ignore_codes(lambda: ec2.delete_internet_gateway(InternetGatewayId=rid),
                     "InvalidInternetGatewayID.NotFound")


class Eip(Handler):
    token = "aws:ec2/eip:Eip"
    inputs = TAGGED_INPUTS | {"domain", "networkBorderGroup", "publicIpv4Pool"}
    computed_inputs = frozenset({"region", "domain", "networkBorderGroup", "publicIpv4Pool"})
    replace_on = frozenset({"region", "domain", "networkBorderGroup", "publicIpv4Pool"})
    defaults = {"domain": "vpc"}
    computed = ("id", "arn", "allocationId", "publicIp", "publicDns", "associationId",
                "privateIp", "networkInterface")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        allocation = ec2.allocate_address(Domain=inputs.get("domain") or "vpc")["AllocationId"]
        tags = ctx.tags_all(inputs.get("tags"))
        if tags:
            ec2.create_tags(Resources=[allocation], Tags=ec2_tag_list(tags))
        outputs = self.read(ctx, allocation, inputs)
        assert outputs is not None
        return allocation, outputs

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        ec2 = ctx.client("ec2", state)
        found = ignore_codes(lambda: ec2.describe_addresses(AllocationIds=[rid])["Addresses"],
                             "InvalidAllocationID.NotFound")
        if not found:
            return None
        a = found[0]
        ip = a.get("PublicIp", "")
        return self.finish(ctx, state, {
            "id": rid,
            "allocationId": rid,
            "arn": ec2_arn(ctx, state, ctx.clients.account_id(), "elastic-ip", rid),
            "domain": a.get("Domain", "vpc"),
            "publicIp": ip,
            "publicDns": f"ec2-{ip.replace('.', '-')}.compute-1.amazonaws.com" if ip else "",
            "associationId": a.get("AssociationId", ""),
            "privateIp": a.get("PrivateIpAddress", ""),
            "networkInterface": a.get("NetworkInterfaceId", ""),
            "networkBorderGroup": a.get("NetworkBorderGroup", ctx.region_of(state)),
            "publicIpv4Pool": a.get("PublicIpv4Pool", "amazon"),
            "tagsAll": ec2_tags(a.get("Tags")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        update_tags(ctx, rid, olds, news)
        outputs = self.read(ctx, rid, news)
        assert outputs is not None
        return outputs

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        ec2 = ctx.client("ec2", state)
        ignore_codes(lambda: ec2.release_address(AllocationId=rid), "InvalidAllocationID.NotFound")


class NatGateway(Handler):
    token = "aws:ec2/natGateway:NatGateway"
    inputs = TAGGED_INPUTS | {"allocationId", "subnetId", "connectivityType", "privateIp"}
    computed_inputs = frozenset({"region", "privateIp"})
    replace_on = frozenset({"region", "allocationId", "subnetId", "connectivityType", "privateIp"})
    required = ("subnetId",)
    defaults = {"connectivityType": "public"}
    computed = ("id", "publicIp", "privateIp", "networkInterfaceId", "associationId", "vpcId")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        kwargs: dict[str, Any] = {
            "SubnetId": inputs["subnetId"],
            "ConnectivityType": inputs.get("connectivityType") or "public",
            "TagSpecifications": tag_spec("natgateway", ctx.tags_all(inputs.get("tags"))),
        }
        if inputs.get("allocationId"):
            kwargs["AllocationId"] = inputs["allocationId"]
        nat_id = ec2.create_nat_gateway(**kwargs)["NatGateway"]["NatGatewayId"]
        wait_for(lambda: self._state(ec2, nat_id) == "available", f"NAT gateway {nat_id}")
        outputs = self.read(ctx, nat_id, inputs)
        assert outputs is not None
        return nat_id, outputs

    @staticmethod
    def _find(ec2: Any, nat_id: str) -> dict[str, Any] | None:
        found = ignore_codes(lambda: ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"],
                             "NatGatewayNotFound", "InvalidNatGatewayID.NotFound")
        return found[0] if found else None

    def _state(self, ec2: Any, nat_id: str) -> str:
        nat = self._find(ec2, nat_id)
        return str(nat["State"]) if nat else "deleted"

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        nat = self._find(ctx.client("ec2", state), rid)
        if nat is None or nat["State"] in ("deleted", "deleting", "failed"):
            return None
        address = (nat.get("NatGatewayAddresses") or [{}])[0]
        return self.finish(ctx, state, {
            "id": rid,
            "subnetId": nat["SubnetId"],
            "vpcId": nat.get("VpcId", ""),
            "connectivityType": nat.get("ConnectivityType", "public"),
            "allocationId": address.get("AllocationId", state.get("allocationId")),
            "publicIp": address.get("PublicIp", ""),
            "privateIp": address.get("PrivateIp", ""),
            "networkInterfaceId": address.get("NetworkInterfaceId", ""),
            "associationId": address.get("AssociationId", ""),
            "tagsAll": ec2_tags(nat.get("Tags")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        update_tags(ctx, rid, olds, news)
        outputs = self.read(ctx, rid, news)
        assert outputs is not None
        return outputs

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        ec2 = ctx.client("ec2", state)
        ignore_codes(lambda: ec2.delete_nat_gateway(NatGatewayId=rid),
                     "NatGatewayNotFound", "InvalidNatGatewayID.NotFound")
        wait_for(lambda: self._state(ec2, rid) == "deleted", f"NAT gateway {rid} deleted")


HANDLERS: tuple[Handler, ...] = (Vpc(), Subnet(), InternetGateway(), Eip(), NatGateway())
