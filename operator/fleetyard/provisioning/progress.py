"""Turns Pulumi engine events into an Operation's `status.progress`, and rate-limits the patches.

The worker serialises each `pulumi.automation.events.EngineEvent` with `event_to_dict` (the engine's
own event-log JSON shape: `resourcePreEvent.metadata.op/urn/type`, ...) and streams it as a JSON
line; the runner feeds those dicts (or EngineEvents directly) to a `ProgressTracker`, whose
`snapshot()` is a `models.operation.Progress` dump, and uses a `Throttle` to decide when to patch.
The stack resource and provider resources are bookkeeping, not infrastructure, and are left out.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the operator process feeds dicts and never loads Pulumi; only the worker has EngineEvents
    from pulumi.automation import events as pulumi_events

from fleetyard.models import operation
from fleetyard.provisioning import failures

STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE_PREFIX = "pulumi:providers:"

# Steps of one replacement all carry the resource's URN; they read as one "replace".
REPLACE_OPS = {"replace", "create-replacement", "delete-replaced", "read-replacement", "import-replacement",
               "discard-replaced"}
_VERBS = {"create": "creating", "update": "updating", "delete": "deleting", "replace": "replacing",
          "read": "reading", "refresh": "refreshing", "import": "importing", "discard": "forgetting"}
_PAST = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted", "read": "read",
         "import": "imported", "refresh": "refreshed", "discard": "forgotten", "same": "unchanged"}
_STAGE_FOR_OP = {"delete": "destroying", "refresh": "refreshing"}
_GENERIC_ERRORS = ("update failed", "preview failed", "refresh failed", "destroy failed")


def is_bookkeeping(resource_type: str) -> bool:
    """The stack root and provider resources: tracked by Pulumi, not shown to people."""
    return resource_type == STACK_TYPE or resource_type.startswith(PROVIDER_TYPE_PREFIX)


def urn_name(urn: str) -> str:
    """`urn:pulumi:stack::project::type::name` -> name (names may themselves contain `::`)."""
    parts = urn.split("::", 3)
    return parts[3] if len(parts) == 4 else urn


def _op(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _state_to_dict(state: pulumi_events.StepEventStateMetadata | None, full: bool) -> dict[str, Any] | None:
    if state is None:
        return None
    out: dict[str, Any] = {"type": state.type, "urn": state.urn, "id": state.id, "parent": state.parent,
                           "provider": state.provider}
    for key, value in (("custom", state.custom), ("delete", state.delete), ("protect", state.protect),
                       ("taint", state.taint), ("retainOnDelete", state.retain_on_delete),
                       ("initErrors", state.init_errors)):
        if value:
            out[key] = value
    if full:
        out["inputs"] = dict(state.inputs or {})
        out["outputs"] = dict(state.outputs or {})
    return out


def _metadata_to_dict(meta: pulumi_events.StepEventMetadata, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"op": _op(meta.op), "urn": meta.urn, "type": meta.type, "provider": meta.provider,
                           "old": _state_to_dict(meta.old, full), "new": _state_to_dict(meta.new, full),
                           "detailedDiff": {k: {"diffKind": _op(v.diff_kind), "inputDiff": bool(v.input_diff)}
                                            for k, v in (meta.detailed_diff or {}).items()}}
    if meta.keys:
        out["keys"] = list(meta.keys)
    if meta.diffs:
        out["diffs"] = list(meta.diffs)
    if meta.logical:
        out["logical"] = True
    return out


def _step_event(event: pulumi_events.ResourcePreEvent | pulumi_events.ResOutputsEvent,
                full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": _metadata_to_dict(event.metadata, full)}
    if event.planning:
        out["planning"] = True
    return out


def event_to_dict(event: pulumi_events.EngineEvent, *, full: bool = False) -> dict[str, Any]:
    """An EngineEvent in the engine's event-log JSON shape (what `EngineEvent.from_json` reads).

    Unless `full`, resource inputs/outputs and prelude config values are left out, and diagnostic
    and stdout text is redacted: they can hold unmarked secrets (a kubeconfig output, a traceback
    quoting a key) and nothing downstream needs them.
    """
    text: Callable[[str], str] = (lambda value: value) if full else failures.redact
    out: dict[str, Any] = {"sequence": event.sequence, "timestamp": event.timestamp}
    if event.cancel_event is not None:
        out["cancelEvent"] = {}
    if (stdout := event.stdout_event) is not None:
        out["stdoutEvent"] = {"message": text(stdout.message), "color": stdout.color}
    if (diag := event.diagnostic_event) is not None:
        d: dict[str, Any] = {"message": text(diag.message), "color": diag.color, "severity": diag.severity}
        for key, value in (("urn", diag.urn), ("prefix", diag.prefix), ("streamID", diag.stream_id),
                           ("ephemeral", diag.ephemeral)):
            if value:
                d[key] = value
        out["diagnosticEvent"] = d
    if (prelude := event.prelude_event) is not None:
        out["preludeEvent"] = {"config": dict(prelude.config or {}) if full else {}}
    if (summary := event.summary_event) is not None:
        out["summaryEvent"] = {"maybeCorrupt": bool(summary.maybe_corrupt),
                               "durationSeconds": summary.duration_seconds,
                               "resourceChanges": {_op(k): v for k, v in (summary.resource_changes or {}).items()},
                               "PolicyPacks": dict(summary.policy_packs or {})}
    if (pre := event.resource_pre_event) is not None:
        out["resourcePreEvent"] = _step_event(pre, full)
    if (outputs := event.res_outputs_event) is not None:
        out["resOutputsEvent"] = _step_event(outputs, full)
    if (failed := event.res_op_failed_event) is not None:
        out["resOpFailedEvent"] = {"metadata": _metadata_to_dict(failed.metadata, full), "status": failed.status,
                                   "steps": failed.steps}
    if (policy := event.policy_event) is not None:
        p: dict[str, Any] = {"message": text(policy.message), "color": policy.color, "policyName": policy.policy_name,
                             "policyPackName": policy.policy_pack_name,
                             "policyPackVersion": policy.policy_pack_version,
                             "policyPackVersionTag": policy.policy_pack_version_tag,
                             "enforcementLevel": policy.enforcement_level}
        if policy.resource_urn:
            p["resourceUrn"] = policy.resource_urn
        out["policyEvent"] = p
    if (debug := event.start_debugging_event) is not None:
        out["startDebuggingEvent"] = {"config": dict(debug.config or {})}
    return out


@dataclasses.dataclass
class _Resource:
    urn: str
    type: str
    name: str
    operation: str
    status: str  # pending | running | succeeded | failed | unchanged
    started: float | None = None
    duration: float | None = None


class ProgressTracker:
    """Accumulates engine events (EngineEvents or their dicts) into the Operation's progress.

    Thread-safe: the Automation API calls `on_event` from its own threads. A new run's prelude
    (a refresh followed by an up, say) starts the resource list afresh; the stage stays whatever
    the runner last set.
    """

    def __init__(self, *, stage: str | None = None, message: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._stage = stage
        self._message = message
        self._resources: dict[str, _Resource] = {}
        self._bookkeeping_ops: dict[str, str] = {}
        self._error: str | None = None
        self._error_has_urn = False
        self.finished = False
        self.cancelled = False
        self.maybe_corrupt = False
        self.resource_changes: dict[str, int] = {}

    # -- what the runner knows -------------------------------------------------------------

    def set_stage(self, stage: str, message: str | None = None) -> None:
        """The runner's own stage ("refreshing", "verifying", "done", ...); its message wins."""
        with self._lock:
            self._stage = stage
            self._message = message
            self._error = None
            self._error_has_urn = False

    @property
    def stage(self) -> str | None:
        return self._stage

    @property
    def failed(self) -> bool:
        with self._lock:
            return self._error is not None or any(r.status == "failed" for r in self._resources.values())

    # -- engine events ---------------------------------------------------------------------

    def feed(self, event: pulumi_events.EngineEvent | Mapping[str, Any]) -> bool:
        """Applies one event; True when the progress a user sees changed."""
        data = event if isinstance(event, Mapping) else event_to_dict(event)
        with self._lock:
            if (prelude := data.get("preludeEvent")) is not None:
                return self._on_prelude(prelude)
            if (pre := data.get("resourcePreEvent")) is not None:
                return self._on_pre(pre)
            if (outputs := data.get("resOutputsEvent")) is not None:
                return self._on_outputs(outputs)
            if (failed := data.get("resOpFailedEvent")) is not None:
                return self._on_failed(failed)
            if (diag := data.get("diagnosticEvent")) is not None:
                return self._on_diagnostic(diag)
            if (error := data.get("errorEvent")) is not None:  # newer engines; the Python SDK drops these
                return self._on_error_text(str(error.get("error") or ""), None)
            if (summary := data.get("summaryEvent")) is not None:
                return self._on_summary(summary)
            if "cancelEvent" in data:
                return self._on_cancel()
            return False

    def _on_prelude(self, prelude: Mapping[str, Any]) -> bool:
        self._resources.clear()
        self._bookkeeping_ops.clear()
        self._error, self._error_has_urn = None, False
        self.finished = self.cancelled = self.maybe_corrupt = False
        self.resource_changes = {}
        self._message = "starting the Pulumi engine"
        return True

    @staticmethod
    def _meta(step: Mapping[str, Any]) -> tuple[str, str, str, Mapping[str, Any]]:
        meta = step.get("metadata") or {}
        return str(meta.get("urn") or ""), str(meta.get("type") or ""), _op(meta.get("op")), meta

    def _entry(self, urn: str, type_: str, op: str) -> _Resource:
        entry = self._resources.get(urn)
        if entry is None:
            entry = self._resources[urn] = _Resource(urn, type_, urn_name(urn), _display_op(op), "pending")
        elif entry.operation == "replace" or op in REPLACE_OPS:
            entry.operation = "replace"
        elif entry.operation != "refresh":
            entry.operation = _display_op(op)
        return entry

    def _finish(self, entry: _Resource, status: str) -> None:
        if entry.status == "failed":
            return
        entry.status = status
        if entry.started is not None:
            entry.duration = round(max(0.0, self._clock() - entry.started), 1)

    def _on_pre(self, step: Mapping[str, Any]) -> bool:
        urn, type_, op, meta = self._meta(step)
        if not urn:
            return False
        planning = bool(step.get("planning"))
        inferred = not planning and self._stage in (None, "queued")
        if inferred:  # the runner named no stage: the first step tells
            self._stage = _STAGE_FOR_OP.get(op, "provisioning")
        if is_bookkeeping(type_):
            self._bookkeeping_ops[urn] = op
            return inferred
        entry = self._entry(urn, type_, op)
        if planning:
            return True
        if entry.status != "failed":
            entry.status = "running"
        if entry.started is None:
            entry.started = self._clock()
        state = meta.get("new") or meta.get("old")
        if isinstance(state, Mapping) and not state.get("custom") and op != "refresh":
            # A component: the engine reports no outputs for it, and it has nothing to wait for.
            self._finish(entry, "unchanged" if op == "same" else "succeeded")
        elif op in _VERBS or op in REPLACE_OPS:
            if self._error is None:
                self._message = f"{_VERBS.get(_display_op(op), op)} {type_} {entry.name}"
        return True

    def _on_outputs(self, step: Mapping[str, Any]) -> bool:
        urn, type_, op, _ = self._meta(step)
        if not urn:
            return False
        if is_bookkeeping(type_):
            self._bookkeeping_ops[urn] = op
            return False
        entry = self._entry(urn, type_, op)
        if step.get("planning"):
            return True
        self._finish(entry, "unchanged" if op == "same" else "succeeded")
        return True

    def _on_failed(self, step: Mapping[str, Any]) -> bool:
        urn, type_, op, _ = self._meta(step)
        if not urn or is_bookkeeping(type_):
            return False
        entry = self._entry(urn, type_, op)
        self._finish(entry, "failed")
        return True

    def _on_diagnostic(self, diag: Mapping[str, Any]) -> bool:
        if diag.get("severity") != "error":
            return False
        return self._on_error_text(str(diag.get("message") or ""), diag.get("urn") or None)

    def _on_error_text(self, text: str, urn: str | None) -> bool:
        described = failures.describe(text)
        if not described:
            return False
        if urn and f"::{STACK_TYPE}::" in urn:
            urn = None  # the program's own failure, reported against the stack: no resource name to add
        message = f"{urn_name(urn)}: {described}" if urn else described
        generic = described.lower().removeprefix("error: ").strip() in _GENERIC_ERRORS
        if self._error is None or (urn and not self._error_has_urn) or (
                not generic and self._error.lower() in _GENERIC_ERRORS):
            self._error, self._error_has_urn = message, bool(urn)
            self._message = message
            return True
        return False

    def _on_summary(self, summary: Mapping[str, Any]) -> bool:
        for entry in self._resources.values():
            if entry.status == "running":
                self._finish(entry, "unchanged" if entry.operation == "same" else "succeeded")
        changes = {_op(k): int(v) for k, v in (summary.get("resourceChanges") or {}).items()}
        for op in self._bookkeeping_ops.values():  # the engine counts the stack (and explicit providers)
            if changes.get(op):
                changes[op] -= 1
        self.resource_changes = {k: v for k, v in changes.items() if v}
        self.maybe_corrupt = bool(summary.get("maybeCorrupt"))
        self.finished = True
        if self._error is None:
            order = list(_PAST)
            ops = sorted(self.resource_changes, key=lambda op: order.index(op) if op in order else len(order))
            parts = [f"{self.resource_changes[op]} {_PAST.get(op, op)}" for op in ops]
            text = ", ".join(parts) if parts else "no changes"
            if seconds := summary.get("durationSeconds"):
                text += f" in {int(seconds)}s"
            if self.maybe_corrupt:
                text += "; the stack state may be inconsistent"
            self._message = text
        return True

    def _on_cancel(self) -> bool:
        """The engine's last event: sent after every run, not only a cancelled one."""
        if self.finished:
            return False
        self.finished = self.cancelled = True
        for entry in self._resources.values():
            if entry.status == "running":
                self._finish(entry, "failed")
        if self._error is None:
            self._message = "the Pulumi run was cancelled before it finished"
        return True

    # -- output ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The progress as a JSON-able dict, `models.operation.Progress(...).model_dump(exclude_none=True)`."""
        with self._lock:
            resources = [operation.ResourceProgress(urn=r.urn, type=r.type, name=r.name, operation=r.operation,
                                                    status=r.status, duration=r.duration)
                         for r in self._resources.values()]
            counts = {status: 0 for status in ("pending", "running", "succeeded", "failed", "unchanged")}
            for r in resources:
                counts[r.status] = counts.get(r.status, 0) + 1
            summary = operation.ProgressSummary(total=len(resources), **counts)
            progress = operation.Progress(stage=self._stage, message=self._message, resources=resources,
                                          summary=summary)
        return progress.model_dump(exclude_none=True)


def _display_op(op: str) -> str:
    return "replace" if op in REPLACE_OPS else op


class Throttle:
    """At most one patch per `interval` seconds; a final flush always passes.

    `pending` says a call was refused since the last one that passed, so a periodic heartbeat
    knows there is something left to write.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last: float | None = None
        self.pending = False

    def due(self, now: float, *, final: bool = False) -> bool:
        if final or self.last is None or now - self.last >= self.interval:
            self.last = now
            self.pending = False
            return True
        self.pending = True
        return False
