"""Sessions and clients are made once and reused: an assumed role's session while its credentials
last (minus a margin), a client per session, service and region; a new external id or role is a
new session, and an expiring one is assumed again."""

from __future__ import annotations

import datetime

import boto3
import pytest

from fleetyard.cloud import session as sessions, sts
from fleetyard.connections import customer_session


@pytest.fixture
def assumed(monkeypatch):
    calls: list[customer_session.Access] = []
    lifetime = {"value": datetime.timedelta(minutes=15)}

    def assume(access, base=None):
        calls.append(access)
        return sts.AssumedRole(access.role_arn, f"{access.role_arn}/s", f"AKIA{len(calls)}", "secret", "token",
                               datetime.datetime.now(datetime.timezone.utc) + lifetime["value"])

    monkeypatch.setattr(customer_session, "assume", assume)
    monkeypatch.setattr(customer_session, "_sessions", {})
    return calls, lifetime


def _access(external_id: str = "ext-1", role: str = "arn:aws:iam::123456789012:role/fy") -> customer_session.Access:
    return customer_session.Access(role, external_id, "fleetyard-health", "us-east-1")


def test_an_assumed_session_is_reused_while_its_credentials_last(assumed) -> None:
    calls, _ = assumed
    first = customer_session.session(_access())
    assert customer_session.session(_access()) is first
    assert len(calls) == 1


def test_a_new_external_id_or_role_is_a_new_session(assumed) -> None:
    calls, _ = assumed
    a = customer_session.session(_access())
    b = customer_session.session(_access(external_id="ext-2"))
    c = customer_session.session(_access(role="arn:aws:iam::123456789012:role/other"))
    assert len({id(a), id(b), id(c)}) == 3 and len(calls) == 3


def test_a_session_close_to_expiry_is_assumed_again(assumed) -> None:
    calls, lifetime = assumed
    lifetime["value"] = customer_session.REUSE_MARGIN - datetime.timedelta(seconds=1)
    first = customer_session.session(_access())
    assert customer_session.session(_access()) is not first
    assert len(calls) == 2


def test_a_client_is_made_once_per_session_service_and_region() -> None:
    sess = boto3.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="us-east-1")
    eks = sessions.client(sess, "eks")
    assert sessions.client(sess, "eks") is eks
    assert sessions.client(sess, "eks", "eu-central-1") is not eks
    assert sessions.client(sess, "sts") is not eks
    other = boto3.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="us-east-1")
    assert sessions.client(other, "eks") is not eks
