"""A platform engineer applies a Connection and watches it become active, or fail with a message
they can act on, and recover once they fix it. Real apiserver, real operator process, moto with
IAM access control (the role's trust policy checks sts:ExternalId; a role that does not exist or
does not trust fleetyard cannot be assumed, as on AWS)."""

from __future__ import annotations

import base64
import json
import time
import uuid

import kubernetes
import pytest

from fleetyard.devenv import customer_account, people
from fleetyard.models import conditions, kinds
from tests import manifests
from tests.conftest import create, get, wait_for
from tests.e2e import infra
from tests.e2e.connections import EXTERNAL_ID, connection as _connection, secret as _secret, status_when as _status_when

def _events(core, namespace, name="prod") -> list:
    return [e for e in core.list_namespaced_event(namespace).items if e.involved_object.name == name]


def test_connection_becomes_active_within_seconds(custom, core, namespace, role) -> None:
    _secret(core, namespace, "ext-id", EXTERNAL_ID)
    started = time.monotonic()
    _connection(custom, namespace, role)
    status = _status_when(custom, namespace, "active")
    # verified on the create event, not by the re-verification timer (600 s): a bound far below it that
    # holds on a loaded machine (the speed itself is hack/bench's business)
    elapsed = time.monotonic() - started
    assert elapsed < 120, f"took {elapsed:.1f}s"
    assert conditions.is_true(status["conditions"], "Ready")
    assert conditions.is_true(status["conditions"], "ConnectionVerified")
    assert conditions.is_true(status["conditions"], "TemplateSynced")
    assert status["lastUsedAt"] and status["templateSyncedAt"]
    assert len(status["id"]) == 10
    wait_for(lambda: _events(core, namespace), 10, "an Event")
    time.sleep(3)  # a few timer ticks: a steady Connection posts no further Events
    assert [e.reason for e in _events(core, namespace)] == ["Verified"]


def test_external_id_from_secrets_manager(env, custom, namespace, role) -> None:
    arn = customer_account.create_external_id_secret(env.aws_env(), f"ext-{uuid.uuid4().hex[:8]}", EXTERNAL_ID)
    _connection(custom, namespace, role, externalIdSecretArn=arn)
    assert _status_when(custom, namespace, "active")["statusMessage"].startswith("assumed")


def test_wrong_external_id_fails_and_recovers_when_the_secret_is_fixed(custom, core, namespace, role) -> None:
    _secret(core, namespace, "ext-id", "not-the-right-external-id")
    _connection(custom, namespace, role)
    status = _status_when(custom, namespace, "failed")
    assert "could not be assumed" in status["statusMessage"] and role.role_arn in status["statusMessage"]
    assert not conditions.is_true(status["conditions"], "Ready")
    assert conditions.find(status["conditions"], "ConnectionVerified")["reason"] == "AssumeRoleFailed"
    assert not conditions.is_true(status["conditions"], "Stalled"), "a denied AssumeRole is retried"
    events = wait_for(lambda: [e for e in _events(core, namespace) if e.reason == "AssumeRoleFailed"], 10, "Event")
    assert events[0].type == "Warning"

    core.patch_namespaced_secret("ext-id", namespace, {"data": {"value": base64.b64encode(EXTERNAL_ID.encode()).decode()}})
    _status_when(custom, namespace, "active", timeout=20)
    assert any(e.reason == "Verified" for e in wait_for(
        lambda: [e for e in _events(core, namespace) if e.reason == "Verified"], 10, "Verified Event"))


def _role_fleetyard_may_not_assume(env, case: str) -> customer_account.ConnectionRole:
    name = f"FleetyardConnection-{uuid.uuid4().hex[:8]}"
    arn = f"arn:aws:iam::{env.moto.account_id}:role/{name}"
    if case == "the role trusts someone else":
        someone = people.create_person(env.aws_env(), f"someone-{uuid.uuid4().hex[:6]}")
        arn = infra.aws(env, "iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": someone.arn}, "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]}))["Role"]["Arn"]
    return customer_account.ConnectionRole(arn, "", env.moto.account_id)


@pytest.mark.parametrize("case", ["the role does not exist", "the role trusts someone else"])
def test_a_role_aws_would_not_let_fleetyard_assume_fails(env, custom, core, namespace, case) -> None:
    _secret(core, namespace, "ext-id", EXTERNAL_ID)
    role = _role_fleetyard_may_not_assume(env, case)
    _connection(custom, namespace, role)
    status = _status_when(custom, namespace, "failed")
    assert "could not be assumed" in status["statusMessage"] and role.role_arn in status["statusMessage"]
    assert conditions.find(status["conditions"], "ConnectionVerified")["reason"] == "AssumeRoleFailed"


def test_missing_secret_is_named_in_the_status(custom, namespace, role) -> None:
    _connection(custom, namespace, role)
    status = _status_when(custom, namespace, "failed")
    assert f"Secret {namespace}/ext-id was not found" in status["statusMessage"]
    assert "externalIdSecretRef" in status["statusMessage"]


def test_deleting_a_connection_in_use_waits_and_names_the_user(custom, core, namespace, role) -> None:
    _secret(core, namespace, "ext-id", EXTERNAL_ID)
    _connection(custom, namespace, role)
    _status_when(custom, namespace, "active")
    create(custom, namespace, kinds.NETWORK, {"metadata": {"name": "prod-net"}, "spec": manifests.NETWORK_SPEC})
    custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "connections", "prod")

    def blocked():
        status = get(custom, namespace, kinds.CONNECTION, "prod").get("status") or {}
        return status if "Network/prod-net" in (status.get("statusMessage") or "") else None
    status = wait_for(blocked, 15, "the deletion to be held")
    assert "still used by Network/prod-net" in status["statusMessage"]
    # the status is patched before the Event is posted: wait for it rather than race it
    wait_for(lambda: any(e.reason == "DeletionBlocked" for e in _events(core, namespace)), 10,
             "a DeletionBlocked Event")

    custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "networks", "prod-net")

    def gone():
        try:
            get(custom, namespace, kinds.CONNECTION, "prod")
        except kubernetes.client.ApiException as exc:
            return exc.status == 404
        return False
    # the Network's provision may still be running: its destroy waits for it, then the Connection goes
    wait_for(gone, 240, "the Connection to be deleted")


def test_no_secret_in_logs_status_or_events(env, custom, core, namespace, role) -> None:
    _secret(core, namespace, "ext-id", EXTERNAL_ID)
    _connection(custom, namespace, role)
    status = _status_when(custom, namespace, "active")
    _secret(core, namespace, "wrong", "wrong-secret-value-" + uuid.uuid4().hex)
    custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "connections", "prod",
                                          {"spec": {"providerConfig": {"externalIdSecretRef": {"name": "wrong"}}}})
    _status_when(custom, namespace, "failed")
    wrong = base64.b64decode(core.read_namespaced_secret("wrong", namespace).data["value"]).decode()
    time.sleep(1)
    secrets = [EXTERNAL_ID, wrong, env.moto.secret_access_key]
    everything = [
        env.operator.log_file.read_text(),
        json.dumps(get(custom, namespace, kinds.CONNECTION, "prod")),
        json.dumps([e.to_dict() for e in _events(core, namespace)], default=str),
        json.dumps(status),
    ]
    for text in everything:
        for secret in secrets:
            assert secret not in text


def test_quick_secret_ref_flips_end_as_the_last_spec_says(custom, core, namespace, role) -> None:
    """A verification computed for an older spec (a timer tick, a retry) never lands after the one for the
    newest: the status follows the last Secret named, and stays there."""
    _secret(core, namespace, "ext-id", EXTERNAL_ID)
    _secret(core, namespace, "wrong", "wrong-" + uuid.uuid4().hex)
    _connection(custom, namespace, role)
    _status_when(custom, namespace, "active")

    def flip(refs: list[str]) -> int:
        generation = 0
        for ref in refs:
            written = custom.patch_namespaced_custom_object(
                kinds.GROUP, kinds.VERSION, namespace, "connections", "prod",
                {"spec": {"providerConfig": {"externalIdSecretRef": {"name": ref}}}})
            generation = written["metadata"]["generation"]
            time.sleep(0.3)
        return generation

    def settled(generation: int, phase: str) -> dict:
        def probe():
            status = get(custom, namespace, kinds.CONNECTION, "prod").get("status") or {}
            return status if status.get("observedGeneration") == generation and status.get("status") == phase else None
        return wait_for(probe, 30, f"generation {generation} to be {phase}")

    def holds(generation: int, phase: str, seconds: float = 8) -> None:
        deadline = time.monotonic() + seconds  # four retry intervals (2 s), eight timer ticks
        while time.monotonic() < deadline:
            obj = get(custom, namespace, kinds.CONNECTION, "prod")
            status = obj["status"]
            assert (status["status"], status["observedGeneration"]) == (phase, generation), (
                f"spec names {obj['spec']['providerConfig']['externalIdSecretRef']['name']}, "
                f"status says {status['status']}: {status['statusMessage']}")
            time.sleep(0.2)

    wrong = flip(["wrong", "ext-id", "wrong", "ext-id", "wrong"])
    status = settled(wrong, "failed")
    assert conditions.find(status["conditions"], "ConnectionVerified")["reason"] == "AssumeRoleFailed"
    holds(wrong, "failed")

    right = flip(["ext-id", "wrong", "ext-id"])
    settled(right, "active")
    holds(right, "active")


def test_a_result_computed_for_an_older_spec_is_never_written(custom, core, namespace, role) -> None:
    """The guard itself, deterministically: a verification that succeeded for the previous Secret and ends
    after the spec named another one (what a slow timer tick is) writes nothing."""
    from fleetyard.controllers import connection_phases, connection_verification

    _secret(core, namespace, "ext-id", EXTERNAL_ID)
    _secret(core, namespace, "wrong", "wrong-" + uuid.uuid4().hex)
    _connection(custom, namespace, role)
    old = get(custom, namespace, kinds.CONNECTION, "prod")["metadata"]["generation"]
    _status_when(custom, namespace, "active")
    custom.patch_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "connections", "prod",
                                          {"spec": {"providerConfig": {"externalIdSecretRef": {"name": "wrong"}}}})
    failed = _status_when(custom, namespace, "failed")
    stale = connection_phases.Outcome("active", "Verified", "assumed the role with the previous Secret")
    assert connection_verification.write_result(namespace, "prod", old, stale) is False
    status = get(custom, namespace, kinds.CONNECTION, "prod")["status"]
    assert status["status"] == "failed" and status["observedGeneration"] == failed["observedGeneration"] == old + 1
