"""EC2 routing types of the fake `aws` plugin: RouteTable, Route, RouteTableAssociation.

Like the terraform provider (and unlike a plain "replace everything" Route), a Route's target
(gatewayId / natGatewayId / ...) changes in place with ReplaceRoute and a RouteTableAssociation's
routeTableId with ReplaceRouteTableAssociation; only table and destination (subnet/gateway for an
association) force a replacement, since a replacement created first would collide with the old
route. A Route's id is terraform's `r-<route table id><crc32 of the destination>`. Inline
`routes` on a RouteTable are not supported (the programs use aws.ec2.Route).
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import Any

from fake_aws_base import (
    EC2_TAGGED_INPUTS,
    Context,
    Ec2Handler,
    Handler,
    ec2_arn,
    ec2_tag_spec,
    ignore_codes,
    tag_map,
)


class RouteTable(Ec2Handler):
    token = "aws:ec2/routeTable:RouteTable"
    inputs = EC2_TAGGED_INPUTS | {"vpcId", "routes", "propagatingVgws"}
    computed_inputs = frozenset({"region", "routes", "propagatingVgws"})
    replace_on = frozenset({"region", "vpcId"})
    required = ("vpcId",)
    computed = ("id", "arn", "ownerId", "routes", "propagatingVgws")
    describe = ("describe_route_tables", "RouteTableIds", "RouteTables")
    delete_call = ("delete_route_table", "RouteTableId")
    not_found = ("InvalidRouteTableID.NotFound",)

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        if inputs.get("routes"):
            raise ValueError("inline `routes` are not supported by the fake aws plugin; use aws.ec2.Route")
        ec2 = ctx.client("ec2", inputs)
        rtb_id = ec2.create_route_table(
            VpcId=inputs["vpcId"],
            TagSpecifications=ec2_tag_spec("route-table", ctx.tags_all(inputs.get("tags"))),
        )["RouteTable"]["RouteTableId"]
        return rtb_id, self.read_back(ctx, rtb_id, inputs)

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        t = self.find(ctx, state, rid)
        if t is None:
            return None
        routes = [{"cidrBlock": r.get("DestinationCidrBlock", ""), "gatewayId": r.get("GatewayId", ""),
                   "natGatewayId": r.get("NatGatewayId", "")}
                  for r in t.get("Routes", []) if r.get("GatewayId") != "local"]
        return self.finish(ctx, state, {
            "id": rid,
            "arn": ec2_arn(ctx, state, t["OwnerId"], "route-table", rid),
            "ownerId": t["OwnerId"],
            "vpcId": t["VpcId"],
            "routes": routes,
            "propagatingVgws": [],
            "tagsAll": tag_map(t.get("Tags")),
        })


_ROUTE_TARGETS = {
    "gatewayId": "GatewayId",
    "natGatewayId": "NatGatewayId",
    "networkInterfaceId": "NetworkInterfaceId",
    "transitGatewayId": "TransitGatewayId",
    "vpcPeeringConnectionId": "VpcPeeringConnectionId",
    "egressOnlyGatewayId": "EgressOnlyInternetGatewayId",
    "vpcEndpointId": "VpcEndpointId",
}


class Route(Handler):
    token = "aws:ec2/route:Route"
    inputs = frozenset({"region", "routeTableId", "destinationCidrBlock", *_ROUTE_TARGETS})
    replace_on = frozenset({"region", "routeTableId", "destinationCidrBlock"})
    required = ("routeTableId", "destinationCidrBlock")
    computed = ("id", "origin", "state")
    taggable = False

    @staticmethod
    def route_id(rtb: str, destination: str) -> str:
        """terraform's RouteCreateID: r-<table><crc32 of the destination>."""
        return f"r-{rtb}{binascii.crc32(destination.encode())}"

    @staticmethod
    def _targets(props: Mapping[str, Any]) -> dict[str, str]:
        return {api: props[p] for p, api in _ROUTE_TARGETS.items() if props.get(p)}

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        ec2 = ctx.client("ec2", inputs)
        ec2.create_route(RouteTableId=inputs["routeTableId"],
                         DestinationCidrBlock=inputs["destinationCidrBlock"], **self._targets(inputs))
        rid = self.route_id(inputs["routeTableId"], inputs["destinationCidrBlock"])
        return rid, self.read_back(ctx, rid, inputs)

    @staticmethod
    def _find(ctx: Context, state: Mapping[str, Any]) -> dict[str, Any] | None:
        table = RouteTable().find(ctx, state, state["routeTableId"]) or {}
        for route in table.get("Routes", []):
            if route.get("DestinationCidrBlock") == state.get("destinationCidrBlock"):
                return dict(route)
        return None

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        route = self._find(ctx, state)
        if route is None:
            return None
        outputs: dict[str, Any] = {"id": rid, "origin": route.get("Origin", "CreateRoute"),
                                   "state": route.get("State", "active")}
        for prop, api in _ROUTE_TARGETS.items():
            outputs[prop] = route.get(api, "")
        return self.finish(ctx, state, outputs)

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        ctx.client("ec2", news).replace_route(
            RouteTableId=news["routeTableId"], DestinationCidrBlock=news["destinationCidrBlock"],
            **self._targets(news))
        return self.read_back(ctx, rid, news)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        ec2 = ctx.client("ec2", state)
        ignore_codes(lambda: ec2.delete_route(RouteTableId=state["routeTableId"],
                                              DestinationCidrBlock=state["destinationCidrBlock"]),
                     "InvalidRouteTableID.NotFound", "InvalidRoute.NotFound")


class RouteTableAssociation(Handler):
    token = "aws:ec2/routeTableAssociation:RouteTableAssociation"
    inputs = frozenset({"region", "subnetId", "gatewayId", "routeTableId"})
    replace_on = frozenset({"region", "subnetId", "gatewayId"})
    required = ("routeTableId",)
    taggable = False

    def create(self, ctx: Context, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        kwargs = {"RouteTableId": inputs["routeTableId"]}
        if inputs.get("subnetId"):
            kwargs["SubnetId"] = inputs["subnetId"]
        if inputs.get("gatewayId"):
            kwargs["GatewayId"] = inputs["gatewayId"]
        assoc = ctx.client("ec2", inputs).associate_route_table(**kwargs)["AssociationId"]
        return assoc, self.read_back(ctx, assoc, inputs)

    @staticmethod
    def _locate(ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        """The association by id, else (after an in-place table change gave it a new id, which
        Pulumi cannot record) the one of the same subnet/gateway."""
        ec2 = ctx.client("ec2", state)
        for name, value in (("association.route-table-association-id", rid),
                            ("association.subnet-id", state.get("subnetId")),
                            ("association.gateway-id", state.get("gatewayId"))):
            if not value:
                continue
            tables = ec2.describe_route_tables(Filters=[{"Name": name, "Values": [value]}])
            for table in tables["RouteTables"]:
                for assoc in table.get("Associations", []):
                    if not assoc.get("Main") and (
                        assoc.get("RouteTableAssociationId") == rid
                        or (value != rid and value in (assoc.get("SubnetId"), assoc.get("GatewayId")))
                    ):
                        return dict(assoc)
        return None

    def read(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        assoc = self._locate(ctx, rid, state)
        if assoc is None:
            return None
        return self.finish(ctx, state, {
            "id": rid,
            "routeTableId": assoc["RouteTableId"],
            "subnetId": assoc.get("SubnetId", state.get("subnetId")),
        })

    def update(self, ctx: Context, rid: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        assoc = self._locate(ctx, rid, olds)
        if assoc is None:
            raise RuntimeError(f"route table association {rid} not found")
        ctx.client("ec2", news).replace_route_table_association(
            AssociationId=assoc["RouteTableAssociationId"], RouteTableId=news["routeTableId"])
        return self.read_back(ctx, rid, news)

    def delete(self, ctx: Context, rid: str, state: Mapping[str, Any]) -> None:
        assoc = self._locate(ctx, rid, state)
        if assoc is None:
            return
        ec2 = ctx.client("ec2", state)
        ignore_codes(lambda: ec2.disassociate_route_table(
            AssociationId=assoc["RouteTableAssociationId"]), "InvalidAssociationID.NotFound")


HANDLERS: tuple[Handler, ...] = (RouteTable(), Route(), RouteTableAssociation())
