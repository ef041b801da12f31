"""Data-source functions (Invoke) of the fake `aws` plugin.

getAvailabilityZones (ec2.describe_availability_zones), getCallerIdentity (sts), getRegion and
getPartition, with pulumi_aws's tokens and result property names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fake_aws_base import Context


def get_availability_zones(ctx: Context, args: Mapping[str, Any]) -> dict[str, Any]:
    filters = [{"Name": f["name"], "Values": list(f["values"])} for f in args.get("filters") or []]
    if args.get("state"):
        filters.append({"Name": "state", "Values": [args["state"]]})
    kwargs: dict[str, Any] = {"Filters": filters} if filters else {}
    if args.get("allAvailabilityZones"):
        kwargs["AllAvailabilityZones"] = True
    zones = ctx.client("ec2", args).describe_availability_zones(**kwargs)["AvailabilityZones"]
    excluded_names = set(args.get("excludeNames") or [])
    excluded_ids = set(args.get("excludeZoneIds") or [])
    zones = [z for z in zones if z["ZoneName"] not in excluded_names and z["ZoneId"] not in excluded_ids]
    zones.sort(key=lambda z: z["ZoneName"])
    region = ctx.region_of(args)
    result: dict[str, Any] = {
        "id": region,
        "region": region,
        "names": [z["ZoneName"] for z in zones],
        "zoneIds": [z["ZoneId"] for z in zones],
        "groupNames": sorted({z.get("GroupName", region) for z in zones}),
    }
    for key in ("state", "allAvailabilityZones", "excludeNames", "excludeZoneIds", "filters"):
        if args.get(key) is not None:
            result[key] = args[key]
    return result


def get_caller_identity(ctx: Context, args: Mapping[str, Any]) -> dict[str, Any]:
    identity = ctx.client("sts").get_caller_identity()
    return {"id": identity["Account"], "accountId": identity["Account"], "arn": identity["Arn"],
            "userId": identity["UserId"]}


def get_region(ctx: Context, args: Mapping[str, Any]) -> dict[str, Any]:
    region = args.get("region") or args.get("name") or ctx.region
    return {"id": region, "region": region, "name": region,
            "endpoint": f"ec2.{region}.amazonaws.com", "description": region}


def get_partition(ctx: Context, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com",
            "reverseDnsPrefix": "com.amazonaws"}


INVOKES: dict[str, Callable[[Context, Mapping[str, Any]], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": get_availability_zones,
    "aws:index/getCallerIdentity:getCallerIdentity": get_caller_identity,
    "aws:index/getRegion:getRegion": get_region,
    "aws:index/getPartition:getPartition": get_partition,
}
