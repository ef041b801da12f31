"""What a Network or ProvisionedCluster does next, for every situation a user can put it in."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from fleetyard.controllers import infra_phases as p

NOW = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.timezone.utc)


def op(operation: str, phase: str, gen: int = 1, *, retryable: bool | None = None, retry_after: int = 30,
       ago: int = 60, attempt: int = 1, conn: str | None = "7") -> p.LastOperation:
    error = None if retryable is None else {"code": "X", "message": "it broke",
                                             "details": {"retryable": retryable, "retryAfter": retry_after}}
    return p.LastOperation(f"op-{operation}", operation, phase, gen, attempt, conn, error,
                           NOW - datetime.timedelta(seconds=ago), None)


def facts(**kw: object) -> p.Facts:
    base: dict[str, object] = {"generation": 1, "current_phase": None, "provisioned": "False", "now": NOW,
                               "connection_version": "7"}
    base.update(kw)
    return p.Facts(**base)  # type: ignore[arg-type]


CASES = [
    # name, facts, (phase, start, release, stalled)
    ("new, connection not active", facts(waiting_for="Connection prod to become active (it is pending)"),
     ("pending", None, False, False)),
    ("new, ready", facts(), ("provisioning", "provision", False, False)),
    ("provision running", facts(provisioned="Unknown", last=op("provision", "running")),
     ("provisioning", None, False, False)),
    ("provision queued", facts(provisioned="Unknown", last=op("provision", "queued")),
     ("provisioning", None, False, False)),
    ("provisioned and converged", facts(provisioned="True", last=op("provision", "succeeded")),
     ("active", None, False, False)),
    ("spec changed", facts(generation=2, provisioned="True", last=op("provision", "succeeded")),
     ("updating", "update", False, False)),
    ("spec changed while connection failed", facts(generation=2, provisioned="True", current_phase="active",
                                                   waiting_for="Connection prod to become active (it is failed)",
                                                   last=op("provision", "succeeded")),
     ("active", None, False, False)),
    ("retryable failure, too early", facts(provisioned="Unknown", last=op("provision", "failed", retryable=True,
                                                                         retry_after=120)),
     ("failed", None, False, False)),
    ("retryable failure, due", facts(provisioned="Unknown", last=op("provision", "failed", retryable=True,
                                                                   retry_after=30)),
     ("provisioning", "provision", False, False)),
    ("terminal failure", facts(provisioned="Unknown", last=op("provision", "failed", retryable=False)),
     ("failed", None, False, True)),
    ("terminal failure, spec fixed", facts(generation=2, provisioned="Unknown",
                                          last=op("provision", "failed", retryable=False)),
     ("provisioning", "provision", False, False)),
    ("terminal failure, connection changed", facts(connection_version="8", provisioned="Unknown",
                                                  last=op("provision", "failed", retryable=False)),
     ("provisioning", "provision", False, False)),
    ("update failure keeps update", facts(provisioned="True", generation=3,
                                         last=op("update", "failed", gen=3, retryable=True, retry_after=0)),
     ("updating", "update", False, False)),
    ("desired Destroyed", facts(desired="Destroyed", provisioned="True", generation=2,
                                last=op("provision", "succeeded")),
     ("destroying", "destroy", False, False)),
    ("destroyed", facts(desired="Destroyed", provisioned="False", generation=2, last=op("destroy", "succeeded", 2)),
     ("destroyed", None, False, False)),
    ("provisioned again", facts(generation=3, provisioned="False", last=op("destroy", "succeeded", 2)),
     ("provisioning", "provision", False, False)),
    ("desired Pending, nothing built", facts(desired="Pending"), ("pending", None, False, False)),
    ("desired Pending, built", facts(desired="Pending", provisioned="True", current_phase="active",
                                     generation=2, last=op("provision", "succeeded")),
     ("active", None, False, False)),
    ("delete, never built", facts(deleting=True), ("destroyed", None, True, False)),
    ("delete, built", facts(deleting=True, provisioned="True", last=op("provision", "succeeded")),
     ("destroying", "destroy", False, False)),
    ("delete, partly built", facts(deleting=True, provisioned="Unknown", last=op("provision", "failed",
                                                                                 retryable=False)),
     ("destroying", "destroy", False, False)),
    ("delete while provisioning waits", facts(deleting=True, provisioned="Unknown", last=op("provision", "running")),
     ("provisioning", None, False, False)),
    ("delete, destroyed", facts(deleting=True, provisioned="False", last=op("destroy", "succeeded")),
     ("destroyed", None, True, False)),
    ("delete with Retain", facts(deleting=True, deletion_policy="Retain", provisioned="True",
                                 current_phase="active", last=op("provision", "succeeded")),
     ("active", None, True, False)),
    ("delete blocked by users", facts(deleting=True, provisioned="True", current_phase="active",
                                      delete_blocked_by=("ProvisionedCluster/prod",),
                                      last=op("provision", "succeeded")),
     ("active", None, False, False)),
    ("destroy failed, retry due", facts(deleting=True, provisioned="True",
                                        last=op("destroy", "failed", retryable=True, retry_after=0)),
     ("destroying", "destroy", False, False)),
]


@pytest.mark.parametrize("name,f,expected", CASES, ids=[c[0] for c in CASES])
def test_decide(name: str, f: p.Facts, expected: tuple[str, str | None, bool, bool]) -> None:
    d = p.decide(f)
    assert (d.phase, d.start, d.release, d.stalled) == expected, d.message


def test_waiting_message_names_what_is_awaited() -> None:
    d = p.decide(facts(waiting_for="Network prod-net to become active (it is provisioning)"))
    assert d.message == "waiting for Network prod-net to become active (it is provisioning)"


def test_retry_counts_attempts_and_says_when() -> None:
    early = p.decide(facts(provisioned="Unknown", last=op("provision", "failed", retryable=True, retry_after=120)))
    assert "retrying at 2026-11-27T12:01:00Z (attempt 2)" in early.message and "it broke" in early.message
    due = p.decide(facts(provisioned="Unknown", last=op("provision", "failed", retryable=True, attempt=3,
                                                        retry_after=0)))
    assert due.attempt == 4


def test_terminal_failure_says_how_to_retry() -> None:
    d = p.decide(facts(provisioned="Unknown", last=op("provision", "failed", retryable=False)))
    assert "change the spec or the Connection" in d.message


PROVISIONED_CASES = [
    (None, None, ("False", "NotProvisioned")),
    ("False", op("provision", "running"), ("Unknown", "Provisioning")),
    ("False", op("provision", "failed"), ("Unknown", "Partial")),
    ("Unknown", op("provision", "succeeded"), ("True", "Provisioned")),
    ("True", op("update", "failed"), ("True", "Provisioned")),
    ("True", op("destroy", "running"), ("True", "Provisioned")),
    ("True", op("destroy", "succeeded"), ("False", "Destroyed")),
    ("Unknown", op("destroy", "failed"), ("Unknown", "Partial")),
]


@pytest.mark.parametrize("previous,last,expected", PROVISIONED_CASES)
def test_provisioned_condition(previous: str | None, last: p.LastOperation | None,
                               expected: tuple[str, str]) -> None:
    assert p.provisioned_condition(previous, last) == expected


def test_conditions_follow_the_phase() -> None:
    active = p.conditions_for(p.Decision("active"), ("True", "Provisioned"))
    assert active["Ready"][0] == "True" and active["Reconciling"][0] == "False"
    working = p.conditions_for(p.Decision("updating", "running pulumi up"), ("True", "Provisioned"))
    assert working["Ready"][0] == "False" and working["Reconciling"][:2] == ("True", "Updating")
    stalled = p.conditions_for(p.Decision("failed", "AccessDenied", stalled=True), ("Unknown", "Partial"))
    assert stalled["Stalled"][0] == "True" and stalled["Provisioned"][0] == "Unknown"


def test_a_requested_retry_restarts_a_terminal_failure_now() -> None:
    failed = op("provision", "failed", retryable=False, attempt=2)
    asked = p.decide(facts(provisioned="Unknown", last=failed, retry_requested=True))
    assert (asked.start, asked.attempt, asked.handles_requests) == ("provision", 3, True)
    not_asked = p.decide(facts(provisioned="Unknown", last=failed))
    assert not_asked.start is None and not_asked.stalled and "fleetyard.io/retry-requested-at" in not_asked.message
    backing_off = op("update", "failed", retryable=True, retry_after=3600)
    assert p.decide(facts(provisioned="True", last=backing_off, retry_requested=True)).start == "update"
    destroy_failed = op("destroy", "failed", retryable=False)
    again = p.decide(facts(provisioned="True", desired="Destroyed", last=destroy_failed, retry_requested=True))
    assert again.start == "destroy"


def test_requests_wait_while_a_run_is_in_flight() -> None:
    running = p.decide(facts(provisioned="Unknown", last=op("provision", "running"), retry_requested=True,
                             refresh_requested=True))
    assert running.start is None and not running.handles_requests
    nothing_failed = p.decide(facts(provisioned="True", last=op("provision", "succeeded"), retry_requested=True))
    assert (nothing_failed.phase, nothing_failed.start, nothing_failed.handles_requests) == ("active", None, True)


def test_a_requested_refresh_runs_refresh_then_the_update_that_puts_back_drift() -> None:
    asked = p.decide(facts(provisioned="True", current_phase="active", last=op("provision", "succeeded"),
                           refresh_requested=True))
    assert (asked.phase, asked.start) == ("updating", "refresh")
    after = p.decide(facts(provisioned="True", last=op("refresh", "succeeded")))
    assert after.start == "update"
    failed = p.decide(facts(provisioned="True", last=op("refresh", "failed", retryable=False)))
    assert failed.start is None and failed.stalled
    assert p.decide(facts(provisioned="True", last=op("refresh", "failed", retryable=False),
                          retry_requested=True)).start == "refresh"
    never_built = p.decide(facts(refresh_requested=True, desired="Pending"))
    assert never_built.start is None and never_built.handles_requests


def test_stalled_says_why() -> None:
    terminal = p.decide(facts(provisioned="Unknown", last=op("provision", "failed", retryable=False)))
    assert p.conditions_for(terminal, ("Unknown", "Partial"))["Stalled"][:2] == ("True", "X")
    missing = p.decide(facts(waiting_for="Connection prod (not found)", waiting_reason="ConnectionNotFound"))
    assert p.conditions_for(missing, ("False", "NotProvisioned"))["Stalled"][:2] == ("True", "ConnectionNotFound")
    waiting = p.decide(facts(waiting_for="Connection prod to become active (it is pending)"))
    assert p.conditions_for(waiting, ("False", "NotProvisioned"))["Stalled"][0] == "False"


SPEC_A = {"region": "us-east-1", "config": {"cidr": "10.0.0.0/16", "natGateways": "Single"}}
SPEC_B = {"region": "us-east-1", "config": {"cidr": "10.0.0.0/16", "natGateways": "OnePerAz"}}


def snap(operation: str, phase: str, gen: int, applied: dict, **kw: object) -> p.LastOperation:
    return dataclasses.replace(op(operation, phase, gen, **kw), applied=applied)  # type: ignore[arg-type]


def not_started(last: p.LastOperation) -> p.LastOperation:
    return dataclasses.replace(last, started=False)


SPEC_CASES = [
    # name, facts, (phase, start)
    ("a rename after a run: nothing to build", facts(generation=2, provisioned="True", applied=SPEC_A,
                                                     last=snap("provision", "succeeded", 1, SPEC_A)), ("active", None)),
    ("a config change after a run", facts(generation=2, provisioned="True", applied=SPEC_B,
                                          last=snap("provision", "succeeded", 1, SPEC_A)), ("updating", "update")),
    ("a rename during a run, after it", facts(generation=4, provisioned="True", applied=SPEC_B,
                                              last=snap("update", "succeeded", 3, SPEC_B)), ("active", None)),
    ("a rename does not retry a terminal failure", facts(generation=3, provisioned="True", applied=SPEC_B,
                                                          last=snap("update", "failed", 2, SPEC_B, retryable=False)),
     ("failed", None)),
    ("a config change retries a terminal failure", facts(generation=3, provisioned="True", applied=SPEC_A,
                                                          last=snap("update", "failed", 2, SPEC_B, retryable=False)),
     ("updating", "update")),
    ("a superseded run is followed by one for the current spec",
     facts(generation=3, provisioned="True", applied=SPEC_B, last=not_started(
         snap("update", "cancelled", 2, SPEC_A))), ("updating", "update")),
    ("no snapshot (older Operation): by generation", facts(generation=2, provisioned="True", applied=SPEC_A,
                                                          last=op("provision", "succeeded", 1)), ("updating", "update")),
]


@pytest.mark.parametrize("name,f,expected", SPEC_CASES, ids=[c[0] for c in SPEC_CASES])
def test_runs_follow_what_the_programs_read(name: str, f: p.Facts, expected: tuple[str, str | None]) -> None:
    d = p.decide(f)
    assert (d.phase, d.start) == expected


def test_a_superseded_provision_leaves_provisioned_as_it_was() -> None:
    never_started = dataclasses.replace(op("provision", "cancelled"), started=False)
    assert p.provisioned_condition("False", never_started) == ("False", "NotProvisioned")
    assert p.provisioned_condition("False", op("provision", "cancelled")) == ("Unknown", "Partial")


def test_the_run_in_flight_is_the_one_a_target_follows() -> None:
    from fleetyard.kube import operations
    from fleetyard.models import kinds

    def operation(name: str, generation: int, phase: str | None) -> object:
        return kinds.OPERATION.parse({"metadata": {"name": name, "creationTimestamp": "2026-12-02T01:55:17Z"},
                                      "spec": {"operation": "update", "resourceType": "externalCluster",
                                               "resourceRef": {"kind": "ProvisionedCluster", "name": "prod"},
                                               "targetGeneration": generation},
                                      "status": {"status": phase} if phase else {}})
    # created within one second: a superseded run (gen 7) and its successor (gen 8), names in the other order
    superseded, successor = operation("prod-update-scrqq", 7, "cancelled"), operation("prod-update-rbzsl", 8, None)
    assert operations.current([superseded, successor]) is successor
    assert operations.current([successor, superseded]) is successor
    done = operation("prod-update-aaaaa", 8, "succeeded")
    assert operations.current([superseded, done]) is done
