"""When a Connection's failed catalog run is asked again (`catalog_ops.retry_failed`): on its
retryAfter after it completed, only for retryable failures, at most MAX_ATTEMPTS runs in all."""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

import pytest
import yaml

from fleetyard.connections import catalog_ops
from fleetyard.models import connection as connection_model, kinds, operation as operation_model

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
NOW = datetime.datetime(2026, 12, 2, 12, 0, 0, tzinfo=datetime.timezone.utc)


def connection() -> connection_model.Connection:
    body = yaml.safe_load((EXAMPLES / "acme" / "connection.yaml").read_text())
    body["metadata"].update(namespace="acme", uid="u-1", generation=1)
    return kinds.CONNECTION.parse(body)


def catalog_run(phase: str, *, attempt: int = 1, completed_ago: float = 60, retryable: bool | None = True,
                retry_after: int | None = 30) -> operation_model.Operation:
    status: dict[str, Any] = {"status": phase}
    if phase in ("failed", "succeeded"):
        status["completedAt"] = (NOW - datetime.timedelta(seconds=completed_ago)).isoformat()
    if phase == "failed":
        status["error"] = {"code": "NetworkError", "message": "the AWS endpoint could not be reached",
                           "details": {"retryable": retryable, "retryAfter": retry_after}}
    return kinds.OPERATION.parse({
        "apiVersion": f"{kinds.GROUP}/{kinds.VERSION}", "kind": "Operation",
        "metadata": {"name": f"op-{attempt}", "namespace": "acme", "creationTimestamp": "2026-12-02T11:00:00Z"},
        "spec": {"operation": operation_model.LIST_INSTANCE_TYPES, "attempt": attempt, "resourceType": "connection",
                 "resourceRef": {"kind": "Connection", "name": "acme-prod"}},
        "status": status})


@pytest.fixture
def asked(monkeypatch) -> list[int]:
    """The attempts `retry_failed` asked for, with the Operations it sees set by `runs`."""
    out: list[int] = []
    monkeypatch.setattr(catalog_ops, "_ask", lambda conn, attempt: out.append(attempt))
    return out


def retry(monkeypatch, *runs: operation_model.Operation) -> float | None:
    monkeypatch.setattr(catalog_ops, "_catalog_ops", lambda conn: list(runs))
    return catalog_ops.retry_failed(connection(), NOW)


def test_a_retryable_failure_is_asked_again_once_its_retry_after_passed(monkeypatch, asked) -> None:
    assert retry(monkeypatch, catalog_run("failed", attempt=2, completed_ago=31, retry_after=30)) is None
    assert asked == [3]


def test_before_its_retry_after_it_says_how_long_to_wait(monkeypatch, asked) -> None:
    wait = retry(monkeypatch, catalog_run("failed", completed_ago=10, retry_after=30))
    assert wait == pytest.approx(20) and asked == []


@pytest.mark.parametrize("newest", [
    catalog_run("failed", retryable=False),
    catalog_run("failed", retryable=None),
    catalog_run("failed", attempt=catalog_ops.MAX_ATTEMPTS),
    catalog_run("succeeded"),
    catalog_run("running"),
], ids=["not-retryable", "retryable-unknown", "attempts-used-up", "succeeded", "running"])
def test_nothing_else_is_retried_between_verifications(monkeypatch, asked, newest) -> None:
    assert retry(monkeypatch, newest) is None and asked == []


def test_only_the_newest_run_counts(monkeypatch, asked) -> None:
    """An older failure followed by a success is history, not a reason to ask again."""
    assert retry(monkeypatch, catalog_run("failed", completed_ago=600), catalog_run("succeeded")) is None
    assert asked == []


def test_no_run_at_all_waits_for_the_verification(monkeypatch, asked) -> None:
    assert retry(monkeypatch) is None and asked == []
