"""A small time-bounded cache for answers of the apiserver (TokenReview, SubjectAccessReview).

Entries live `ttl` seconds; at `max_entries` the oldest go first. One event loop: no locks. A
miss for a key already being looked up waits for that lookup instead of starting another.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, Hashable, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(self, ttl: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Future[V]] = {}

    def get(self, key: Hashable) -> tuple[bool, V | None]:
        hit = self._items.get(key)
        if hit is None:
            return False, None
        if hit[0] < self.clock():
            del self._items[key]
            return False, None
        return True, hit[1]

    def put(self, key: Hashable, value: V) -> None:
        self._items[key] = (self.clock() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        found, value = self.get(key)
        if found:
            return value  # type: ignore[return-value]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await load()
            self.put(key, value)
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody else must
            raise
        finally:
            del self._pending[key]
