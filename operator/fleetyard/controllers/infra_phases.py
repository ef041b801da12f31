"""What a Network or ProvisionedCluster should do next: pure decisions over facts, no I/O.

Called by `fleetyard.controllers.infra_reconciler` on every event and timer tick. `decide()` maps
the desired state (spec.desiredState, deletion, deletion policy), what the object waits for, and
its latest Operation to one `Decision`: the phase users see, a message, and at most one Operation
to start. Requests made with an annotation (retry now, refresh now) are facts too: a decision taken
while no run is in flight has acted on them, so the reconciler acknowledges them in status.
`provisioned_condition()` keeps track of whether the stack may hold cloud resources,
which is what makes deletion safe: nothing is released while something may still exist.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from fleetyard.models import conditions, operation as operation_model, timestamps

PHASE_OF = {"provision": "provisioning", "update": "updating", "destroy": "destroying", "refresh": "updating"}


@dataclasses.dataclass(frozen=True)
class LastOperation:
    name: str
    operation: str
    phase: str
    target_generation: int | None = None
    attempt: int = 1
    connection_version: str | None = None
    error: dict[str, Any] | None = None
    completed_at: datetime.datetime | None = None
    message: str | None = None
    scope: str = "all"
    access_digest: str | None = None
    # what the run applies (Operation spec.targetSpec); None on Operations from before snapshots
    applied: dict[str, Any] | None = None
    started: bool = True

    @property
    def in_flight(self) -> bool:
        return operation_model.in_flight(self.phase)

    @property
    def superseded(self) -> bool:
        """Cancelled before it started because the spec moved on (`provisioning.runner`)."""
        return self.phase == "cancelled" and not self.started


@dataclasses.dataclass(frozen=True)
class Facts:
    generation: int
    current_phase: str | None
    provisioned: str  # the Provisioned condition: "True" built, "Unknown" maybe partly built, "False" nothing
    desired: str = "Provisioned"  # Provisioned | Pending | Destroyed
    deleting: bool = False
    deletion_policy: str = "Delete"
    waiting_for: str | None = None
    # what the object waits for can only come from the user (a referenced object does not exist): Stalled
    waiting_reason: str | None = None
    delete_blocked_by: tuple[str, ...] = ()
    last: LastOperation | None = None
    connection_version: str | None = None
    # fleetyard.io/retry-requested-at changed since status.lastHandledRetryAt (kubectl annotate, REST
    # provision/destroy): a failed run is tried again now, whatever its backoff or terminal error
    retry_requested: bool = False
    # fleetyard.io/refresh-requested-at changed since status.lastHandledRefreshAt: a refresh run now
    refresh_requested: bool = False
    # what a run would apply now (`job.applied_spec`): equal to the last run's, nothing needs building
    applied: dict[str, Any] | None = None
    # digest of the EKS access entries the Teams named by the cluster ask for (None: none, or not a cluster)
    access_digest: str | None = None
    now: datetime.datetime = dataclasses.field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))

    @property
    def built(self) -> bool:
        return self.provisioned in ("True", "Unknown")


@dataclasses.dataclass(frozen=True)
class Decision:
    phase: str
    message: str = ""
    start: str | None = None
    attempt: int = 1
    release: bool = False
    stalled: bool = False
    retry_at: datetime.datetime | None = None
    stalled_reason: str = ""
    # False while a run is in flight: requests made meanwhile are acted on once it has ended
    handles_requests: bool = True
    scope: str = "all"


def provisioned_condition(previous: str | None, last: LastOperation | None) -> tuple[str, str]:
    """(status, reason) of the Provisioned condition after `last`."""
    previous = previous or "False"
    if last is None or last.superseded:
        return previous, {"True": "Provisioned", "Unknown": "Partial"}.get(previous, "NotProvisioned")
    if last.phase == "succeeded" and last.operation in ("provision", "update"):
        return "True", "Provisioned"
    if last.phase == "succeeded" and last.operation == "destroy":
        return "False", "Destroyed"
    if last.operation == "provision" and previous != "True":
        return "Unknown", "Partial" if last.phase in ("failed", "cancelled") else "Provisioning"
    return previous, {"True": "Provisioned", "Unknown": "Partial"}.get(previous, "NotProvisioned")


def decide(f: Facts) -> Decision:
    last = f.last
    if last is not None and last.in_flight:
        phase = PHASE_OF.get(last.operation, "updating")
        return Decision(phase, last.message or f"{last.operation} Operation {last.name} is {last.phase or 'queued'}",
                        handles_requests=False)
    if f.deleting:
        if f.deletion_policy == "Retain":
            return Decision(f.current_phase or "pending", "deleted with deletionPolicy Retain: cloud resources kept",
                            release=True)
        return _destroy(f, release_when_gone=True)
    if f.desired == "Destroyed":
        return _destroy(f, release_when_gone=False)
    if f.desired == "Pending":
        if f.built:
            return Decision(f.current_phase or "active", "desiredState is Pending: spec changes are not applied")
        return Decision("pending", "desiredState is Pending: nothing is built")
    return _provision(f)


def _destroy(f: Facts, release_when_gone: bool) -> Decision:
    gone = "deleted: nothing was left in the cloud" if release_when_gone else \
        "infrastructure destroyed; the record is kept"
    if not f.built:
        return Decision("destroyed", gone, release=release_when_gone)
    if f.delete_blocked_by:
        return Decision(f.current_phase or "active",
                        f"waiting to destroy: still used by {', '.join(f.delete_blocked_by)}")
    return _retry_or_start(f, "destroy")


def _provision(f: Facts) -> Decision:
    operation = "update" if f.provisioned == "True" else "provision"
    last = f.last
    if f.refresh_requested and f.built and not f.waiting_for:
        return Decision("updating", "starting refresh as requested", start="refresh")
    if last is not None and last.operation == "refresh" and last.phase == "failed" \
            and last.target_generation == f.generation:
        return _retry_or_start(f, "refresh")  # then the update that follows a refresh
    # the last run built what region and config ask for now (a rename needs nothing)
    built_this = (last is not None and last.phase == "succeeded" and last.operation in ("provision", "update")
                  and same_spec(f, last))
    if f.provisioned == "True" and last is None:
        return Decision("active")
    if built_this and last is not None and last.access_digest == f.access_digest:
        return Decision("active")
    if f.waiting_for:
        return Decision(f.current_phase if f.built and f.current_phase else "pending", f"waiting for {f.waiting_for}",
                        stalled=f.waiting_reason is not None, stalled_reason=f.waiting_reason or "")
    if built_this:  # only the access entries differ: an update that touches them alone
        return Decision("updating", "starting update of the access entries", start="update",
                        scope=operation_model.ACCESS_ENTRIES)
    last_access_only = last is not None and last.scope == operation_model.ACCESS_ENTRIES
    if (operation == "update" and last_access_only and last is not None and last.phase != "succeeded"
            and same_spec(f, last)):
        decision = _retry_or_start(f, operation)
        return dataclasses.replace(decision, scope=operation_model.ACCESS_ENTRIES) if decision.start else decision
    return _retry_or_start(f, operation)


def same_spec(f: Facts, last: LastOperation) -> bool:
    """Does `last` apply what the spec asks for now? Compared by what the programs read (region and
    config), so a change of displayName, access.teams or labels starts no run; by generation for an
    Operation without a snapshot."""
    if last.applied is not None and f.applied is not None:
        return last.applied == f.applied
    return last.target_generation == f.generation


def _retry_or_start(f: Facts, operation: str) -> Decision:
    last = f.last
    if last is None or last.phase == "succeeded" or last.operation != operation:
        return Decision(PHASE_OF[operation], f"starting {operation}", start=operation)
    changed = (not same_spec(f, last)
               or (f.connection_version is not None and last.connection_version != f.connection_version)
               or (operation != "destroy" and last.access_digest != f.access_digest))
    if changed or last.phase == "cancelled":
        return Decision(PHASE_OF[operation], f"starting {operation}", start=operation)
    if last.phase == "failed" and f.retry_requested:
        return Decision(PHASE_OF[operation], f"retrying {operation} as requested (attempt {last.attempt + 1})",
                        start=operation, attempt=last.attempt + 1)
    error = last.error or {}
    details = error.get("details") or {}
    reason = f"{operation} failed: {error.get('message') or 'unknown error'}"
    if details.get("retryable"):
        retry_at = (last.completed_at or f.now) + datetime.timedelta(seconds=float(details.get("retryAfter") or 0))
        if f.now >= retry_at:
            return Decision(PHASE_OF[operation], f"retrying {operation} (attempt {last.attempt + 1})",
                            start=operation, attempt=last.attempt + 1)
        # an absolute time, so the message (and status) does not change on every tick
        at = timestamps.format(retry_at)
        return Decision("failed", f"{reason}; retrying at {at} (attempt {last.attempt + 1})", retry_at=retry_at)
    return Decision("failed", f"{reason} (change the spec or the Connection, or annotate "
                              f"fleetyard.io/retry-requested-at, to retry)",
                    stalled=True, stalled_reason=_reason_word(error.get("code")) or "TerminalError")


def _reason_word(text: str | None) -> str:
    """A condition reason from an error code (Kubernetes wants CamelCase letters, digits, `_`)."""
    return "".join(c for c in (text or "") if c.isalnum() or c == "_")[:64]


def conditions_for(decision: Decision, provisioned: tuple[str, str]) -> dict[str, tuple[str, str, str]]:
    """type -> (status, reason, message) for the conditions users wait on."""
    active = decision.phase == "active"
    working = decision.phase in ("provisioning", "updating", "destroying")
    return {
        conditions.READY: ("True" if active else "False", _camel(decision.phase), decision.message),
        conditions.RECONCILING: ("True" if working else "False", _camel(decision.phase) if working else "Idle",
                                 decision.message if working else ""),
        conditions.STALLED: ("True" if decision.stalled else "False",
                             (decision.stalled_reason or "TerminalError") if decision.stalled else "None",
                             decision.message if decision.stalled else ""),
        conditions.PROVISIONED: (provisioned[0], provisioned[1], ""),
    }


def _camel(phase: str) -> str:
    return phase[:1].upper() + phase[1:]
