"""The Network kind: a VPC (subnets, gateways, routes) built in a Connection's account.

Seed entity `network`. Reconciled by the provisioning runner through a Pulumi stack.
"""

from __future__ import annotations

from typing import Literal

import pydantic

from fleetyard.models import common, validation

InfraPhase = Literal["pending", "provisioning", "active", "updating", "destroying", "destroyed", "failed"]


class NetworkConfig(common.Model):
    cidr: str = pydantic.Field(
        pattern=validation.IPV4_CIDR_PATTERN, max_length=18,
        json_schema_extra=validation.cel(
            *validation.cidr_rules("config.cidr"),
            validation.rule("!isCIDR(self) || (cidr(self).prefixLength() >= 16 && cidr(self).prefixLength() <= 24)",
                            "config.cidr prefix length must be between /16 and /24"),
            validation.rule("self == oldSelf", "config.cidr is immutable")),
        description="IPv4 CIDR of the VPC, /16 to /24.")
    natGateways: Literal["OnePerAz", "Single"] = pydantic.Field(
        "OnePerAz", description="One NAT gateway per availability zone, or one shared by all.")

    @pydantic.field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return validation.check_ipv4_cidr(value, "config.cidr", 16, 24)


class NetworkSpec(common.Model):
    connectionRef: common.LocalObjectReference = pydantic.Field(
        json_schema_extra=validation.immutable("connectionRef"))
    displayName: common.DisplayName
    region: str = pydantic.Field(pattern=validation.REGION_PATTERN, json_schema_extra=validation.immutable("region"))
    config: NetworkConfig
    deletionPolicy: Literal["Delete", "Retain"] = pydantic.Field(
        "Delete", description="On kubectl delete: Delete destroys the VPC first, Retain leaves it.")


class NetworkStatus(common.StatusBase):
    status: InfraPhase | None = None
    statusMessage: str | None = None
    providerNetworkId: str | None = None
    iacState: common.IacState | None = None
    iacOutputs: dict[str, str] | None = None
    operationRef: common.LocalObjectReference | None = None
    operationId: str | None = None


Network = common.Resource[NetworkSpec, NetworkStatus]
