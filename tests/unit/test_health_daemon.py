"""Which clusters get a health daemon, and what a daemon's round does when its namespace is another
replica's (shards)."""

from __future__ import annotations

import asyncio

import pytest

from fleetyard.controllers import health_daemon, provisioned_cluster


@pytest.mark.parametrize(("status", "daemon"), [
    (None, False),
    ({"status": "pending"}, False),
    ({"status": "provisioning"}, False),
    ({"status": "active"}, True),
    ({"status": "updating"}, True),
    ({"status": "failed", "lastHealthStatus": "unhealthy"}, True),  # checked before: its series stay its daemon's
    ({"status": "destroying", "lastHealthStatus": "healthy"}, True),
    ({"status": "failed"}, False),  # a first provision that failed: nothing was ever checked
])
def test_only_clusters_checked_now_or_before_have_a_daemon(status, daemon) -> None:
    assert provisioned_cluster.has_health(status) is daemon


class Stopped:
    """Kopf's daemon stopper, enough for `keep_checking`: stops after `rounds` waits."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds

    def __bool__(self) -> bool:
        return self.rounds <= 0

    async def wait(self, _seconds: float) -> None:
        self.rounds -= 1


def test_a_round_in_another_replicas_namespace_checks_nothing_and_drops_the_series() -> None:
    checked, forgotten = [], []
    owned = iter([True, False, True])

    def run_if_owned(work):
        return (True, work()) if next(owned) else (False, None)
    asyncio.run(health_daemon.keep_checking(Stopped(4), lambda: checked.append(1), 0.0,
                                            lambda: forgotten.append(1), run_if_owned))
    assert (len(checked), len(forgotten)) == (2, 1)
