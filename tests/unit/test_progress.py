"""Operation progress built from Pulumi engine events, as a user watching the Operation sees it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.automation import events as pulumi_events

from fleetyard.models import operation
from fleetyard.provisioning import progress

STACK = "urn:pulumi:dev::fleetyard-cluster::pulumi:pulumi:Stack::fleetyard-cluster-dev"
PROVIDER = "urn:pulumi:dev::fleetyard-cluster::pulumi:providers:aws::customer"
VPC = "urn:pulumi:dev::fleetyard-cluster::aws:ec2/vpc:Vpc::main"
CLUSTER = "urn:pulumi:dev::fleetyard-cluster::aws:eks/cluster:Cluster::fleet"
ROLE = "urn:pulumi:dev::fleetyard-cluster::aws:iam/role:Role::cluster-role"
COMPONENT = "urn:pulumi:dev::fleetyard-cluster::fleetyard:index:Network::net"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _type(urn: str) -> str:
    return urn.split("::")[2].rsplit("$", 1)[-1]


def _state(urn: str, custom: bool) -> dict[str, Any]:
    state = {"type": _type(urn), "urn": urn, "id": "", "parent": STACK, "provider": "",
             "inputs": {"cidrBlock": "10.0.0.0/16"}, "outputs": {}}
    if custom:
        state["custom"] = True
    return state


def _step(kind: str, op: str, urn: str, *, custom: bool = True, planning: bool = False) -> dict[str, Any]:
    state = _state(urn, custom)
    deleting = op in ("delete", "delete-replaced")
    metadata = {"op": op, "urn": urn, "type": _type(urn), "provider": "", "detailedDiff": None,
                "old": state if deleting or op in ("same", "update", "refresh") else None,
                "new": None if deleting else state}
    body: dict[str, Any] = {"metadata": metadata}
    if kind == "resOpFailedEvent":
        body.update(status=1, steps=0)
    elif planning:
        body["planning"] = True
    return {"sequence": 1, "timestamp": 1700000000, kind: body}


def pre(op: str, urn: str, **kw: Any) -> dict[str, Any]:
    return _step("resourcePreEvent", op, urn, **kw)


def out(op: str, urn: str, **kw: Any) -> dict[str, Any]:
    return _step("resOutputsEvent", op, urn, **kw)


def failed(op: str, urn: str) -> dict[str, Any]:
    return _step("resOpFailedEvent", op, urn)


def diag(message: str, severity: str = "error", urn: str | None = None) -> dict[str, Any]:
    body = {"message": message, "color": "raw", "severity": severity}
    if urn:
        body["urn"] = urn
    return {"sequence": 1, "timestamp": 1, "diagnosticEvent": body}


def summary(changes: dict[str, int], seconds: int = 42, corrupt: bool = False) -> dict[str, Any]:
    return {"sequence": 1, "timestamp": 1, "summaryEvent": {
        "maybeCorrupt": corrupt, "durationSeconds": seconds, "resourceChanges": changes, "PolicyPacks": {}}}


PRELUDE = {"sequence": 0, "timestamp": 1, "preludeEvent": {"config": {"aws:region": "eu-west-1"}}}
CANCEL = {"sequence": 99, "timestamp": 1, "cancelEvent": {}}
TICK = "tick"  # advances the clock 10 s between events in a script


def run(script: list[Any], *, engine_events: bool, stage: str | None = "provisioning",
        ) -> tuple[progress.ProgressTracker, dict[str, Any]]:
    """Feeds a script of events (as EngineEvents built by the SDK's own parser, or as dicts)."""
    clock = Clock()
    tracker = progress.ProgressTracker(stage=stage, clock=clock)
    for item in script:
        if item == TICK:
            clock.now += 10
            continue
        tracker.feed(pulumi_events.EngineEvent.from_json(item) if engine_events else item)
    return tracker, tracker.snapshot()


def by_name(snap: dict[str, Any]) -> dict[str, tuple[str, str, float | None]]:
    return {r["name"]: (r["operation"], r["status"], r.get("duration")) for r in snap["resources"]}


# name -> (operation, status, duration)
SCENARIOS = {
    "create succeeds": (
        [PRELUDE, pre("create", VPC), TICK, out("create", VPC)],
        {"main": ("create", "succeeded", 10.0)}),
    "unchanged resource": (
        [PRELUDE, pre("same", VPC), out("same", VPC)],
        {"main": ("same", "unchanged", 0.0)}),
    "failure keeps its duration": (
        [PRELUDE, pre("create", CLUSTER), TICK, TICK, failed("create", CLUSTER)],
        {"fleet": ("create", "failed", 20.0)}),
    "in flight": (
        [PRELUDE, pre("update", ROLE), TICK],
        {"cluster-role": ("update", "running", None)}),
    "replacement reads as one replace": (
        [PRELUDE, pre("create-replacement", CLUSTER), TICK, out("create-replacement", CLUSTER),
         pre("replace", CLUSTER), out("replace", CLUSTER), TICK, pre("delete-replaced", CLUSTER), TICK,
         out("delete-replaced", CLUSTER)],
        {"fleet": ("replace", "succeeded", 30.0)}),
    "refresh without drift": (
        [PRELUDE, pre("refresh", VPC), TICK, out("same", VPC)],
        {"main": ("refresh", "unchanged", 10.0)}),
    "refresh with drift": (
        [PRELUDE, pre("refresh", VPC), out("update", VPC)],
        {"main": ("refresh", "succeeded", 0.0)}),
    "destroy": (
        [PRELUDE, pre("delete", CLUSTER), TICK, out("delete", CLUSTER)],
        {"fleet": ("delete", "succeeded", 10.0)}),
    "component has no outputs event": (
        [PRELUDE, pre("create", COMPONENT, custom=False), TICK],
        {"net": ("create", "succeeded", 0.0)}),
    "preview steps are pending": (
        [PRELUDE, pre("create", VPC, planning=True), out("create", VPC, planning=True)],
        {"main": ("create", "pending", None)}),
    "stack and providers are not resources": (
        [PRELUDE, pre("create", STACK, custom=False), pre("create", PROVIDER), out("create", PROVIDER),
         pre("create", VPC), out("create", VPC)],
        {"main": ("create", "succeeded", 0.0)}),
}


@pytest.mark.parametrize("engine_events", [True, False], ids=["EngineEvent", "dict"])
@pytest.mark.parametrize("script,expected", list(SCENARIOS.values()), ids=list(SCENARIOS))
def test_resource_rows(script: list[Any], expected: dict[str, tuple[str, str, float | None]],
                       engine_events: bool) -> None:
    _, snap = run(script, engine_events=engine_events)
    assert by_name(snap) == expected
    counts = snap["summary"]
    assert counts["total"] == len(expected)
    for status in ("pending", "running", "succeeded", "failed", "unchanged"):
        assert counts[status] == sum(1 for _, s, _ in expected.values() if s == status)
    operation.Progress.model_validate(snap)
    json.dumps(snap)


def test_a_whole_up_counts_and_summary_message() -> None:
    script = [PRELUDE, pre("same", STACK, custom=False),
              pre("create", VPC), pre("same", ROLE), out("same", ROLE), TICK, out("create", VPC),
              pre("create", CLUSTER), TICK, TICK, out("create", CLUSTER),
              # the engine counts the stack resource too: 1 of the 2 "same" is the stack
              summary({"create": 2, "same": 2}, seconds=125), CANCEL]
    tracker, snap = run(script, engine_events=True)
    assert snap["summary"] == {"total": 3, "pending": 0, "running": 0, "succeeded": 2, "failed": 0, "unchanged": 1}
    assert snap["message"] == "2 created, 1 unchanged in 125s"
    assert snap["stage"] == "provisioning"
    assert tracker.finished and not tracker.cancelled and not tracker.failed
    assert tracker.resource_changes == {"create": 2, "same": 1}


@pytest.mark.parametrize("messages,expected", [
    # the resource's own error wins over the engine's closing "update failed"
    ([diag("<{%reset%}>error: 1 error occurred:\n\t* creating EKS Cluster (fleet): operation error EKS: "
           "CreateCluster, https response error StatusCode: 400, RequestID: 0b3c4d5e-1111-2222-3333-444455556666, "
           "InvalidParameterException: unsupported Kubernetes version<{%reset%}>\n", urn=CLUSTER),
      diag("<{%reset%}>error: update failed<{%reset%}>\n")],
     "fleet: creating EKS Cluster (fleet): InvalidParameterException: unsupported Kubernetes version"),
    ([diag("error: update failed\n"),
      diag("error: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized", urn=ROLE)],
     "cluster-role: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized"),
    # a program failure is reported against the stack: no resource name in front
    ([diag("error: Program failed with an unhandled exception:\nTraceback (most recent call last):\n"
           "  File \"/w/__main__.py\", line 3, in <module>\nKeyError: 'subnets'\n", urn=STACK)],
     "KeyError: 'subnets'"),
    ([diag("warning: aws:eks/cluster:Cluster is deprecated", severity="warning"),
      diag("pip installed\n", severity="info#err")], "creating aws:eks/cluster:Cluster fleet"),
])
def test_error_message(messages: list[dict[str, Any]], expected: str) -> None:
    _, snap = run([PRELUDE, pre("create", CLUSTER), *messages], engine_events=True)
    assert snap["message"] == expected


def test_error_message_is_redacted() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    _, snap = run([PRELUDE, diag(f"error: creating role: ExternalId=fleet-ext-1234 secret {secret}", urn=ROLE)],
                  engine_events=False)
    assert secret not in snap["message"] and "fleet-ext-1234" not in snap["message"]
    assert snap["message"].startswith("cluster-role: creating role")


def test_failed_run_keeps_the_error_after_the_summary() -> None:
    tracker, snap = run([PRELUDE, pre("create", CLUSTER), failed("create", CLUSTER),
                         diag("error: boom AccessDenied", urn=CLUSTER), summary({}), CANCEL], engine_events=True)
    assert snap["message"] == "fleet: boom AccessDenied"
    assert snap["summary"]["failed"] == 1 and tracker.failed


@pytest.mark.parametrize("script,status,message_part", [
    ([PRELUDE, pre("create", VPC), TICK, CANCEL], "failed", "cancelled"),
    ([PRELUDE, pre("create", VPC), TICK, out("create", VPC), summary({"create": 1}, seconds=10), CANCEL],
     "succeeded", "1 created in 10s"),
])
def test_cancel_event_ends_the_stream(script: list[Any], status: str, message_part: str) -> None:
    tracker, snap = run(script, engine_events=True)
    assert snap["resources"][0]["status"] == status
    assert message_part in snap["message"]
    assert tracker.finished


def test_cancel_after_summary_changes_nothing() -> None:
    tracker, before = run([PRELUDE, pre("create", VPC), out("create", VPC), summary({"create": 1})],
                          engine_events=False)
    assert tracker.feed(CANCEL) is False
    assert tracker.snapshot() == before and not tracker.cancelled


def test_summary_closes_components_still_open_and_flags_corruption() -> None:
    clock = Clock()
    tracker = progress.ProgressTracker(stage="destroying", clock=clock)
    tracker.feed(PRELUDE)
    tracker.feed(pre("delete", COMPONENT))  # custom delete: waits for its outputs event
    clock.now += 7
    tracker.feed(summary({"delete": 1}, seconds=7, corrupt=True))
    snap = tracker.snapshot()
    assert by_name(snap) == {"net": ("delete", "succeeded", 7.0)}
    assert snap["message"] == "1 deleted in 7s; the stack state may be inconsistent"


@pytest.mark.parametrize("first_op,stage", [("delete", "destroying"), ("refresh", "refreshing"),
                                            ("create", "provisioning"), ("same", "provisioning")])
def test_stage_from_the_first_step_when_the_runner_named_none(first_op: str, stage: str) -> None:
    _, snap = run([PRELUDE, pre(first_op, VPC)], engine_events=True, stage="queued")
    assert snap["stage"] == stage


def test_runner_stage_wins_and_a_new_run_starts_afresh() -> None:
    clock = Clock()
    tracker = progress.ProgressTracker(stage="queued", clock=clock)
    tracker.set_stage("refreshing", "refreshing the stack state")
    for event in (PRELUDE, pre("refresh", VPC), out("same", VPC), summary({"same": 1}), CANCEL):
        tracker.feed(event)
    assert tracker.snapshot()["stage"] == "refreshing"
    tracker.set_stage("provisioning", "running pulumi up")
    assert tracker.snapshot()["message"] == "running pulumi up"
    for event in (PRELUDE, pre("create", CLUSTER)):
        tracker.feed(event)
    snap = tracker.snapshot()
    assert snap["stage"] == "provisioning"
    assert by_name(snap) == {"fleet": ("create", "running", None)}
    assert snap["message"] == "creating aws:eks/cluster:Cluster fleet"
    tracker.set_stage("done", "cluster ready")
    assert {k: tracker.snapshot()[k] for k in ("stage", "message")} == {"stage": "done", "message": "cluster ready"}


def test_feed_reports_whether_anything_visible_changed() -> None:
    tracker = progress.ProgressTracker()
    assert tracker.feed({"sequence": 1, "timestamp": 1, "stdoutEvent": {"message": "hi", "color": "raw"}}) is False
    assert tracker.feed(diag("just info", severity="info")) is False
    assert tracker.feed(PRELUDE) is True
    assert tracker.feed(pre("create", VPC)) is True
    assert tracker.feed(pre("same", PROVIDER)) is False


def test_empty_tracker_snapshot() -> None:
    snap = progress.ProgressTracker(stage="queued", message="waiting for a worker").snapshot()
    assert snap == {"stage": "queued", "message": "waiting for a worker", "resources": [],
                    "summary": {"total": 0, "pending": 0, "running": 0, "succeeded": 0, "failed": 0,
                                "unchanged": 0}}


# -- event_to_dict: the engine-log shape, so what the worker streams parses back the same -------------


@pytest.mark.parametrize("event", [
    PRELUDE | {"preludeEvent": {"config": {}}},
    CANCEL,
    {"sequence": 3, "timestamp": 5, "stdoutEvent": {"message": "hello", "color": "never"}},
    diag("error: x", urn=VPC),
    summary({"create": 3, "same": 1}),
    {"sequence": 4, "timestamp": 6, "resourcePreEvent": {"metadata": {
        "op": "update", "urn": ROLE, "type": "aws:iam/role:Role", "provider": "p", "old": None,
        "new": {"type": "aws:iam/role:Role", "urn": ROLE, "id": "r-1", "parent": STACK, "provider": "p",
                "custom": True},
        "detailedDiff": {"tags": {"diffKind": "update", "inputDiff": True}}, "diffs": ["tags"], "logical": True}}},
    {"sequence": 5, "timestamp": 7, "resOpFailedEvent": {"metadata": {
        "op": "create", "urn": VPC, "type": "aws:ec2/vpc:Vpc", "provider": "", "old": None, "new": None,
        "detailedDiff": {}}, "status": 1, "steps": 2}},
], ids=["prelude", "cancel", "stdout", "diagnostic", "summary", "pre", "failed"])
def test_event_to_dict_round_trips_the_engine_shape(event: dict[str, Any]) -> None:
    engine_event = pulumi_events.EngineEvent.from_json(event)
    as_dict = progress.event_to_dict(engine_event)
    assert as_dict == event
    assert progress.event_to_dict(pulumi_events.EngineEvent.from_json(json.loads(json.dumps(as_dict)))) == event


def test_event_to_dict_leaves_out_state_and_config_unless_full() -> None:
    event = pulumi_events.EngineEvent.from_json(out("create", CLUSTER))
    new_state = progress.event_to_dict(event)["resOutputsEvent"]["metadata"]["new"]
    assert "inputs" not in new_state and "outputs" not in new_state
    full = progress.event_to_dict(event, full=True)["resOutputsEvent"]["metadata"]["new"]
    assert full["inputs"] == {"cidrBlock": "10.0.0.0/16"}
    prelude = pulumi_events.EngineEvent.from_json(PRELUDE)
    assert progress.event_to_dict(prelude)["preludeEvent"] == {"config": {}}
    assert progress.event_to_dict(prelude, full=True)["preludeEvent"] == {"config": {"aws:region": "eu-west-1"}}


def test_event_to_dict_redacts_diagnostic_text_unless_full() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    event = pulumi_events.EngineEvent.from_json(diag(f"ValueError: bad spec: aws_secret_access_key={secret}\n"))
    assert secret not in json.dumps(progress.event_to_dict(event))
    assert secret in progress.event_to_dict(event, full=True)["diagnosticEvent"]["message"]


def test_diagnostic_stream_id_uses_the_engine_key() -> None:
    event = pulumi_events.EngineEvent(sequence=1, timestamp=1, diagnostic_event=pulumi_events.DiagnosticEvent(
        message="m", color="raw", severity="info", stream_id=7))
    assert progress.event_to_dict(event)["diagnosticEvent"]["streamID"] == 7


# -- Throttle ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("calls,expected", [
    ([(0, False), (1, False), (4.9, False), (5, False), (6, False), (10, False)],
     [True, False, False, True, False, True]),
    ([(0, False), (1, True)], [True, True]),          # the final flush always passes
    ([(100, False), (100, False), (100, True)], [True, False, True]),
])
def test_throttle(calls: list[tuple[float, bool]], expected: list[bool]) -> None:
    throttle = progress.Throttle(5)
    assert [throttle.due(now, final=final) for now, final in calls] == expected


def test_throttle_remembers_a_refused_patch() -> None:
    throttle = progress.Throttle(5)
    throttle.due(0)
    assert not throttle.pending
    throttle.due(1)
    assert throttle.pending
    throttle.due(6)
    assert not throttle.pending
