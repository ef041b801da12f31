"""Status, conditions, Events and scheduling computed from a verification outcome."""

from __future__ import annotations

import datetime

import pytest

from fleetyard.connections import template as connection_template
from fleetyard.controllers import connection_phases
from fleetyard.models import conditions, connection

ACTIVE = connection_phases.Outcome("active", "Verified", "assumed role", credentials_used=True,
                                   template_synced=True, template_message="stack s at template version")
DENIED = connection_phases.Outcome("failed", "AssumeRoleFailed", "could not be assumed", retryable=True)
MISMATCH = connection_phases.Outcome("failed", "AccountMismatch", "other account", retryable=False,
                                     credentials_used=True)
NOW = "2026-11-27T12:00:00Z"
status_of = connection.ConnectionStatus.model_validate


def _cond(patch: dict, type_: str) -> dict:
    found = conditions.find(patch["conditions"], type_)
    assert found is not None
    return found


@pytest.mark.parametrize("outcome,ready,stalled,phase", [
    (ACTIVE, "True", "False", "active"),
    (DENIED, "False", "False", "failed"),
    (MISMATCH, "False", "True", "failed"),
])
def test_conditions_follow_the_outcome(outcome, ready, stalled, phase) -> None:
    patch = connection_phases.status_patch(status_of({}), outcome, 3, NOW)
    assert patch["status"] == phase and patch["observedGeneration"] == 3
    assert _cond(patch, "Ready")["status"] == ready
    assert _cond(patch, "Stalled")["status"] == stalled
    assert _cond(patch, "ConnectionVerified")["reason"] == outcome.reason


def test_last_used_and_template_sync_only_when_true() -> None:
    active = connection_phases.status_patch(status_of({}), ACTIVE, 1, NOW)
    assert active["lastUsedAt"] == NOW and active["templateSyncedAt"] == NOW
    denied = connection_phases.status_patch(status_of({}), DENIED, 1, NOW)
    assert "lastUsedAt" not in denied and "templateSyncedAt" not in denied


def test_transition_time_is_kept_while_the_status_does_not_change() -> None:
    first = connection_phases.status_patch(status_of({}), ACTIVE, 1, "2026-11-27T10:00:00Z")
    second = connection_phases.status_patch(status_of({"conditions": first["conditions"]}), ACTIVE, 1, NOW)
    assert _cond(second, "Ready")["lastTransitionTime"] == "2026-11-27T10:00:00Z"
    third = connection_phases.status_patch(status_of({"conditions": second["conditions"]}), DENIED, 1, NOW)
    assert _cond(third, "Ready")["lastTransitionTime"] == NOW


@pytest.mark.parametrize("previous,reason,outcome,expected", [
    (None, None, ACTIVE, ("Normal", "Verified")),
    ("active", "Verified", ACTIVE, None),
    ("active", "Verified", DENIED, ("Warning", "AssumeRoleFailed")),
    ("failed", "AssumeRoleFailed", DENIED, None),
    ("failed", "AssumeRoleFailed", MISMATCH, ("Warning", "AccountMismatch")),
    ("failed", "AssumeRoleFailed", ACTIVE, ("Normal", "Verified")),
])
def test_one_event_per_transition(previous, reason, outcome, expected) -> None:
    event = connection_phases.transition_event(previous, reason, outcome)
    assert (event[:2] if event else None) == expected


T0 = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("status,generation,seconds_later,due", [
    ({}, 1, 0, True),
    ({"observedGeneration": 1, "status": "active", "lastVerifiedAt": "2026-11-27T12:00:00Z"}, 1, 599, False),
    ({"observedGeneration": 1, "status": "active", "lastVerifiedAt": "2026-11-27T12:00:00Z"}, 1, 600, True),
    ({"observedGeneration": 1, "status": "active", "lastVerifiedAt": "2026-11-27T12:00:00Z"}, 2, 1, True),
    ({"observedGeneration": 1, "status": "failed", "lastVerifiedAt": "2026-11-27T12:00:00Z"}, 1, 29, False),
    ({"observedGeneration": 1, "status": "failed", "lastVerifiedAt": "2026-11-27T12:00:00Z"}, 1, 30, True),
])
def test_reverification_schedule(status, generation, seconds_later, due) -> None:
    now = T0 + datetime.timedelta(seconds=seconds_later)
    assert connection_phases.is_due(status_of(status), generation, now, 600, 30) is due


def test_shipped_template_carries_its_version() -> None:
    body = connection_template.body()
    assert f'Value: "{connection_template.VERSION}"' in body
    assert "sts:ExternalId" in body
