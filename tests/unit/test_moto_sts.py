"""The test bed's sts:AssumeRole decision (`fleetyard.devenv.moto_sts`), as IAM documents it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fleetyard.devenv import moto_sts

ACCOUNT = "123456789012"
USER = moto_sts.Caller(f"arn:aws:iam::{ACCOUNT}:user/fleetyard-operator", ACCOUNT, "AIDAOPERATOR")
OTHER_USER = f"arn:aws:iam::{ACCOUNT}:user/someone-else"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/team/data"
SESSION = moto_sts.Caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/data/alice", ACCOUNT, "AROADATA:alice", ROLE)
V, M = moto_sts.Verdict, moto_sts.Match


def _trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal: Any, condition: dict[str, Any] | None = None, effect: str = "Allow",
           action: Any = "sts:AssumeRole") -> dict[str, Any]:
    statement = {"Effect": effect, "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return statement


EXTERNAL_ID = {"StringEquals": {"sts:ExternalId": "ext-right"}}


@pytest.mark.parametrize(("case", "document", "caller", "external_id", "expected"), [
    ("names the user", _trust(_allow({"AWS": USER.arn})), USER, None, (V.ALLOW, M.EXPLICIT)),
    ("names the user in a list", _trust(_allow({"AWS": [OTHER_USER, USER.arn]})), USER, None,
     (V.ALLOW, M.EXPLICIT)),
    ("names someone else", _trust(_allow({"AWS": OTHER_USER})), USER, None, (V.NONE, M.NONE)),
    ("a user whose ARN contains the caller's", _trust(_allow({"AWS": USER.arn + "-2"})), USER, None,
     (V.NONE, M.NONE)),
    ("a service principal only", _trust(_allow({"Service": "eks.amazonaws.com"})), USER, None,
     (V.NONE, M.NONE)),
    ("another statement names the caller",
     _trust(_allow({"Service": "eks.amazonaws.com"}), _allow({"AWS": OTHER_USER}), _allow({"AWS": USER.arn})),
     USER, None, (V.ALLOW, M.EXPLICIT)),
    ("the account root", _trust(_allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), USER, None,
     (V.ALLOW, M.ACCOUNT)),
    ("the bare account id", _trust(_allow({"AWS": ACCOUNT})), USER, None, (V.ALLOW, M.ACCOUNT)),
    ("another account's root", _trust(_allow({"AWS": "arn:aws:iam::210987654321:root"})), USER, None,
     (V.NONE, M.NONE)),
    ("everyone", _trust(_allow("*")), USER, None, (V.ALLOW, M.EXPLICIT)),
    ("the role ARN names its sessions", _trust(_allow({"AWS": ROLE})), SESSION, None, (V.ALLOW, M.EXPLICIT)),
    ("the session ARN", _trust(_allow({"AWS": SESSION.arn})), SESSION, None, (V.ALLOW, M.EXPLICIT)),
    ("the right external id", _trust(_allow({"AWS": USER.arn}, EXTERNAL_ID)), USER, "ext-right",
     (V.ALLOW, M.EXPLICIT)),
    ("a wrong external id", _trust(_allow({"AWS": USER.arn}, EXTERNAL_ID)), USER, "ext-wrong", (V.NONE, M.NONE)),
    ("no external id", _trust(_allow({"AWS": USER.arn}, EXTERNAL_ID)), USER, None, (V.NONE, M.NONE)),
    ("no external id, IfExists", _trust(_allow({"AWS": USER.arn},
                                               {"StringEqualsIfExists": {"sts:ExternalId": "ext-right"}})),
     USER, None, (V.ALLOW, M.EXPLICIT)),
    ("key names are case-insensitive", _trust(_allow({"AWS": USER.arn},
                                                     {"StringEquals": {"STS:EXTERNALID": "ext-right"}})),
     USER, "ext-right", (V.ALLOW, M.EXPLICIT)),
    ("StringLike", _trust(_allow({"AWS": USER.arn}, {"StringLike": {"sts:ExternalId": "ext-*"}})),
     USER, "ext-right", (V.ALLOW, M.EXPLICIT)),
    ("Null says the external id must be absent",
     _trust(_allow({"AWS": USER.arn}, {"Null": {"sts:ExternalId": "true"}})), USER, "ext-right",
     (V.NONE, M.NONE)),
    ("ArnLike on aws:PrincipalArn", _trust(_allow({"AWS": ACCOUNT},
                                                  {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/team/*"}})),
     SESSION, None, (V.ALLOW, M.ACCOUNT)),
    ("an unknown operator never holds", _trust(_allow({"AWS": USER.arn}, {"DateGreaterThan": {"aws:x": "1"}})),
     USER, None, (V.NONE, M.NONE)),
    ("a Deny naming the caller wins", _trust(_allow("*"), _allow({"AWS": USER.arn}, effect="Deny")), USER, None,
     (V.DENY, M.EXPLICIT)),
    ("a Deny for someone else does not apply", _trust(_allow({"AWS": USER.arn}),
                                                      _allow({"AWS": OTHER_USER}, effect="Deny")),
     USER, None, (V.ALLOW, M.EXPLICIT)),
    ("another action", _trust(_allow({"AWS": USER.arn}, action="sts:AssumeRoleWithWebIdentity")), USER, None,
     (V.NONE, M.NONE)),
    ("an action wildcard", _trust(_allow({"AWS": USER.arn}, action="sts:Assume*")), USER, None,
     (V.ALLOW, M.EXPLICIT)),
    ("a single statement object", json.dumps({"Statement": _allow({"AWS": USER.arn})}), USER, None,
     (V.ALLOW, M.EXPLICIT)),
])
def test_trust_decision(case: str, document: str, caller: moto_sts.Caller, external_id: str | None,
                        expected: tuple[moto_sts.Verdict, moto_sts.Match]) -> None:
    context = moto_sts.request_context(caller, external_id, "fleetyard")
    assert moto_sts.trust_decision(document, caller, context) == expected


@pytest.mark.parametrize(("identity", "trust", "same_account", "allowed"), [
    (V.NONE, (V.ALLOW, M.EXPLICIT), True, True),    # a trust naming the caller is enough in the account
    (V.NONE, (V.ALLOW, M.ACCOUNT), True, False),    # naming only the account delegates to the caller's policies
    (V.ALLOW, (V.ALLOW, M.ACCOUNT), True, True),
    (V.NONE, (V.ALLOW, M.EXPLICIT), False, False),  # across accounts both must allow
    (V.ALLOW, (V.ALLOW, M.EXPLICIT), False, True),
    (V.DENY, (V.ALLOW, M.EXPLICIT), True, False),   # an explicit deny of the caller's own policies wins
    (V.ALLOW, (V.DENY, M.EXPLICIT), True, False),
    (V.ALLOW, (V.NONE, M.NONE), True, False),       # the caller's policies alone never are
])
def test_assume_role_allowed(identity: moto_sts.Verdict, trust: tuple[moto_sts.Verdict, moto_sts.Match],
                             same_account: bool, allowed: bool) -> None:
    assert moto_sts.assume_role_allowed(identity, trust, same_account) is allowed


def test_request_context_of_a_session_and_of_a_user() -> None:
    assert moto_sts.request_context(SESSION, None, "s") == {
        "aws:principalarn": ROLE, "aws:principalaccount": ACCOUNT, "aws:principaltype": "AssumedRole",
        "aws:userid": "AROADATA:alice", "sts:rolesessionname": "s"}
    assert moto_sts.request_context(USER, "x1", None)["aws:username"] == "fleetyard-operator"


@pytest.mark.parametrize(("duration", "max_session", "chained", "message"), [
    (3600, None, False, None),
    (3601, "3600", False, "MaxSessionDuration"),
    (7200, 43200, False, None),
    (7200, 43200, True, "role chaining"),
    (900, "not a number", False, None),
])
def test_session_duration(duration: int, max_session: Any, chained: bool, message: str | None) -> None:
    error = moto_sts.session_duration_error(duration, max_session, chained)
    assert (error is None) if message is None else (message in str(error))


@pytest.mark.parametrize(("value", "refused"), [
    ("fleetyard-abc123", False), ("a@b.c=d,e+f", False), ("x", True), ("has space", True),
    ("a/b", True), ("x" * 65, True)])
def test_session_name_pattern(value: str, refused: bool) -> None:
    assert (moto_sts.parameter_error("roleSessionName", value, moto_sts.SESSION_NAME) is not None) is refused
