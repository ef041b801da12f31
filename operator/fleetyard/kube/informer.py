"""List + watch of one fleetyard kind across all namespaces, feeding a local cache (an informer).

Used by the REST API's store (`fleetyard.rest.store`). Lists in pages, then watches from the
list's resourceVersion with bookmarks; a watch that ends is resumed from the last version seen,
and an expired version (410 Gone) or any other failure leads to a fresh list, whose result
replaces the cache's content for the kind. `synced` is set after the first complete list.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import watch as awatch

from fleetyard.models import kinds

log = logging.getLogger(__name__)

LIST_PAGE = 500
WATCH_TIMEOUT = 300


class Informer:
    """Keeps `on_replace(all objects)` / `on_event(type, object)` fed for one kind."""

    def __init__(self, api: aclient.ApiClient, kind: kinds.Kind,
                 on_replace: Callable[[list[Any], str], None],
                 on_event: Callable[[str, dict[str, Any]], None],
                 on_version: Callable[[str], None] = lambda _: None,
                 transform: Callable[[dict[str, Any]], Any] = lambda obj: obj) -> None:
        """`transform` is applied to each listed object as its page arrives (controller-runtime's
        TransformFunc): `on_replace` gets what it returns, and a large list is never held decoded."""
        self.kind = kind
        self._transform = transform
        self._custom = aclient.CustomObjectsApi(api)
        self._on_replace = on_replace
        self._on_event = on_event
        self._on_version = on_version
        self.synced = asyncio.Event()

    async def _list(self) -> tuple[list[Any], str]:
        items: list[Any] = []
        token: str | None = None
        while True:
            page = await self._custom.list_cluster_custom_object(
                kinds.GROUP, kinds.VERSION, self.kind.plural, limit=LIST_PAGE, _continue=token or None)
            items.extend(self._transform(obj) for obj in page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items, str(page["metadata"]["resourceVersion"])

    async def _watch(self, version: str) -> str:
        """Watch from `version` until the server ends the watch; returns the last version seen."""
        stream = awatch.Watch()
        async with stream:
            async for event in stream.stream(self._custom.list_cluster_custom_object, kinds.GROUP, kinds.VERSION,
                                             self.kind.plural, resource_version=version,
                                             allow_watch_bookmarks=True, timeout_seconds=WATCH_TIMEOUT):
                kind = event["type"]
                obj = event["raw_object"]
                version = str(obj["metadata"]["resourceVersion"])
                if kind != "BOOKMARK":
                    self._on_event(kind, obj)
                self._on_version(version)
        return version

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                items, version = await self._list()
                self._on_replace(items, version)
                del items  # not held for as long as the watch runs
                self.synced.set()
                failures = 0
                while True:
                    version = await self._watch(version)
            except asyncio.CancelledError:
                raise
            except aclient.ApiException as exc:
                if exc.status != 410:
                    failures += 1
                    log.warning("watch of %s failed: %s %s", self.kind.plural, exc.status, exc.reason)
                    await asyncio.sleep(min(30.0, 0.5 * 2 ** failures) * random.uniform(0.5, 1.0))
                else:
                    log.info("watch of %s expired; listing again", self.kind.plural)
            except Exception as exc:  # noqa: BLE001 - network errors of every shape: relist after a pause
                failures += 1
                log.warning("watch of %s failed: %s", self.kind.plural, exc)
                await asyncio.sleep(min(30.0, 0.5 * 2 ** failures) * random.uniform(0.5, 1.0))
