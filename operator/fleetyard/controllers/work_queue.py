"""A delaying work queue of object keys, drained by a few threads (client-go's workqueue, in small).

Used by `fleetyard.controllers.wakeups`. A key added several times before it is handled is handled
once, at the earliest time asked for; a key being handled is never handled by two threads at once
(added meanwhile, it runs again right after). `handle(key)` returns when to look again (seconds), or
None. While `active()` is False (this replica stands by) nothing is handled and keys wait.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)
FAILURE_BASE, FAILURE_CAP = 1.0, 300.0  # a key whose handler raises: 1 s, 2 s, 4 s ... 5 min


class WorkQueue:
    def __init__(self, handle: Callable[[Hashable], float | None], workers: int = 4,
                 active: Callable[[], bool] = lambda: True, name: str = "work",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._handle = handle
        self._active = active
        self._clock = clock
        self._cond = threading.Condition()
        self._due: dict[Hashable, float] = {}  # key -> when it is wanted (the earliest asked for)
        self._heap: list[tuple[float, int, Hashable]] = []
        self._seq = 0
        self._running: set[Hashable] = set()
        self._again: dict[Hashable, float] = {}  # added while running: due after this run
        self._failures: dict[Hashable, int] = {}
        self._stopped = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def add(self, key: Hashable, delay: float = 0.0) -> None:
        """Handle `key` in `delay` seconds, or sooner if already asked for sooner."""
        at = self._clock() + max(0.0, delay)
        with self._cond:
            if key in self._running:
                self._again[key] = min(at, self._again.get(key, at))
                return
            if key in self._due and self._due[key] <= at:
                return
            self._push(key, at)

    def wake(self) -> None:
        """Look at `active()` again now (a replica that was standing by takes over)."""
        with self._cond:
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._due) + len(self._again)

    def _push(self, key: Hashable, at: float) -> None:
        self._due[key] = at
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, key))
        self._cond.notify()

    def _next(self) -> Hashable | None:
        """The next due key (marked running), waiting as long as needed; None once stopped."""
        with self._cond:
            while not self._stopped:
                now = self._clock()
                if not self._active():
                    self._cond.wait(1.0)
                    continue
                while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
                    heapq.heappop(self._heap)  # superseded by an earlier time
                if self._heap and self._heap[0][0] <= now:
                    _, _, key = heapq.heappop(self._heap)
                    del self._due[key]
                    self._running.add(key)
                    return key
                self._cond.wait(min(1.0, self._heap[0][0] - now) if self._heap else 1.0)
        return None

    def _done(self, key: Hashable, after: float | None) -> None:
        with self._cond:
            self._running.discard(key)
            times = [t for t in (self._again.pop(key, None),
                                 None if after is None else self._clock() + after) if t is not None]
            if times and (key not in self._due or self._due[key] > min(times)):
                self._push(key, min(times))

    def _work(self) -> None:
        while (key := self._next()) is not None:
            after: float | None = None
            try:
                after = self._handle(key)
                self._failures.pop(key, None)
            except Exception:  # noqa: BLE001 - one object's failure must not stop the queue: back off
                failures = self._failures[key] = self._failures.get(key, 0) + 1
                after = min(FAILURE_CAP, FAILURE_BASE * 2 ** (failures - 1))
                log.exception("reconcile failed", extra={"key": str(key), "retry_in": after})
            finally:
                self._done(key, after)
