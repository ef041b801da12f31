"""What an Operation's status says for kubectl: conditions per phase and the PROGRESS count."""

from __future__ import annotations

import pytest

from fleetyard.models import conditions
from fleetyard.provisioning import operation_status as s


@pytest.mark.parametrize("phase,succeeded,ready,reason", [
    ("queued", "Unknown", "False", "Queued"),
    ("running", "Unknown", "False", "Running"),
    ("succeeded", "True", "True", "Succeeded"),
    ("failed", "False", "False", "AccessDenied"),
])
def test_conditions_follow_the_phase(phase: str, succeeded: str, ready: str, reason: str) -> None:
    patch = s.decorate([], {"status": phase, **({"error": {"code": "AccessDenied", "message": "no"}}
                                                if phase == "failed" else {})})
    conds = patch["conditions"]
    assert conditions.find(conds, "Succeeded")["status"] == succeeded
    assert conditions.find(conds, "Ready")["status"] == ready
    assert conditions.find(conds, "Succeeded")["reason"] == reason


def test_transition_time_moves_only_when_the_status_changes() -> None:
    queued = s.phase_conditions([], "queued")
    for c in queued:
        c["lastTransitionTime"] = "2020-01-01T00:00:00Z"
    running = s.phase_conditions(queued, "running")
    assert conditions.find(running, "Succeeded")["lastTransitionTime"] == "2020-01-01T00:00:00Z"
    done = s.phase_conditions(running, "succeeded")
    assert conditions.find(done, "Succeeded")["lastTransitionTime"] != "2020-01-01T00:00:00Z"


def test_progress_count() -> None:
    summary = {"total": 24, "pending": 5, "running": 2, "succeeded": 10, "unchanged": 7, "failed": 0}
    assert s.decorate([], {"progress": {"summary": summary}}) == {"progress": {"summary": summary},
                                                                  "progressCount": "17/24"}
    assert s.progress_count({"stage": "queued"}) is None
