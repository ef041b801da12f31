"""sts:AssumeRole decided the way AWS decides it, for the test bed's moto server.

`fleetyard.devenv.moto_main` installs `check_action_permitted` and `assume_role_response` into moto
5.2.5, which with IAM access control on
- hands out credentials for a role that does not exist (it checks a trust policy only if the role
  is found, and then only the caller's own policies);
- lets a request without `ExternalId` pass `Condition: {StringEquals: {sts:ExternalId: ...}}` (a
  missing key is skipped, where AWS says the condition is false), and knows no other operator;
- answers a 500 for a statement whose principal is not `{"AWS": ...}` (e.g. `{"Service": ...}`),
  denies outright when any one statement does not name the caller (even if another does), lets a
  `Deny` statement allow, does not match `arn:aws:iam::ACCT:root` or a bare account id to a
  principal of that account, nor a role ARN to a session of that role.

Here a trust policy is evaluated as IAM does for the principals the test bed has (IAM users and
assumed-role sessions): an explicit `Deny` wins, else an `Allow` whose `Action` (or `NotAction`),
`Principal` and `Condition` all match. A trust policy that names the caller (its user ARN, its
role ARN or its session ARN, or `*`) is enough on its own within the role's account; one that
names only the caller's account (`ACCT` or `arn:aws:iam::ACCT:root`), and any cross-account
assumption, also needs an `Allow` of the caller's own policies. An explicit `Deny` in those always
refuses. The refusal is AWS's `AccessDenied` ("User: <caller> is not authorized to perform:
sts:AssumeRole on resource: <role>"), the same for a role that does not exist, so the answer does
not tell whether it does.

Conditions: the String*, Arn*, Bool and Null operators, the `...IfExists` suffix and the
`ForAnyValue:` / `ForAllValues:` prefixes, over the keys `sts:ExternalId`, `sts:RoleSessionName`,
`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid` and `aws:username`
(key names case-insensitive, as in IAM). A key the request lacks fails every operator but the
negated ones, `...IfExists` and `Null`, as IAM documents. Not evaluated: `NotPrincipal`, policy
variables, session policies, tags and source identity, any other key (treated as absent) or
operator (the statement does not apply).

Whether or not access control is on, `assume_role_response` also refuses what AWS validates
before it issues credentials: a `RoleSessionName` or `ExternalId` outside AWS's pattern and
length, a missing role (AccessDenied), `DurationSeconds` above the role's `MaxSessionDuration`,
and above an hour for a session assumed with another role's session (role chaining).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

ASSUME_ROLE = "sts:AssumeRole"
CHAINED_MAX_SECONDS = 3600
DEFAULT_MAX_SESSION_SECONDS = 3600
SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")
_ACCOUNT_ID = re.compile(r"\d{12}")


class Match(enum.IntEnum):
    """How a trust policy's `Principal` names a caller (ordered: a stronger match wins)."""

    NONE = 0
    ACCOUNT = 1   # the caller's account: the caller's own policies must allow too
    EXPLICIT = 2  # the caller itself (or `*`): enough within the role's account


class Verdict(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    NONE = "none"  # no statement applies: implicitly denied


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who calls AssumeRole: an IAM user, or a session of an assumed role (`role_arn` set)."""

    arn: str            # GetCallerIdentity's Arn: the user's ARN, or arn:aws:sts::A:assumed-role/R/S
    account: str
    user_id: str = ""   # GetCallerIdentity's UserId (aws:userid)
    role_arn: str = ""  # an assumed-role caller's IAM role ARN, with its path

    @property
    def principal_arn(self) -> str:
        """`aws:PrincipalArn`: a session's role ARN, a user's own ARN."""
        return self.role_arn or self.arn

    @property
    def principal_type(self) -> str:
        return "AssumedRole" if self.role_arn else "User"


def request_context(caller: Caller, external_id: str | None, session_name: str | None) -> dict[str, str]:
    """The condition keys of an AssumeRole request, lower-cased (IAM compares key names so)."""
    context = {
        "aws:principalarn": caller.principal_arn,
        "aws:principalaccount": caller.account,
        "aws:principaltype": caller.principal_type,
    }
    if caller.user_id:
        context["aws:userid"] = caller.user_id
    if not caller.role_arn:
        context["aws:username"] = caller.arn.rsplit("/", 1)[-1]
    if external_id is not None:
        context["sts:externalid"] = external_id
    if session_name is not None:
        context["sts:rolesessionname"] = session_name
    return context


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's `*` / `?` matching (StringLike, ArnLike, Action)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def principal_match(principal: Any, caller: Caller) -> Match:
    """How the statement's `Principal` names `caller` (only its `AWS` part can name an IAM caller)."""
    if principal == "*":
        return Match.EXPLICIT
    if not isinstance(principal, Mapping):
        return Match.NONE
    best = Match.NONE
    for value in _values(principal.get("AWS")):
        if value == "*" or value in (caller.arn, caller.role_arn):
            return Match.EXPLICIT
        if value == caller.account or value == f"arn:aws:iam::{caller.account}:root":
            best = Match.ACCOUNT
    return best


def action_matches(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_wildcard(p, action, ignore_case=True) for p in _values(statement["NotAction"]))
    return any(_wildcard(p, action, ignore_case=True) for p in _values(statement.get("Action")))


_Compare = Callable[[str, str], bool]
_OPERATORS: dict[str, tuple[_Compare, bool]] = {  # name -> (expected matches actual, negated)
    "StringEquals": (lambda e, a: e == a, False),
    "StringNotEquals": (lambda e, a: e == a, True),
    "StringEqualsIgnoreCase": (lambda e, a: e.lower() == a.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda e, a: e.lower() == a.lower(), True),
    "StringLike": (_wildcard, False),
    "StringNotLike": (_wildcard, True),
    "ArnEquals": (_wildcard, False),
    "ArnLike": (_wildcard, False),
    "ArnNotEquals": (_wildcard, True),
    "ArnNotLike": (_wildcard, True),
    "Bool": (lambda e, a: e.lower() == a.lower(), False),
}


def _condition_holds(operator: str, key: str, expected: list[str], context: Mapping[str, str]) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    actual = context.get(key.lower())
    if name == "Null":
        return (actual is None) == (expected[:1] == ["true"])
    if name not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise KeyError(operator)
    compare, negated = _OPERATORS[name]
    if actual is None:
        return if_exists or negated or qualifier == "ForAllValues"
    matched = any(compare(e, actual) for e in expected)
    return not matched if negated else matched


def conditions_hold(condition: Any, context: Mapping[str, str]) -> bool:
    """Every operator and key of a `Condition` block holds; an unknown operator never does."""
    if not condition:
        return True
    if not isinstance(condition, Mapping):
        return False
    try:
        return all(_condition_holds(op, key, _values(expected), context)
                   for op, keys in condition.items() if isinstance(keys, Mapping)
                   for key, expected in keys.items())
    except KeyError:
        return False


def _document(document: Any) -> Mapping[str, Any]:
    if isinstance(document, Mapping):
        return document
    text = str(document or "{}")
    if text.lstrip().startswith("%"):
        text = urllib.parse.unquote(text)
    parsed = json.loads(text)
    return parsed if isinstance(parsed, Mapping) else {}


def _statements(document: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    statements = document.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    return [s for s in statements if isinstance(s, Mapping)]


def trust_decision(document: Any, caller: Caller, context: Mapping[str, str],
                   action: str = ASSUME_ROLE) -> tuple[Verdict, Match]:
    """What a role's trust policy says to `caller`: (verdict, how the allowing statement named it)."""
    allowed = Match.NONE
    for statement in _statements(_document(document)):
        if "NotPrincipal" in statement or not action_matches(statement, action):
            continue
        match = principal_match(statement.get("Principal"), caller)
        if match is Match.NONE or not conditions_hold(statement.get("Condition"), context):
            continue
        if statement.get("Effect") == "Deny":
            return Verdict.DENY, match
        if statement.get("Effect") == "Allow":
            allowed = max(allowed, match)
    return (Verdict.ALLOW, allowed) if allowed else (Verdict.NONE, Match.NONE)


def assume_role_allowed(identity: Verdict, trust: tuple[Verdict, Match], same_account: bool) -> bool:
    """IAM's decision from the caller's own policies and the role's trust policy."""
    verdict, match = trust
    if Verdict.DENY in (identity, verdict) or verdict is not Verdict.ALLOW:
        return False
    if match is Match.EXPLICIT and same_account:
        return True
    return identity is Verdict.ALLOW


def session_duration_error(duration: int, max_session: Any, chained: bool) -> str | None:
    """AWS's ValidationError message for a DurationSeconds it refuses, else None."""
    if chained and duration > CHAINED_MAX_SECONDS:
        return ("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
                "role chaining.")
    try:
        limit = int(max_session or DEFAULT_MAX_SESSION_SECONDS)
    except (TypeError, ValueError):
        limit = DEFAULT_MAX_SESSION_SECONDS
    if duration > limit:
        return "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    return None


def parameter_error(name: str, value: str | None, pattern: re.Pattern[str]) -> str | None:
    """AWS's ValidationError message for a RoleSessionName / ExternalId it refuses, else None."""
    if value is None or pattern.fullmatch(value):
        return None
    return (f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern.pattern}")
