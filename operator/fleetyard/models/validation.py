"""Admission rules that travel with the types: CEL `x-kubernetes-validations` and shared patterns.

The models attach these to fields through `json_schema_extra`; `fleetyard.crdgen` copies them into
the CRD schemas, so the apiserver enforces them. The pydantic validators on the same models enforce
the equivalent checks for the REST API. Imports nothing but the standard library.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Any

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
# An IAM role or user ARN as an EKS access entry takes it (with its path; not an assumed-role session).
IAM_PRINCIPAL_PATTERN = r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(role|user)/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,128}$"
# A namespace as an EKS namespace-scoped access policy takes it: a DNS label, `*` wildcards allowed.
NAMESPACE_SCOPE_PATTERN = r"^[a-z0-9*]([-a-z0-9*]{0,61}[a-z0-9*])?$"


# Characters a display name must not hold: controls (Cc), format characters (Cf: the bidi overrides
# and isolates U+202A-202E/U+2066-2069, LRM/RLM, zero-width space/joiners, the BOM, soft hyphen) and
# line/paragraph separators (Zl, Zp). They make a name render differently from what it is (Trojan
# Source, CVE-2021-42574) or break the lines of logs and `kubectl get`. RE2 (CEL) spells the classes
# as Python's unicodedata names them; Cs (lone surrogates) can only reach the Python side.
NAME_REFUSED_CATEGORIES = ("Cc", "Cf", "Zl", "Zp")
NAME_REFUSED_PATTERN = "[" + "".join(f"\\p{{{c}}}" for c in NAME_REFUSED_CATEGORIES) + "]"
NAME_CHARACTERS_MESSAGE = "must not contain control, bidi, zero-width or line-separator characters"


def rule(cel: str, message: str, field_path: str | None = None) -> dict[str, str]:
    """One CEL validation rule; the message must name the field it is about."""
    out = {"rule": cel, "message": message}
    if field_path:
        out["fieldPath"] = field_path
    return out


def cel(*rules: dict[str, str]) -> dict[str, Any]:
    """`json_schema_extra` for a field or model carrying CEL rules."""
    return {"x-kubernetes-validations": list(rules)}


def immutable(field: str) -> dict[str, Any]:
    return cel(rule("self == oldSelf", f"{field} is immutable"))


def display_name_rules(field: str) -> list[dict[str, str]]:
    return [rule(f"!self.matches(r'{NAME_REFUSED_PATTERN}')", f"{field} {NAME_CHARACTERS_MESSAGE}")]


def check_display_name(value: str, field: str) -> str:
    """The python twin of `display_name_rules`, naming the first character refused."""
    for position, char in enumerate(value):
        if unicodedata.category(char) in (*NAME_REFUSED_CATEGORIES, "Cs"):
            raise ValueError(f"{field} {NAME_CHARACTERS_MESSAGE} (U+{ord(char):04X} at position {position})")
    return value


def cidr_rules(field: str, exact: bool = False) -> list[dict[str, str]]:
    """CEL for an IPv4 CIDR; `exact` also refuses host bits (203.0.113.7/24): refused rather than
    normalized, so the stored spec is the manifest (a GitOps diff stays empty) and what was meant is
    never guessed."""
    rules = [rule("isCIDR(self) && cidr(self).ip().family() == 4",
                  f"{field} must be an IPv4 CIDR such as 10.0.0.0/16")]
    if exact:
        rules.append(rule(
            "!isCIDR(self) || cidr(self) == cidr(self).masked()",
            # a static message: a messageExpression building the masked CIDR is over the CRD cost budget
            f"{field} must not have host bits set (e.g. 203.0.113.0/24, not 203.0.113.7/24)"))
    return rules


def check_ipv4_cidr(value: str, field: str, min_prefix: int = 0, max_prefix: int = 32, exact: bool = False) -> str:
    """The python twin of `cidr_rules`, for the REST API and unit tests."""
    try:
        net = ipaddress.IPv4Network(value, strict=False)
    except ValueError as exc:
        raise ValueError(f"{field} must be an IPv4 CIDR such as 10.0.0.0/16") from exc
    if exact and str(net) != value:
        raise ValueError(f"{field} must not have host bits set: {value} is the network {net}")
    if not min_prefix <= net.prefixlen <= max_prefix:
        raise ValueError(f"{field} prefix length must be between /{min_prefix} and /{max_prefix}")
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


def check_pattern(value: str, pattern: str, field: str, what: str) -> str:
    """`value` if it matches `pattern`; else ValueError naming `field` and saying what was expected."""
    if not re.match(pattern, value):
        raise ValueError(f"{field}: {value!r} is not {what}")
    return value
