"""Shards: the live operator replicas split the organizations (namespaces) between them.

Started by `fleetyard.operator_app` when `FLEETYARD_SHARDS` is on (the chart's
`operator.sharding.enabled`); without it Kopf peering keeps one replica acting. Every replica:

- holds its own Lease (`fleetyard.kube.leases`), renewed every third of its duration, and lists the
  group's Leases in the same round: the live ones are the members (a round also comes right after
  another member's Lease is due to expire, and every half second while a new view settles);
- owns a namespace when rendezvous hashing over the members picks it (`owner`): every replica that
  sees the same members computes the same owner, a member joining or leaving moves only the
  namespaces it wins or held (about 1/N of them), and nothing is stored per namespace;
- hands over without overlap. On a new member set a replica at once stops taking new work in the
  namespaces it loses, waits for the work under way there (`working`) to end, and only then
  announces the new view in its Lease. A namespace it gains is acted on once every member announces
  that view (or it was already this replica's in the last view all agreed on). A dead replica's Lease
  expires: the members without it agree among themselves;
- fences itself: a replica whose own renewal is older than its Lease's duration less one round acts
  on nothing, since the others may already count it as gone.

Running Operations are not moved: a run belongs to the process whose heartbeat it carries (the
runner's lock), and the new owner takes it over only once that heartbeat is stale, as after a crash.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator
from typing import TypeVar

from fleetyard.kube import leases
from fleetyard.models import timestamps

log = logging.getLogger(__name__)
T = TypeVar("T")
WAIT_POLL = 1.0  # seconds between looks of a Kopf handler waiting for its namespace
# seconds between rounds while a new view settles (work in a handed-over namespace ending, or the
# others' announcements awaited), and after a member's Lease is due to expire
SETTLING_POLL = 0.5


def _score(member: str, namespace: str) -> bytes:
    return hashlib.sha256(f"{member}\x00{namespace}".encode()).digest()


def owner(namespace: str, members: Collection[str]) -> str | None:
    """The member that owns the namespace (rendezvous hashing: the highest score wins)."""
    return max(members, key=lambda m: _score(m, namespace), default=None)


def view_of(members: Collection[str]) -> str:
    """A short name for a member set, announced in each Lease."""
    return hashlib.sha256("\n".join(sorted(members)).encode()).hexdigest()[:16]


class Shards:
    """This replica's membership and what it owns. `owns` and `working` are safe from any thread."""

    def __init__(self, identity: str, namespace: str, group: str, duration: float,
                 on_change: Callable[[], None] = lambda: None, drain_timeout: float = 60.0) -> None:
        self.identity, self._namespace, self._group = identity, namespace, group
        self._duration = duration
        self.every = max(0.5, duration / 3)
        self._on_change = on_change
        self._drain_timeout = drain_timeout
        self._cond = threading.Condition()
        self._members: frozenset[str] = frozenset()  # the view this replica acts by
        self._settled: frozenset[str] = frozenset()  # the last view every member announced
        self._announced = view_of(())
        self._renewed_at: float | None = None  # monotonic time of the last successful renewal
        self._inflight: collections.Counter[str] = collections.Counter()
        self._drain_since = 0.0
        self._next_expiry: float | None = None  # seconds from the last round until another member's Lease expires
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shards", daemon=True)

    # what this replica owns

    def _fresh(self) -> bool:
        return self._renewed_at is not None and time.monotonic() - self._renewed_at < self._duration - self.every

    def _owns_locked(self, namespace: str) -> bool:
        if not self._fresh() or owner(namespace, self._members) != self.identity:
            return False
        return self._settled == self._members or owner(namespace, self._settled) == self.identity

    def owns(self, namespace: str) -> bool:
        with self._cond:
            return self._owns_locked(namespace)

    @contextlib.contextmanager
    def working(self, namespace: str) -> Iterator[bool]:
        """Yields whether this replica owns the namespace; while it is True the work counts as under way
        there, and a handover of the namespace waits for it."""
        with self._cond:
            mine = self._owns_locked(namespace)
            if mine:
                self._inflight[namespace] += 1
        try:
            yield mine
        finally:
            if mine:
                with self._cond:
                    self._inflight[namespace] -= 1
                    if self._inflight[namespace] <= 0:
                        del self._inflight[namespace]
                    self._cond.notify_all()

    def run_if_owned(self, namespace: str, work: Callable[[], T]) -> tuple[bool, T | None]:
        with self.working(namespace) as mine:
            return (True, work()) if mine else (False, None)

    # membership

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop acting, let the work under way end, and remove the Lease so the others take over now."""
        self._stopped.set()
        with self._cond:
            self._members = self._settled = frozenset()
            self._cond.wait_for(lambda: not self._inflight, timeout=self._drain_timeout)
        try:
            leases.release(self._namespace, self._group, self.identity)
        except Exception as exc:  # noqa: BLE001 - the Lease then expires by itself
            log.warning("could not release the shard lease", extra={"error": type(exc).__name__})

    def step(self) -> None:
        """One round: renew, read the members, adopt a new view; announce it once the work under way in
        the namespaces it takes away has ended (a later round if need be: the Lease is renewed meanwhile)."""
        now = timestamps.utcnow()
        leases.renew(self._namespace, self._group, self.identity, self._duration, self._announced, now)
        renewed_at = time.monotonic()
        alive = [m for m in leases.members(self._namespace, self._group) if m.alive(now)]
        live = {m.identity: m.view for m in alive}
        self._next_expiry = min((m.expires_in(now) for m in alive if m.identity != self.identity), default=None)
        live.setdefault(self.identity, self._announced)  # just renewed, even if the list came too early
        changed = False
        with self._cond:
            self._renewed_at = renewed_at
            new = frozenset(live)
            if new != self._members:
                log.info("shard members changed", extra={"members": sorted(new), "was": sorted(self._members)})
                self._members, changed = new, True
                self._drain_since = time.monotonic()
            wanted = view_of(self._members)
            ready = wanted != self._announced and self._drained()
        if ready:
            self._announced = wanted
            leases.renew(self._namespace, self._group, self.identity, self._duration, wanted, timestamps.utcnow())
            live[self.identity] = wanted
        with self._cond:
            agreed = all(live.get(m) == view_of(self._members) for m in self._members)
            if agreed and self._settled != self._members:
                self._settled, changed = self._members, True
                log.info("shard view agreed", extra={"members": sorted(self._members)})
        if changed:
            self._on_change()

    def draining(self) -> bool:
        """Is a new view not yet announced by this replica (the work it hands over still under way)?"""
        with self._cond:
            return self._announced != view_of(self._members)

    def settling(self) -> bool:
        """Is a new view not yet announced by this replica or not yet agreed by all?"""
        with self._cond:
            return self._announced != view_of(self._members) or self._settled != self._members

    def pause(self) -> float:
        """Until the next round: a third of the duration, but soon while a view settles, and right after
        another member's Lease is due to expire (a dead replica is noticed at its expiry, not up to a
        round later)."""
        if self.settling():
            return SETTLING_POLL
        if self._next_expiry is not None:
            return max(SETTLING_POLL, min(self.every, self._next_expiry + 0.1))
        return self.every

    def _drained(self) -> bool:
        """(Holding the lock.) Has the work under way in namespaces this replica no longer owns ended?
        After `drain_timeout` it is announced anyway, with a warning naming them."""
        busy = sorted(ns for ns in self._inflight if owner(ns, self._members) != self.identity)
        if not busy:
            return True
        if time.monotonic() - self._drain_since < self._drain_timeout:
            return False
        log.warning("work in handed-over namespaces did not end in time", extra={"namespaces": busy})
        return True

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.step()
            except Exception as exc:  # noqa: BLE001 - the API is unreachable: fencing stops us in time
                log.warning("shard lease round failed", extra={"error": type(exc).__name__})
            self._stopped.wait(self.pause())


async def wait_until_owned(shards: Shards | None, namespace: str, work: Callable[[], T],
                           moot: Callable[[], bool]) -> tuple[bool, T | None]:
    """For a Kopf handler: run `work` (in a thread) once this replica owns the namespace. Returns
    (False, None) when `moot()` says the object no longer needs it (another replica did it). Waiting
    here, rather than failing the handler, keeps Kopf from posting a retry Event per look and, for a
    deletion, from ever finishing the handler (and dropping the finalizer) on a replica that does not own it."""
    if shards is None:
        return True, await asyncio.to_thread(work)
    while True:
        done, result = await asyncio.to_thread(shards.run_if_owned, namespace, work)
        if done:
            return True, result
        if moot():
            return False, None
        await asyncio.sleep(WAIT_POLL)
