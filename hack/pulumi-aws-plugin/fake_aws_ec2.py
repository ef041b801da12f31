"""EC2 resource types of the fake `aws` plugin: VPC, subnets, internet/NAT gateways, EIPs.

Vpc, Subnet, InternetGateway, Eip and NatGateway with pulumi_aws's type tokens and camelCase
properties, backed by the EC2 API (moto in tests), on `fake_aws_base.Ec2Handler` (find by id,
delete, tag updates) like the route types (`fake_aws_ec2_routes`). Every read returns `tagsAll`
as EC2 holds it; `tags` are derived.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fake_aws_base import (
    EC2_TAGGED_INPUTS,
    Context,
    Ec2Handler,
    Handler,
    changed,
    ec2_arn,
    ec2_tag_spec,
    ignore_codes,
    tag_list,
    tag_map,
    wait_for,
)


class Vpc(Ec2Handler):
    token = "aws:ec2/vpc:Vpc"
    inputs = EC2_TAGGED_INPUTS | {"cidrBlock", "enableDnsHostnames", "enableDnsSupport",
                                  "instanceTenancy", "enableNetworkAddressUsageMetrics"}
    computed_inputs = frozenset({"region", "instanceTenancy", "enableNetworkAddressUsageMetrics"})
    replace_on = frozenset({"region", "cidrBlock", "instanceTenancy"})
    defaults = {"enableDnsSupport": True, "enableDnsHostnames": False}
    computed = ("id", "arn", "ownerId", "defaultRouteTableId", "mainRouteTableId",
                "defaultSecurityGroupId", "defaultNetworkAclId", "dhcpOptionsId", "instanceTenancy")
    describe = ("describe_vpcs", "VpcIds", "Vpcs")
    delete_call = ("delete_vpc", "VpcId")
    not_found = ("InvalidVpcID.NotFound",)

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        kwargs: dict[str, Any] = {"CidrBlock": inputs["cidrBlock"],
                                  "TagSpecifications": ec2_tag_spec("vpc", ctx.tags_all(inputs.get("tags")))}
        if inputs.get("instanceTenancy"):
            kwargs["InstanceTenancy"] = inputs["instanceTenancy"]
        vpc_id = ec2.create_vpc(**kwargs)["Vpc"]["VpcId"]
        self._attributes(ec2, vpc_id, {}, inputs)
        return vpc_id, self.read_back(ctx, vpc_id, inputs)

    @staticmethod
    def _attributes(ec2: Any, vpc_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> None:
        for prop, attr in (("enableDnsSupport", "EnableDnsSupport"),
                           ("enableDnsHostnames", "EnableDnsHostnames")):
            if news.get(prop) is not None and olds.get(prop) != news.get(prop):
                ec2.modify_vpc_attribute(VpcId=vpc_id, **{attr: {"Value": bool(news[prop])}})

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        vpc = self.find(ctx, state, rid)
        if vpc is None:
            return None
        ec2 = ctx.client("ec2", state)

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
            "tagsAll": tag_map(vpc.get("Tags")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        self._attributes(ctx.client("ec2", news), rid, olds, news)
        return super().update(ctx, rid, olds, news)


class Subnet(Ec2Handler):
    token = "aws:ec2/subnet:Subnet"
    inputs = EC2_TAGGED_INPUTS | {"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId",
                                  "mapPublicIpOnLaunch"}
    computed_inputs = frozenset({"region", "availabilityZone", "availabilityZoneId"})
    replace_on = frozenset({"region", "vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"})
    required = ("vpcId",)
    defaults = {"mapPublicIpOnLaunch": False}
    computed = ("id", "arn", "ownerId", "availabilityZone", "availabilityZoneId")
    describe = ("describe_subnets", "SubnetIds", "Subnets")
    delete_call = ("delete_subnet", "SubnetId")
    not_found = ("InvalidSubnetID.NotFound",)

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        kwargs: dict[str, Any] = {
            "VpcId": inputs["vpcId"], "CidrBlock": inputs["cidrBlock"],
            "TagSpecifications": ec2_tag_spec("subnet", ctx.tags_all(inputs.get("tags")))}
        if inputs.get("availabilityZone"):
            kwargs["AvailabilityZone"] = inputs["availabilityZone"]
        elif inputs.get("availabilityZoneId"):
            kwargs["AvailabilityZoneId"] = inputs["availabilityZoneId"]
        subnet_id = ec2.create_subnet(**kwargs)["Subnet"]["SubnetId"]
        if inputs.get("mapPublicIpOnLaunch"):
            ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
        return subnet_id, self.read_back(ctx, subnet_id, inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        s = self.find(ctx, state, rid)
        if s is None:
            return None
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
            "tagsAll": tag_map(s.get("Tags")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        if changed(olds, news, "mapPublicIpOnLaunch"):
            ctx.client("ec2", news).modify_subnet_attribute(
                SubnetId=rid, MapPublicIpOnLaunch={"Value": bool(news.get("mapPublicIpOnLaunch"))})
        return super().update(ctx, rid, olds, news)


class InternetGateway(Ec2Handler):
    token = "aws:ec2/internetGateway:InternetGateway"
    inputs = EC2_TAGGED_INPUTS | {"vpcId"}
    computed = ("id", "arn", "ownerId")
    describe = ("describe_internet_gateways", "InternetGatewayIds", "InternetGateways")
    delete_call = ("delete_internet_gateway", "InternetGatewayId")
    not_found = ("InvalidInternetGatewayID.NotFound",)

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        igw_id = ec2.create_internet_gateway(
            TagSpecifications=ec2_tag_spec("internet-gateway", ctx.tags_all(inputs.get("tags")))
        )["InternetGateway"]["InternetGatewayId"]
        if inputs.get("vpcId"):
            ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=inputs["vpcId"])
        return igw_id, self.read_back(ctx, igw_id, inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        igw = self.find(ctx, state, rid)
        if igw is None:
            return None
        attached = [a["VpcId"] for a in igw.get("Attachments", [])]
        return self.finish(ctx, state, {
            "id": rid,
            "arn": ec2_arn(ctx, state, igw["OwnerId"], "internet-gateway", rid),
            "ownerId": igw["OwnerId"],
            "vpcId": attached[0] if attached else None,
            "tagsAll": tag_map(igw.get("Tags")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        ec2 = ctx.client("ec2", news)
        if changed(olds, news, "vpcId"):
            if olds.get("vpcId"):
                ec2.detach_internet_gateway(InternetGatewayId=rid, VpcId=olds["vpcId"])
            if news.get("vpcId"):
                ec2.attach_internet_gateway(InternetGatewayId=rid, VpcId=news["vpcId"])
        return super().update(ctx, rid, olds, news)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        igw = self.find(ctx, state, rid)
        if igw is None:
            return
        ec2 = ctx.client("ec2", state)
        for attachment in igw.get("Attachments", []):
            ignore_codes(lambda: ec2.detach_internet_gateway(
                InternetGatewayId=rid, VpcId=attachment["VpcId"]), "Gateway.NotAttached")
        super().delete(ctx, rid, state)


class Eip(Ec2Handler):
    token = "aws:ec2/eip:Eip"
    inputs = EC2_TAGGED_INPUTS | {"domain", "networkBorderGroup", "publicIpv4Pool"}
    computed_inputs = frozenset({"region", "domain", "networkBorderGroup", "publicIpv4Pool"})
    replace_on = frozenset({"region", "domain", "networkBorderGroup", "publicIpv4Pool"})
    defaults = {"domain": "vpc"}
    computed = ("id", "arn", "allocationId", "publicIp", "publicDns", "associationId",
                "privateIp", "networkInterface")
    describe = ("describe_addresses", "AllocationIds", "Addresses")
    delete_call = ("release_address", "AllocationId")
    not_found = ("InvalidAllocationID.NotFound",)

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        allocation = ec2.allocate_address(Domain=inputs.get("domain") or "vpc")["AllocationId"]
        tags = ctx.tags_all(inputs.get("tags"))
        if tags:
            ec2.create_tags(Resources=[allocation], Tags=tag_list(tags))
        return allocation, self.read_back(ctx, allocation, inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        a = self.find(ctx, state, rid)
        if a is None:
            return None
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
            "tagsAll": tag_map(a.get("Tags")),
        })


class NatGateway(Ec2Handler):
    token = "aws:ec2/natGateway:NatGateway"
    inputs = EC2_TAGGED_INPUTS | {"allocationId", "subnetId", "connectivityType", "privateIp"}
    computed_inputs = frozenset({"region", "privateIp"})
    replace_on = frozenset({"region", "allocationId", "subnetId", "connectivityType", "privateIp"})
    required = ("subnetId",)
    defaults = {"connectivityType": "public"}
    computed = ("id", "publicIp", "privateIp", "networkInterfaceId", "associationId", "vpcId")
    describe = ("describe_nat_gateways", "NatGatewayIds", "NatGateways")
    delete_call = ("delete_nat_gateway", "NatGatewayId")
    not_found = ("NatGatewayNotFound", "InvalidNatGatewayID.NotFound")

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        kwargs: dict[str, Any] = {
            "SubnetId": inputs["subnetId"],
            "ConnectivityType": inputs.get("connectivityType") or "public",
            "TagSpecifications": ec2_tag_spec("natgateway", ctx.tags_all(inputs.get("tags"))),
        }
        if inputs.get("allocationId"):
            kwargs["AllocationId"] = inputs["allocationId"]
        nat_id = ec2.create_nat_gateway(**kwargs)["NatGateway"]["NatGatewayId"]
        wait_for(lambda: self._state(ctx, inputs, nat_id) == "available", f"NAT gateway {nat_id}")
        return nat_id, self.read_back(ctx, nat_id, inputs)

    def _state(self, ctx: Context, props: Mapping[str, Any], nat_id: str) -> str:
        nat = self.find(ctx, props, nat_id)
        return str(nat["State"]) if nat else "deleted"

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        nat = self.find(ctx, state, rid)
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
            "tagsAll": tag_map(nat.get("Tags")),
        })

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        super().delete(ctx, rid, state)
        wait_for(lambda: self._state(ctx, state, rid) == "deleted", f"NAT gateway {rid} deleted")


HANDLERS: tuple[Handler, ...] = (Vpc(), Subnet(), InternetGateway(), Eip(), NatGateway())
