"""The operator's watch-fed view of fleetyard objects: one list + watch per kind, read from memory.

Installed by `fleetyard.operator_app` at start-up (`install`); `fleetyard.kube.resources` and
`fleetyard.kube.operations` then answer reads of an installed kind from here once its first list is
complete, and from the API before that or in processes that install nothing (the CLI, the
webhooks, the tests' clients). Like controller-runtime's cache: writes go to the API; what a write
returns is put back here at once (`observe`), so a reconcile right after its own write does not see
the older version; the watch brings everyone else's changes.

Each kind's `Reflector` is a thread (the operator's Kubernetes client is synchronous): it lists in
pages, watches from the list's version with bookmarks, resumes a watch that ends, and lists again
after 410 Gone or a failure. Bodies are kept without `managedFields` and the last-applied annotation
(most of an object's bytes, never read). `on_change(kind, old, new)` hears every change a watch
brings (new None: deleted), after the store holds it.
"""

from __future__ import annotations

import copy
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import kubernetes

from fleetyard.kube import client
from fleetyard.models import kinds

log = logging.getLogger(__name__)

LIST_PAGE = 500
WATCH_TIMEOUT = 300
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
Body = dict[str, Any]
Listener = Callable[[kinds.Kind, Body | None, Body | None], None]


def _version(body: Body) -> int:
    try:
        return int(body["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return 0


def _trim(body: Body) -> Body:
    meta = body.get("metadata") or {}
    if "managedFields" not in meta and LAST_APPLIED not in (meta.get("annotations") or {}):
        return body
    body = {**body, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    if LAST_APPLIED in (meta.get("annotations") or {}):
        body["metadata"]["annotations"] = {k: v for k, v in meta["annotations"].items() if k != LAST_APPLIED}
    return body


class Store:
    """The objects of one kind by namespace and name; thread-safe. A body older than the one held
    (by resourceVersion) is ignored, so a late watch event never undoes a write already observed.
    Kept per namespace: a reconcile's reads (a target's Operations, the users of a Connection) look
    at its own organization, never at the whole fleet."""

    def __init__(self, kind: kinds.Kind) -> None:
        self.kind = kind
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, Body]] = {}
        # deletions seen, by key: a list begun before a delete must not bring the object back
        self._deleted: dict[tuple[str, str], int] = {}

    @staticmethod
    def key(body: Body) -> tuple[str, str]:
        return body["metadata"].get("namespace") or "", body["metadata"]["name"]

    def _held(self, key: tuple[str, str]) -> Body | None:
        return self._items.get(key[0], {}).get(key[1])

    def put(self, body: Body) -> tuple[Body | None, Body | None]:
        """Keep `body` unless a newer version is held; (old, new) when it changed, else (None, None)."""
        body = _trim(body)
        key, version = self.key(body), _version(body)
        with self._lock:
            old = self._held(key)
            if old is not None and _version(old) >= version:
                return None, None
            if old is None and self._deleted.get(key, -1) >= version:
                return None, None
            self._items.setdefault(key[0], {})[key[1]] = body
            self._deleted.pop(key, None)
        return old, body

    def remove(self, body: Body) -> Body | None:
        key = self.key(body)
        with self._lock:
            self._deleted[key] = max(self._deleted.get(key, 0), _version(body))
            names = self._items.get(key[0], {})
            held = names.pop(key[1], None)
            if not names:
                self._items.pop(key[0], None)
            return held

    def replace(self, bodies: Iterable[Body], list_version: str | None = None) -> list[tuple[Body | None, Body | None]]:
        """The result of a fresh list (read at `list_version`) replaces the content, except what this
        process saw after the list was read: a newer body held (a write observed meanwhile) stays, an
        object deleted since stays deleted, one created since is kept. Returns what changed."""
        listed_at = int(list_version) if list_version and list_version.isdigit() else None
        with self._lock:
            old = {(ns, name): b for ns, names in self._items.items() for name, b in names.items()}
            fresh: dict[tuple[str, str], Body] = {}
            for body in bodies:
                body = _trim(body)
                key = self.key(body)
                if self._deleted.get(key, -1) >= _version(body):
                    continue
                held = old.get(key)
                fresh[key] = held if held is not None and _version(held) > _version(body) else body
            for key, held in old.items():
                if key not in fresh and listed_at is not None and _version(held) > listed_at:
                    fresh[key] = held  # created after the list was read
            self._items = {}
            for (ns, name), body in fresh.items():
                self._items.setdefault(ns, {})[name] = body
            if listed_at is not None:
                self._deleted = {k: v for k, v in self._deleted.items() if v > listed_at}
        changes: list[tuple[Body | None, Body | None]] = [
            (old.get(k), b) for k, b in fresh.items() if _version(old.get(k) or {}) != _version(b)]
        changes += [(b, None) for k, b in old.items() if k not in fresh]
        return changes

    def get(self, namespace: str, name: str) -> Body | None:
        with self._lock:
            body = self._held((namespace, name))
        return copy.deepcopy(body) if body is not None else None

    def list(self, namespace: str | None = None, labels: dict[str, str] | None = None) -> list[Body]:
        with self._lock:
            groups = list(self._items.values()) if namespace is None else [self._items.get(namespace, {})]
            found = [b for names in groups for b in names.values()]
        if labels:
            found = [b for b in found
                     if all((b["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())]
        return copy.deepcopy(found)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(names) for names in self._items.values())


class Reflector:
    """Keeps one kind's Store fed from the API; `synced` is set after the first complete list."""

    def __init__(self, kind: kinds.Kind, on_change: Listener) -> None:
        self.kind = kind
        self.store = Store(kind)
        self.synced = threading.Event()
        self._on_change = on_change
        self._stopped = threading.Event()
        self._watch: kubernetes.watch.Watch | None = None
        self._thread = threading.Thread(target=self._run, name=f"watch-{kind.plural}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._watch is not None:
            self._watch.stop()

    def tell(self, old: Body | None, new: Body | None) -> None:
        try:
            self._on_change(self.kind, old, new)
        except Exception:  # noqa: BLE001 - a listener's bug must not stop the watch
            log.exception("watch listener failed", extra={"kind": self.kind.kind})

    def _list(self) -> str:
        api = client.custom_objects()
        items: list[Body] = []
        token = ""
        while True:
            page = api.list_cluster_custom_object(kinds.GROUP, kinds.VERSION, self.kind.plural, limit=LIST_PAGE,
                                                  _continue=token)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                break
        version = str(page["metadata"]["resourceVersion"])
        for old, new in self.store.replace(items, version):
            self.tell(old, new)
        return version

    def _watch_from(self, version: str) -> str:
        """Watch from `version` until the server ends the watch; the last version seen."""
        self._watch = kubernetes.watch.Watch()
        for event in self._watch.stream(client.custom_objects().list_cluster_custom_object, kinds.GROUP,
                                        kinds.VERSION, self.kind.plural, resource_version=version,
                                        allow_watch_bookmarks=True, timeout_seconds=WATCH_TIMEOUT):
            kind, body = event["type"], event["raw_object"]
            if kind == "ERROR":
                raise kubernetes.client.ApiException(status=body.get("code") or 500, reason=body.get("message"))
            version = str(body["metadata"]["resourceVersion"])
            if kind == "DELETED":
                old = self.store.remove(body)
                self.tell(old, None)
            elif kind in ("ADDED", "MODIFIED"):
                old, new = self.store.put(body)
                if new is not None:
                    self.tell(old, new)
            if self._stopped.is_set():
                break
        return version

    def _run(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            try:
                version = self._list()
                self.synced.set()
                failures = 0
                while not self._stopped.is_set():
                    version = self._watch_from(version)
            except kubernetes.client.ApiException as exc:
                if exc.status == 410:
                    log.info("watch expired; listing again", extra={"kind": self.kind.kind})
                    continue
                failures += 1
                log.warning("watch failed", extra={"kind": self.kind.kind, "status": exc.status})
            except Exception as exc:  # noqa: BLE001 - network errors of every shape: list again after a pause
                failures += 1
                log.warning("watch failed", extra={"kind": self.kind.kind, "error": type(exc).__name__})
            self._stopped.wait(min(30.0, 0.5 * 2 ** failures) * random.uniform(0.5, 1.0))


_reflectors: dict[str, Reflector] = {}


def install(watched: Iterable[kinds.Kind], on_change: Listener = lambda kind, old, new: None) -> list[Reflector]:
    """Start watching `watched` in this process; reads of them come from memory once listed."""
    started = []
    for kind in watched:
        if kind.kind in _reflectors:
            continue
        reflector = _reflectors[kind.kind] = Reflector(kind, on_change)
        reflector.start()
        started.append(reflector)
    return started


def uninstall() -> None:
    for reflector in _reflectors.values():
        reflector.stop()
    _reflectors.clear()


def wait_synced(timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    return all(r.synced.wait(max(0.0, deadline - time.monotonic())) for r in list(_reflectors.values()))


def store(kind: kinds.Kind) -> Store | None:
    """The kind's Store once its first list is complete; None while reads must go to the API."""
    reflector = _reflectors.get(kind.kind)
    return reflector.store if reflector is not None and reflector.synced.is_set() else None


def observe(kind: kinds.Kind, body: Body | None) -> None:
    """A body a write returned: held at once (unless the watch already brought a newer one) and told
    to the listener now, as its watch event would be (that event, of the same version, is then ignored)."""
    reflector = _reflectors.get(kind.kind)
    if body and reflector is not None and reflector.synced.is_set():
        old, new = reflector.store.put(body)
        if new is not None:
            reflector.tell(old, new)


def labels_of(selector: str | None) -> dict[str, str] | None:
    """`a=b,c=d` as a dict; None for selectors the store cannot answer (sets, negations)."""
    if not selector:
        return {}
    out: dict[str, str] = {}
    for part in selector.split(","):
        key, sep, value = part.partition("=")
        if not sep or key.endswith("!") or value.startswith("="):
            return None
        out[key.strip()] = value.strip()
    return out
