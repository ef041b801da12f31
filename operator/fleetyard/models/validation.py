"""Admission rules that travel with the types: CEL `x-kubernetes-validations` and shared patterns.

The models attach these to fields through `json_schema_extra`; `fleetyard.crdgen` copies them into
the CRD schemas, so the apiserver enforces them. The pydantic validators on the same models enforce
the equivalent checks for the REST API. Imports nothing but the standard library.
"""

from __future__ import annotations

import ipaddress
from typing import Any

# Requests users make with an annotation whose value changes each time (a timestamp, by convention), as
# Flux's reconcile.fluxcd.io/requestedAt: retry a failed run now; refresh the state from the cloud now.
RETRY_ANNOTATION = "fleetyard.io/retry-requested-at"
REFRESH_ANNOTATION = "fleetyard.io/refresh-requested-at"

REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
KUBERNETES_VERSION_PATTERN = r"^1\.[0-9]{1,2}$"
IPV4_CIDR_PATTERN = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$"
INSTANCE_TYPE_PATTERN = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"
# Graviton (arm64) families carry a `g` in the letters after the generation digit: m7g, c6gn, x2gd.
ARM64_INSTANCE_TYPE_PATTERN = "^[a-z]+[0-9]+[a-z-]*g[a-z-]*[.]"
MIXED_ARCHITECTURES_MESSAGE = ("config.systemNodeGroup.instanceTypes must not mix CPU architectures "
                               "(arm64 Graviton types such as m7g with x86_64 types)")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"
K8S_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


def rule(cel: str, message: str, field_path: str | None = None,
         message_expression: str | None = None) -> dict[str, str]:
    """One CEL validation rule; the message must name the field it is about (a `messageExpression`,
    when given, is what the apiserver shows, `message` its fallback)."""
    out = {"rule": cel, "message": message}
    if message_expression:
        out["messageExpression"] = message_expression
    if field_path:
        out["fieldPath"] = field_path
    return out


def cel(*rules: dict[str, str]) -> dict[str, Any]:
    """`json_schema_extra` for a field or model carrying CEL rules."""
    return {"x-kubernetes-validations": list(rules)}


def immutable(field: str) -> dict[str, Any]:
    return cel(rule("self == oldSelf", f"{field} is immutable"))


def host_bits_message(field: str, value: str, network: str) -> str:
    """CIDRs are refused, not normalized, when host bits are set (10.61.1.0/16): the writer may have
    meant 10.61.0.0/16 or 10.61.1.0/24, and a silently rewritten spec would drift from git."""
    return f"{field} {value} has host bits set: use the network address {network} (or a longer prefix)"


def cidr_rules(field: str) -> list[dict[str, str]]:
    return [rule("isCIDR(self) && cidr(self).ip().family() == 4",
                 f"{field} must be an IPv4 CIDR such as 10.0.0.0/16"),
            rule("!isCIDR(self) || cidr(self) == cidr(self).masked()",
                 f"{field} has host bits set: use the network address (e.g. 10.61.0.0/16, not 10.61.1.0/16)",
                 # the masked address itself cannot be in the message: string(cidr(...)) has no size bound
                 # the cost estimator accepts; `self` has (maxLength)
                 message_expression=(f"'{field} ' + self + ' has host bits set: use the network address (the "
                                     "first address of the range, e.g. 10.61.0.0/16 for 10.61.1.0/16)'"))]


def check_ipv4_cidr(value: str, field: str, min_prefix: int = 0, max_prefix: int = 32) -> str:
    """The python twin of `cidr_rules`, for the REST API and unit tests."""
    try:
        net = ipaddress.IPv4Network(value, strict=False)
    except ValueError as exc:
        raise ValueError(f"{field} must be an IPv4 CIDR such as 10.0.0.0/16") from exc
    if not min_prefix <= net.prefixlen <= max_prefix:
        raise ValueError(f"{field} prefix length must be between /{min_prefix} and /{max_prefix}")
    if net.network_address != ipaddress.IPv4Address(value.split("/")[0]):
        raise ValueError(host_bits_message(field, value, str(net)))
    return value


def minor_of(version: str) -> int:
    return int(version.split(".")[1])


VERSION_TRANSITION_RULES = [
    rule("int(self.split('.')[1]) >= int(oldSelf.split('.')[1])",
         "config.kubernetesVersion cannot be lowered"),
    rule("int(self.split('.')[1]) <= int(oldSelf.split('.')[1]) + 1",
         "config.kubernetesVersion can be raised by one minor version at a time"),
]


def check_version_transition(old: str, new: str) -> None:
    """The python twin of VERSION_TRANSITION_RULES."""
    if minor_of(new) < minor_of(old):
        raise ValueError("config.kubernetesVersion cannot be lowered")
    if minor_of(new) > minor_of(old) + 1:
        raise ValueError("config.kubernetesVersion can be raised by one minor version at a time")
