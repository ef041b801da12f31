"""Opt-in instrumentation of the fake `aws` plugin's AWS calls, for benchmarks (hack/bench/).

Both are off unless their environment variable is set (the operator's workers, the Pulumi CLI
and so the plugin inherit it):

- `FLEETYARD_FAKE_AWS_TRACE=<file>`: one JSON line per boto3 API call,
  `{"stack", "service", "operation", "start", "end", "pid"}` (+ `"error"`: the error code when the
  call failed), times as epoch floats. `stack` is the Pulumi stack the plugin works for: taken from
  `PULUMI_STACK` if set, else from the first request URN (`urn:pulumi:<stack>::<project>::...`),
  else from the parent Pulumi CLI's `--stack` argument. The file is opened with O_APPEND and each
  record is one write() of one whole line, so concurrent plugin processes do not interleave. A
  `wait_for` that had to poll is recorded too, with `service` "plugin-wait".
- `FLEETYARD_FAKE_AWS_LATENCY=<seconds>`: every mutating call (Create*, Delete*, Update*,
  Attach*, ...) sleeps that long before it is sent, to emulate AWS being slower than moto. The
  sleep is inside the traced interval.

`instrument(client)` hooks a botocore client (botocore `before-call`/`after-call` events);
`fake_aws_config.Clients` calls it for every client it makes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

TRACE_ENV = "FLEETYARD_FAKE_AWS_TRACE"
LATENCY_ENV = "FLEETYARD_FAKE_AWS_LATENCY"
MUTATING_PREFIXES = (
    "Create", "Delete", "Update", "Modify", "Put", "Attach", "Detach", "Associate", "Disassociate",
    "Allocate", "Release", "Replace", "Authorize", "Revoke", "Tag", "Untag", "Add", "Remove", "Run",
    "Terminate", "Enable", "Disable", "Register", "Deregister", "Set",
)

_stack: str | None = None
_lock = threading.Lock()
_fd: int | None = None


def trace_path() -> str | None:
    return os.environ.get(TRACE_ENV) or None


def latency() -> float:
    try:
        return max(0.0, float(os.environ.get(LATENCY_ENV) or 0))
    except ValueError:
        return 0.0


def enabled() -> bool:
    return trace_path() is not None or latency() > 0


def is_mutating(operation: str) -> bool:
    return operation.startswith(MUTATING_PREFIXES)


def note_urn(urn: str | None) -> None:
    """Remember the stack of the first request URN this plugin sees."""
    global _stack
    if _stack is None and urn and urn.startswith("urn:pulumi:") and "::" in urn:
        _stack = urn[len("urn:pulumi:"):].split("::", 1)[0]


def _parent_stack() -> str | None:
    """`--stack [org/project/]name` of the parent process (the Pulumi CLI), if it has one."""
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
            args = f.read().decode(errors="replace").split("\0")
    except OSError:
        return None
    for i, arg in enumerate(args):
        value = None
        if arg in ("--stack", "-s") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--stack="):
            value = arg.split("=", 1)[1]
        if value:
            return value.rsplit("/", 1)[-1]
    return None


def stack() -> str:
    return os.environ.get("PULUMI_STACK") or _stack or _parent_stack() or ""


def record(service: str, operation: str, start: float, end: float, error: str | None = None) -> None:
    """Append one trace line (no-op unless tracing is on)."""
    global _fd
    path = trace_path()
    if path is None:
        return
    entry: dict[str, Any] = {"stack": stack(), "service": service, "operation": operation,
                             "start": start, "end": end, "pid": os.getpid()}
    if error:
        entry["error"] = error
    line = (json.dumps(entry) + "\n").encode()
    with _lock:
        if _fd is None:
            _fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(_fd, line)


def _before_call(model: Any, context: dict[str, Any], **_: Any) -> None:
    context["fake_aws_trace_start"] = time.time()
    delay = latency()
    if delay and is_mutating(model.name):
        time.sleep(delay)


def _finish(service: str, model_name: str, context: dict[str, Any], error: str | None) -> None:
    start = context.pop("fake_aws_trace_start", None)
    if start is not None:
        record(service, model_name, start, time.time(), error)


def instrument(client: Any) -> Any:
    """Hook `client` for tracing/latency when either is enabled; returns the client."""
    if not enabled():
        return client
    service = client.meta.service_model.service_name

    def after_call(model: Any, context: dict[str, Any], http_response: Any = None, parsed: Any = None,
                   **_: Any) -> None:
        error = None
        if http_response is not None and getattr(http_response, "status_code", 200) >= 300:
            error = str(((parsed or {}).get("Error") or {}).get("Code") or http_response.status_code)
        _finish(service, model.name, context, error)

    def after_call_error(context: dict[str, Any], exception: BaseException | None = None, **kwargs: Any) -> None:
        name = kwargs.get("event_name", "").rsplit(".", 1)[-1]
        _finish(service, name, context, type(exception).__name__ if exception else "error")

    events = client.meta.events
    events.register("before-call", _before_call, unique_id="fake-aws-trace-before")
    events.register("after-call", after_call, unique_id="fake-aws-trace-after")
    events.register("after-call-error", after_call_error, unique_id="fake-aws-trace-error")
    return client


class Wait:
    """Times a plugin-side wait (polling AWS until it agrees); recorded only if it had to sleep."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.start = time.time()
        self.slept = False

    def done(self) -> None:
        if self.slept:
            record("plugin-wait", self.what, self.start, time.time())
