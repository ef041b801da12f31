"""Subnet layout of a Network: which CIDR each public and private subnet gets.

Pure arithmetic, called by the network program. The VPC is cut in quarters: one quarter per
availability zone for the private subnets (where nodes and pods live and need addresses), and the
last quarter cut again in four for the public subnets (load balancers and NAT gateways only).
Works from /16 (private /18, public /20) down to /24 (private /26, public /28, AWS's smallest).
"""

from __future__ import annotations

import dataclasses
import ipaddress

MAX_ZONES = 3


@dataclasses.dataclass(frozen=True)
class SubnetPlan:
    zone: str
    public_cidr: str
    private_cidr: str


def plan(vpc_cidr: str, zones: list[str]) -> list[SubnetPlan]:
    """One public and one private subnet per zone, for the first three zones (sorted)."""
    chosen = sorted(zones)[:MAX_ZONES]
    if not chosen:
        raise ValueError("the region offers no availability zone")
    network = ipaddress.ip_network(vpc_cidr, strict=True)
    quarters = list(network.subnets(prefixlen_diff=2))
    public = list(quarters[-1].subnets(prefixlen_diff=2))
    return [SubnetPlan(zone, str(public[i]), str(quarters[i])) for i, zone in enumerate(chosen)]
