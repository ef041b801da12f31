"""What an Operation's status says besides its phase: the conditions `kubectl wait` waits on and the
`17/24` progress count of the PROGRESS column.

Pure; called by the runner (`provisioning.runner`) on every status patch it writes. An Operation
has `Succeeded` (Unknown while queued or running, then True or False: Tekton's TaskRun convention)
and `Ready` (True once it succeeded), so both `kubectl wait --for=condition=Succeeded` and
`--for=condition=Ready` work on it.
"""

from __future__ import annotations

from typing import Any

from fleetyard.models import conditions

_REASONS = {"queued": "Queued", "running": "Running", "succeeded": "Succeeded", "failed": "Failed",
            "cancelled": "Cancelled"}


def progress_count(progress: dict[str, Any] | None) -> str | None:
    """`done/total` of the run's resources (done: succeeded, failed or unchanged); None before the engine
    has named any resource."""
    summary = (progress or {}).get("summary") or {}
    total = summary.get("total") or 0
    if not total:
        return None
    done = total - (summary.get("pending") or 0) - (summary.get("running") or 0)
    return f"{done}/{total}"


def phase_conditions(previous: list[dict[str, Any]], phase: str, message: str = "",
                     reason: str | None = None) -> list[dict[str, Any]]:
    """`previous` with Succeeded and Ready set for `phase`; `reason` (an error code) replaces Failed."""
    why = reason if phase == "failed" and reason else _REASONS.get(phase, phase.capitalize())
    succeeded = {"succeeded": "True", "failed": "False", "cancelled": "False"}.get(phase, "Unknown")
    out = conditions.set_condition(previous, conditions.SUCCEEDED, succeeded, why, message)
    return conditions.set_condition(out, conditions.READY, phase == "succeeded", why, message)


def decorate(previous: list[dict[str, Any]], patch: dict[str, Any]) -> dict[str, Any]:
    """The runner's status patch with the conditions (when it sets a phase) and the progress count (when
    it carries progress) that follow from it."""
    out = dict(patch)
    if "progress" in patch and (count := progress_count(patch["progress"])) is not None:
        out["progressCount"] = count
    if "status" in patch:
        error = patch.get("error") or {}
        message = error.get("message") or ((patch.get("progress") or {}).get("message") or "")
        out["conditions"] = phase_conditions(previous, patch["status"], message, error.get("code"))
    return out
