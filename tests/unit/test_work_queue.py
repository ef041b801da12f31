"""The reconcile work queue (`controllers.work_queue.WorkQueue`) as its users see it: keys are
de-duplicated, handled at the earliest time asked for, never twice at once, re-scheduled by what the
handler returns, backed off when the handler raises, and held back while this replica stands by.

Time is a fake clock moved by the test; the worker threads are real. After moving the clock the
test calls `wake()` so that a waiting worker looks at the clock again at once rather than at its
next (1 s) poll. Waits for something that must *not* happen are short (0.1-0.2 s)."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Hashable, Iterator

import pytest

from fleetyard.controllers import work_queue

QUIET = 0.15  # how long to watch for a call that must not come
SOON = 1.0  # how long a call that must come may take


class FakeClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def move_to(self, now: float, queue: work_queue.WorkQueue) -> None:
        self.now = now
        queue.wake()


class Recorder:
    """A handler that records (key, fake time) per call; `reply(key, nth_call)` is what it returns
    (or raises)."""

    def __init__(self, clock: FakeClock, reply: Callable[[Hashable, int], float | None] = lambda key, n: None):
        self.clock = clock
        self.reply = reply
        self.calls: list[tuple[Hashable, float]] = []
        self._cond = threading.Condition()

    def __call__(self, key: Hashable) -> float | None:
        with self._cond:
            self.calls.append((key, self.clock()))
            n = self.count(key)
            self._cond.notify_all()
        return self.reply(key, n)

    def count(self, key: Hashable) -> int:
        return sum(1 for k, _ in self.calls if k == key)

    def times(self, key: Hashable) -> list[float]:
        return [at for k, at in self.calls if k == key]

    def wait(self, key: Hashable, calls: int, timeout: float = SOON) -> bool:
        """Whether `key` has been handled at least `calls` times within `timeout`."""
        with self._cond:
            return self._cond.wait_for(lambda: self.count(key) >= calls, timeout)


@pytest.fixture
def make_queue() -> Iterator[Callable[..., work_queue.WorkQueue]]:
    made: list[work_queue.WorkQueue] = []

    def make(handle: Callable[[Hashable], float | None], **options) -> work_queue.WorkQueue:
        queue = work_queue.WorkQueue(handle, name="test", **options)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.stop()


def test_a_key_added_many_times_is_handled_once(make_queue) -> None:
    clock = FakeClock()
    handled = Recorder(clock)
    queue = make_queue(handled, clock=clock, workers=4)
    for _ in range(50):
        queue.add("a")
    queue.add("b")
    assert queue.pending() == 2

    queue.start()
    assert handled.wait("a", 1) and handled.wait("b", 1)
    assert not handled.wait("a", 2, timeout=QUIET)
    assert handled.count("a") == 1 and queue.pending() == 0


@pytest.mark.parametrize("delays", [(10, 5), (5, 10), (30, 5, 5, 7, 12)])
def test_the_earliest_delay_asked_for_wins(make_queue, delays) -> None:
    clock = FakeClock()
    handled = Recorder(clock)
    queue = make_queue(handled, clock=clock, workers=2)
    for delay in delays:
        queue.add("a", delay)
    queue.start()

    clock.move_to(4.9, queue)
    assert not handled.wait("a", 1, timeout=QUIET)
    clock.move_to(5.0, queue)
    assert handled.wait("a", 1)
    clock.move_to(100.0, queue)  # past every later time asked for: none of them is a second run
    assert not handled.wait("a", 2, timeout=QUIET)
    assert handled.times("a") == [5.0]


def test_a_key_is_never_handled_by_two_threads_at_once_and_runs_again_if_added_meanwhile(make_queue) -> None:
    clock = FakeClock()
    entered, release = threading.Event(), threading.Event()
    lock = threading.Lock()
    running: collections.Counter[Hashable] = collections.Counter()
    overlaps: list[Hashable] = []

    def slow_first_time(key: Hashable, n: int) -> None:
        if key == "slow" and n == 1:
            entered.set()
            release.wait(SOON * 2)

    recorder = Recorder(clock, slow_first_time)

    def handle(key: Hashable) -> float | None:
        with lock:
            running[key] += 1
            if running[key] > 1:
                overlaps.append(key)
        try:
            return recorder(key)
        finally:
            with lock:
                running[key] -= 1

    queue = make_queue(handle, clock=clock, workers=4)
    queue.add("slow")
    queue.start()
    try:
        assert entered.wait(SOON)
        for _ in range(5):
            queue.add("slow")
        queue.add("other")
        # idle workers are free (they take "other") but none of them takes "slow" while it runs
        assert recorder.wait("other", 1)
        assert not recorder.wait("slow", 2, timeout=QUIET)
    finally:
        release.set()
    assert recorder.wait("slow", 2)  # the adds made while it ran: one more run, right after
    assert not recorder.wait("slow", 3, timeout=QUIET)
    assert overlaps == []


def test_a_key_added_with_a_delay_while_being_handled_runs_again_at_that_time(make_queue) -> None:
    clock = FakeClock()
    entered, release = threading.Event(), threading.Event()

    def block_first(key: Hashable, n: int) -> None:
        if n == 1:
            entered.set()
            release.wait(SOON * 2)

    handled = Recorder(clock, block_first)
    queue = make_queue(handled, clock=clock, workers=2)
    queue.add("a")
    queue.start()
    try:
        assert entered.wait(SOON)
        queue.add("a", 20)
        queue.add("a", 10)
    finally:
        release.set()
    assert not handled.wait("a", 2, timeout=QUIET)
    clock.move_to(10.0, queue)
    assert handled.wait("a", 2)
    clock.move_to(50.0, queue)
    assert not handled.wait("a", 3, timeout=QUIET)
    assert handled.times("a") == [0.0, 10.0]


def _ran_once_rerun_at_30(make_queue):
    """"a" handled once at 0 by a handler asking to look again in 30 s (only the first time); returns
    (clock, handled, queue) once that re-run is scheduled."""
    clock = FakeClock()
    handled = Recorder(clock, lambda key, n: 30.0 if n == 1 else None)
    queue = make_queue(handled, clock=clock, workers=2)
    queue.add("a")
    queue.start()
    assert handled.wait("a", 1)
    _until(lambda: queue.pending() == 1)  # the run is over and its re-run scheduled
    return clock, handled, queue


def test_the_delay_the_handler_returns_schedules_the_next_run(make_queue) -> None:
    clock, handled, queue = _ran_once_rerun_at_30(make_queue)

    clock.move_to(29.9, queue)
    assert not handled.wait("a", 2, timeout=QUIET)
    clock.move_to(30.0, queue)
    assert handled.wait("a", 2)
    clock.move_to(1000.0, queue)  # the second run returned None: nothing more is scheduled
    assert not handled.wait("a", 3, timeout=QUIET)
    assert handled.times("a") == [0.0, 30.0]


def test_an_add_sooner_than_the_returned_delay_wins(make_queue) -> None:
    clock, handled, queue = _ran_once_rerun_at_30(make_queue)

    queue.add("a", 5)
    clock.move_to(5.0, queue)
    assert handled.wait("a", 2)
    clock.move_to(100.0, queue)
    assert not handled.wait("a", 3, timeout=QUIET)
    assert handled.times("a") == [0.0, 5.0]


def _fails(key: Hashable, n: int) -> None:
    if key == "bad":
        raise RuntimeError("the cloud said no")


def test_a_raising_handler_backs_off_and_the_queue_keeps_serving_other_keys(make_queue) -> None:
    clock = FakeClock()
    handled = Recorder(clock, _fails)
    queue = make_queue(handled, clock=clock, workers=1)  # one worker: a failing key must not hold it
    queue.add("bad")
    queue.start()
    assert handled.wait("bad", 1)

    for quiet_until, due, calls in ((0.9, 1.0, 2), (2.9, 3.0, 3), (6.9, 7.0, 4)):  # 1 s, 2 s, 4 s
        _until(lambda: queue.pending() == 1)  # the failed run is over and its retry scheduled
        clock.move_to(quiet_until, queue)
        assert not handled.wait("bad", calls, timeout=QUIET)
        if calls == 3:
            queue.add("good")
            assert handled.wait("good", 1)
        clock.move_to(due, queue)
        assert handled.wait("bad", calls)
    assert handled.times("bad") == [0.0, 1.0, 3.0, 7.0]
    assert handled.count("good") == 1


def test_the_failure_backoff_is_capped(make_queue) -> None:
    clock = FakeClock()
    handled = Recorder(clock, _fails)
    queue = make_queue(handled, clock=clock, workers=1)
    queue.add("bad")
    queue.start()
    at, delay = 0.0, work_queue.FAILURE_BASE
    for calls in range(1, 11):
        assert handled.wait("bad", calls)
        _until(lambda: queue.pending() == 1)
        if calls < 10:
            at += delay
            delay *= 2
            clock.move_to(at, queue)
    assert delay > work_queue.FAILURE_CAP  # the 10th failure's doubling would pass the cap
    clock.move_to(at + work_queue.FAILURE_CAP - 0.1, queue)
    assert not handled.wait("bad", 11, timeout=QUIET)
    clock.move_to(at + work_queue.FAILURE_CAP, queue)
    assert handled.wait("bad", 11)


def test_a_success_resets_the_failure_backoff(make_queue) -> None:
    clock = FakeClock()
    # fails, fails, succeeds (asking to be looked at again in 10 s), then fails again
    handled = Recorder(clock, lambda key, n: 10.0 if n == 3 else _fails("bad", n))
    queue = make_queue(handled, clock=clock, workers=1)
    queue.add("bad")
    queue.start()
    for at, calls in ((0.0, 1), (1.0, 2), (3.0, 3), (13.0, 4)):
        clock.move_to(at, queue)
        assert handled.wait("bad", calls)
        _until(lambda: queue.pending() == 1)
    clock.move_to(13.9, queue)
    assert not handled.wait("bad", 5, timeout=QUIET)
    clock.move_to(14.0, queue)  # 1 s after the failure at 13, not the 8 s a fourth failure in a row would wait
    assert handled.wait("bad", 5)


def test_nothing_is_handled_while_standing_by_and_everything_waiting_is_after_wake(make_queue) -> None:
    clock = FakeClock()
    handled = Recorder(clock)
    acting = threading.Event()
    queue = make_queue(handled, clock=clock, workers=2, active=acting.is_set)
    queue.add("a")
    queue.add("b", 5)
    queue.start()
    clock.move_to(10.0, queue)
    assert not handled.wait("a", 1, timeout=0.2)
    assert handled.calls == [] and queue.pending() == 2

    acting.set()
    queue.wake()
    # well under the workers' 1 s poll: it is the wake-up that lets them go
    assert handled.wait("a", 1, timeout=0.5) and handled.wait("b", 1, timeout=0.5)

    acting.clear()
    queue.add("c")
    queue.wake()
    assert not handled.wait("c", 1, timeout=0.2)
    assert queue.pending() == 1


def _until(condition: Callable[[], bool], timeout: float = SOON) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
