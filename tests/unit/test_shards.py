"""Shards: who owns a namespace, and the handover rules (join, leave, death, fencing), over an
in-memory stand-in for the Lease API (pure logic; the e2e test runs three operators on a real one)."""

from __future__ import annotations

import datetime
import time

import pytest

from fleetyard.controllers import shards
from fleetyard.kube import leases
from fleetyard.models import timestamps

NAMESPACES = [f"org-{i}" for i in range(600)]


class FakeLeases:
    def __init__(self) -> None:
        self.held: dict[str, leases.Member] = {}
        self.failing: set[str] = set()

    def renew(self, namespace, group, identity, duration, view, now) -> None:
        if identity in self.failing:
            raise ConnectionError("apiserver unreachable")
        self.held[identity] = leases.Member(identity, view, now, duration)

    def release(self, namespace, group, identity) -> None:
        self.held.pop(identity, None)

    def members(self, namespace, group) -> list[leases.Member]:
        return list(self.held.values())

    def expire(self, identity: str) -> None:
        old = self.held[identity]
        self.held[identity] = leases.Member(identity, old.view, old.renewed - datetime.timedelta(seconds=3600),
                                            old.duration)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeLeases:
    fake = FakeLeases()
    for name in ("renew", "release", "members"):
        monkeypatch.setattr(leases, name, getattr(fake, name))
    return fake


def replica(identity: str, duration: float = 15.0, **kw) -> shards.Shards:
    return shards.Shards(identity, "fleetyard-system", "fleetyard", duration, **kw)


def owned(r: shards.Shards) -> set[str]:
    return {ns for ns in NAMESPACES if r.owns(ns)}


# --- the assignment ------------------------------------------------------------------------------------

def test_every_namespace_has_one_owner_and_the_split_is_within_20_percent_of_even() -> None:
    members = ["operator-0", "operator-1", "operator-2"]
    counts = {m: 0 for m in members}
    for ns in NAMESPACES:
        counts[shards.owner(ns, members)] += 1
    even = len(NAMESPACES) / len(members)
    assert all(abs(c - even) <= 0.2 * even for c in counts.values()), counts


def test_a_member_leaving_moves_only_its_own_namespaces() -> None:
    before = {ns: shards.owner(ns, ["a", "b", "c"]) for ns in NAMESPACES}
    after = {ns: shards.owner(ns, ["a", "b"]) for ns in NAMESPACES}
    moved = {ns for ns in NAMESPACES if before[ns] != after[ns]}
    assert moved == {ns for ns in NAMESPACES if before[ns] == "c"}


def test_the_owner_does_not_depend_on_the_order_of_the_members() -> None:
    assert all(shards.owner(ns, ["a", "b", "c"]) == shards.owner(ns, ["c", "a", "b"]) for ns in NAMESPACES)


# --- membership and handover -----------------------------------------------------------------------------

def test_a_single_replica_owns_everything_after_its_first_round(api) -> None:
    a = replica("a")
    assert owned(a) == set()  # before any round: nothing, not even with no one else around
    a.step()
    assert owned(a) == set(NAMESPACES)


def test_a_joining_replica_acts_only_once_the_others_have_handed_over(api) -> None:
    a, b = replica("a"), replica("b")
    a.step()
    b.step()  # b sees {a, b}; a has not looked yet
    assert owned(b) == set(), "b acted before a let go of anything"
    b_share = {ns for ns in NAMESPACES if shards.owner(ns, ["a", "b"]) == "b"}
    assert owned(a) == set(NAMESPACES)  # a still acts by the view it knows
    a.step()  # a adopts {a, b}: lets go of b's share at once and announces it
    assert owned(a) == set(NAMESPACES) - b_share
    b.step()
    assert owned(b) == b_share
    assert owned(a) & owned(b) == set()


def test_a_handover_waits_for_the_work_under_way_in_the_namespace(api) -> None:
    a, b = replica("a"), replica("b")
    a.step()
    moving = next(ns for ns in NAMESPACES if shards.owner(ns, ["a", "b"]) == "b")
    staying = next(ns for ns in NAMESPACES if shards.owner(ns, ["a", "b"]) == "a")
    b.step()
    with a.working(moving) as mine:
        assert mine
        a.step()  # a adopts {a, b} while it still works in `moving`
        assert not a.owns(moving), "a takes new work in a namespace it is handing over"
        assert a.owns(staying)
        assert a.draining() and api.held["a"].view != shards.view_of(["a", "b"])  # not announced yet
        b.step()
        assert not b.owns(moving), "b acted while a's work there was under way"
        a.step()
        assert a.draining()  # still under way: still not announced (the Lease is renewed all the same)
    a.step()
    assert not a.draining()
    b.step()
    assert b.owns(moving) and not a.owns(moving)


def test_work_that_does_not_end_holds_a_handover_only_until_the_drain_timeout(api) -> None:
    a, b = replica("a", drain_timeout=0.2), replica("b")
    a.step()
    moving = next(ns for ns in NAMESPACES if shards.owner(ns, ["a", "b"]) == "b")
    b.step()
    with a.working(moving):
        a.step()
        assert a.draining()
        time.sleep(0.3)
        a.step()
        assert not a.draining()  # announced anyway (and logged): a stuck check must not stop the fleet
    b.step()
    assert b.owns(moving)


def test_a_dead_replicas_namespaces_move_once_its_lease_expires(api) -> None:
    a, b = replica("a"), replica("b")
    for r in (a, b, a, b):
        r.step()
    assert owned(a) | owned(b) == set(NAMESPACES) and not owned(a) & owned(b)
    api.expire("b")  # b stopped renewing a lease duration ago
    a.step()
    assert owned(a) == set(NAMESPACES)


def test_rounds_come_soon_while_a_view_settles_and_right_after_a_lease_is_due_to_expire(api) -> None:
    """A dead replica is noticed when its Lease expires, not up to a round later, and the survivors'
    announcements are seen within half a second: the takeover is the lease duration plus that."""
    a, b = replica("a"), replica("b")
    a.step()
    assert a.pause() == a.every  # alone and agreed: a normal round
    b.step()  # b announces {a, b}; a has not looked yet
    assert b.settling() and b.pause() == shards.SETTLING_POLL
    a.step()
    b.step()
    assert not a.settling() and not b.settling()
    # b renewed just now: its Lease expires in ~15 s, after a's next round (5 s)
    assert a.pause() == a.every
    old = api.held["b"]
    api.held["b"] = leases.Member("b", old.view, old.renewed - datetime.timedelta(seconds=13), old.duration)
    a.step()  # b's Lease is due in ~2 s: a looks again right after
    assert 2.0 <= a.pause() <= 2.2


def test_a_graceful_stop_hands_everything_over_at_once(api) -> None:
    a, b = replica("a"), replica("b")
    for r in (a, b, a, b):
        r.step()
    b.stop()
    assert owned(b) == set()
    a.step()
    assert owned(a) == set(NAMESPACES)


def test_a_replica_that_cannot_renew_stops_acting_before_its_lease_expires(api) -> None:
    a = replica("a", duration=1.5)  # renewed every 0.5 s; acts while its renewal is younger than 1 s
    a.step()
    assert owned(a) == set(NAMESPACES)
    api.failing.add("a")
    with pytest.raises(ConnectionError):
        a.step()
    time.sleep(1.1)
    assert owned(a) == set(), "a kept acting although the others may count it as gone"
    api.failing.clear()
    a.step()
    assert owned(a) == set(NAMESPACES)


def test_a_new_view_tells_the_listener(api) -> None:
    told: list[int] = []
    a = replica("a", on_change=lambda: told.append(1))
    a.step()
    assert told
    count = len(told)
    a.step()  # nothing changed
    assert len(told) == count


def test_leases_alive_by_renewal_and_duration() -> None:
    now = timestamps.utcnow()
    assert leases.Member("a", "", now - datetime.timedelta(seconds=5), 15).alive(now)
    assert not leases.Member("a", "", now - datetime.timedelta(seconds=16), 15).alive(now)
    assert not leases.Member("a", "", None, 15).alive(now)


def test_lease_names_are_valid_and_distinct() -> None:
    names = {leases.lease_name("fleetyard", i) for i in ("operator-7f9c/1", "operator-7f9c-1", "OPERATOR" * 20)}
    assert len(names) == 3
    assert all(len(n) <= 63 and n == n.lower() and n[0].isalnum() and n[-1].isalnum() for n in names)
