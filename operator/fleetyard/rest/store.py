"""The REST API's read model: every fleetyard object in memory, fed by watches, with the indexes the
endpoints need and each entity's seed JSON encoded once per change. Bodies are kept packed (JSON,
zlib) beside the few fields the indexes and routers read, and unpacked only by the rare requests
that need a whole body (`Entry`).

`Store.apply_*` take the informers' callbacks (`fleetyard.kube.informer`); everything else is
plain lookups, so a read request never waits on the apiserver. Indexes: by seed id per kind and
namespace; ProvisionedClusters sorted by (createdAt, id) per namespace and per Connection (the
/infra pages); Cluster records per Team; Teams per member and per group (the /me view and the
caller's organizations); the /me records of a set of memberships, in order, until a record comes,
goes, or changes its Teams or name. `wait_until` lets a write wait for its own result to arrive
(bounded).
Single-threaded: the informers and the request handlers share one event loop.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import json
import sys
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from fleetyard.day2 import teams as team_rules
from fleetyard.models import ids, kinds
from fleetyard.rest import heap, shapes

Key = tuple[str, str]  # (namespace, name)
SortKey = tuple[str, str]  # (createdAt, id)
VISIBLE_CACHE_SIZE = 1024  # distinct sets of Team memberships whose /me records are kept
# what a Cluster record names by seed id: the entities /me includes beside it
RELATED = ((kinds.CONNECTION, "connectionId"), (kinds.NETWORK, "networkId"), (kinds.PROVISIONED_CLUSTER,
                                                                               "externalClusterId"))
RELATED_KINDS = tuple(kind for kind, _ in RELATED)
# the public fields the routers read from `Entry.public`
PUBLIC_READ = ("status", *(field for _, field in RELATED))
# what the store drops from a body: server-side apply's bookkeeping and kubectl's copy of the last
# manifest it applied; nothing here reads them, and either can be as large as the rest of the body
MANAGED_FIELDS = "managedFields"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class Listed(NamedTuple):
    """A listed object as the informer hands it over (`listed`, its transform): its key and its
    stripped body encoded, so a list of thousands is never held decoded."""

    namespace: str
    name: str
    encoded: bytes


def listed(obj: dict[str, Any]) -> Listed:
    meta = obj["metadata"]
    return Listed(str(meta["namespace"]), str(meta["name"]), encode(_stripped(obj)))


def encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclasses.dataclass(slots=True)
class Entry:
    """One cached object: its body (packed), what the indexes and routers read of it, and its public
    JSON (encoded).

    Pages are joined from `json` and `ref_json`; the body is unpacked only where a request needs
    more than `spec` (`obj`, `status`: writes, health, kubeconfig, metrics). `public` keeps the public
    fields the routers read (status and the ids a record names). An Entry is replaced, never changed,
    when its object changes, except for what `Store._encode` sets: `refs` (the names of what a
    response includes beside it: a ProvisionedCluster's Connection and current Operation) and
    `sort_key` (a Cluster record's /me order)."""

    packed: bytes  # the body less what `_stripped` drops, JSON-encoded and zlib-compressed
    id: str | None
    namespace: str
    name: str
    uid: str
    created: str  # metadata.creationTimestamp
    labels: dict[str, str]
    spec: dict[str, Any]
    public: dict[str, Any] = dataclasses.field(default_factory=dict)
    json: bytes = b"{}"
    ref_json: bytes = b"{}"
    refs: tuple[str | None, str | None] = (None, None)
    sort_key: tuple[str, str] = ("", "")
    # a Cluster record's Connection, Network and ProvisionedCluster keys, by `Store.related` (with the
    # `Store.ids_version` they were resolved at)
    related: tuple[int, tuple[Key | None, Key | None, Key | None]] = (-1, (None, None, None))

    @classmethod
    def of(cls, obj: dict[str, Any], encoded: bytes) -> Entry:
        """The entry of `obj` (already `_stripped`), given its encoding."""
        meta = obj["metadata"]
        return cls(zlib.compress(encoded, 1), ids.of(obj), sys.intern(str(meta["namespace"])), str(meta["name"]),
                   str(meta.get("uid") or ""), str(meta.get("creationTimestamp") or ""),
                   _shared_keys(meta.get("labels") or {}), _shared_keys(obj.get("spec") or {}))

    @property
    def obj(self) -> dict[str, Any]:
        """The body, unpacked anew on each call."""
        return json.loads(zlib.decompress(self.packed))  # type: ignore[no-any-return]

    @property
    def status(self) -> dict[str, Any]:
        """The body's status, unpacked anew on each call."""
        return self.obj.get("status") or {}

    def outline(self) -> dict[str, Any]:
        """The body as far as the Team rules read it (`fleetyard.day2.teams`: namespace, name, spec),
        without unpacking it."""
        return {"metadata": {"namespace": self.namespace, "name": self.name}, "spec": self.spec}


class SortedIndex:
    """(createdAt, id) keys of one group of objects, kept sorted for marker pages."""

    def __init__(self) -> None:
        self.keys: list[SortKey] = []
        self.names: dict[SortKey, str] = {}

    def add(self, key: SortKey, name: str) -> None:
        if key not in self.names:
            bisect.insort(self.keys, key)
        self.names[key] = name

    def remove(self, key: SortKey) -> None:
        if self.names.pop(key, None) is not None:
            i = bisect.bisect_left(self.keys, key)
            if i < len(self.keys) and self.keys[i] == key:
                del self.keys[i]

    def page(self, after: SortKey | None, limit: int) -> tuple[list[str], SortKey | None]:
        """Names of up to `limit` objects after `after`, and the key to continue from (None at the end)."""
        start = bisect.bisect_right(self.keys, after) if after is not None else 0
        chosen = self.keys[start:start + limit]
        more = start + limit < len(self.keys)
        return [self.names[k] for k in chosen], (chosen[-1] if chosen and more else None)

    def __len__(self) -> int:
        return len(self.keys)


class Store:
    def __init__(self) -> None:
        self.entries: dict[str, dict[Key, Entry]] = {k.kind: {} for k in kinds.ALL}
        self.by_id: dict[str, dict[tuple[str, str], str]] = {k.kind: {} for k in kinds.ALL}
        self.versions: dict[str, int] = {k.kind: 0 for k in kinds.ALL}
        self.clusters_sorted: dict[str, SortedIndex] = defaultdict(SortedIndex)
        self.clusters_by_connection: dict[Key, SortedIndex] = defaultdict(SortedIndex)
        self._sort_keys: dict[Key, tuple[SortKey, str]] = {}
        self.records_by_team: dict[Key, set[str]] = defaultdict(set)
        self.teams_by_member: dict[str, set[Key]] = defaultdict(set)
        self.teams_by_group: dict[str, set[Key]] = defaultdict(set)
        self.dependents: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # (ns, kind, name) -> PC names
        self.operations_by_target: dict[Key, set[str]] = defaultdict(set)  # (ns, target uid) -> Operation names
        # bumped when a Cluster record comes, goes, or changes its Teams or /me sort key: the
        # records visible to a set of memberships (in /me order) are cached until then
        self.records_version = 0
        self._visible: dict[frozenset[Key], tuple[list[Key], bool]] = {}
        self._visible_version = 0
        # bumped when a Connection, Network or ProvisionedCluster seed id comes, changes or goes: the
        # keys a record's ids resolve to (`related`) are kept until then
        self.ids_version = 0
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    # --- feeding ------------------------------------------------------------------------------------

    def replace(self, kind: kinds.Kind, items: Iterable[Listed | dict[str, Any]], version: str) -> None:
        """A fresh list of `kind` (`Listed` objects, or bodies): drop what is gone, apply the rest.

        Each entry is made from its body decoded anew, one at a time: made among a whole decoded
        list, the entries would keep most of the list's memory in use. Then glibc's free heap goes
        back to the system."""
        packed = [item if isinstance(item, Listed) else listed(item) for item in items]
        present = {(item.namespace, item.name) for item in packed}
        for key in [k for k in self.entries[kind.kind] if k not in present]:
            self._delete(kind, key)
        for item in packed:
            self._upsert(kind, json.loads(item.encoded), item.encoded)
        del packed  # before the trim, which can then return their memory too
        heap.trim()
        self.observe_version(kind, version)

    def apply_event(self, kind: kinds.Kind, event_type: str, obj: dict[str, Any]) -> None:
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if event_type == "DELETED":
            self._delete(kind, key)
        else:
            self._upsert(kind, obj)
        self.observe_version(kind, obj["metadata"]["resourceVersion"])

    def observe_version(self, kind: kinds.Kind, version: str) -> None:
        try:
            self.versions[kind.kind] = max(self.versions[kind.kind], int(version))
        except ValueError:
            pass
        self._wake()

    # --- waiting for writes -----------------------------------------------------------------------------

    async def wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Until `ready()` holds after some event (or at once); False on timeout."""
        if ready():
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = (ready, future)
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def seen(self, kind: kinds.Kind, version: str) -> bool:
        """Whether the watch of `kind` has caught up with `version` (etcd revisions are ordered ints)."""
        try:
            return self.versions[kind.kind] >= int(version)
        except ValueError:
            return True

    def _wake(self) -> None:
        for ready, future in list(self._waiters):
            if not future.done() and ready():
                future.set_result(None)

    # --- lookups --------------------------------------------------------------------------------------

    def get(self, kind: kinds.Kind, namespace: str, name: str | None) -> Entry | None:
        return self.entries[kind.kind].get((namespace, name)) if name else None

    def by_seed_id(self, kind: kinds.Kind, namespace: str, id_: str | None) -> Entry | None:
        name = self.by_id[kind.kind].get((namespace, id_)) if id_ else None
        return self.get(kind, namespace, name)

    def ref(self, owner: Entry, field: str, kind: kinds.Kind) -> Entry | None:
        return self.get(kind, owner.namespace, (owner.spec.get(field) or {}).get("name"))

    def teams_of(self, username: str, groups: Iterable[str]) -> set[Key]:
        """(namespace, team) of the Teams the caller belongs to, confirmed by the day-2 rule."""
        candidates = set(self.teams_by_member.get(username, ()))
        for group in groups:
            candidates |= self.teams_by_group.get(group, set())
        teams = self.entries[kinds.TEAM.kind]
        bodies = [teams[k].outline() for k in candidates if k in teams]
        return team_rules.teams_of(username, groups, bodies)

    def team_names(self, namespace: str) -> list[str]:
        return [name for ns, name in self.entries[kinds.TEAM.kind] if ns == namespace]

    def records_for(self, memberships: set[Key], descending: bool = False) -> list[Entry]:
        """Cluster records whose access.teams name one of the memberships, in `Entry.sort_key` order
        (name lower-cased, then id; reversed when `descending`), as a new list.

        Which records (their keys, in order) is cached per set of memberships until `records_version`
        moves; the entries themselves are looked up on every call, so their bodies are current."""
        if self._visible_version != self.records_version:
            self._visible.clear()
            self._visible_version = self.records_version
        records = self.entries[kinds.CLUSTER.kind]
        cache_key = frozenset(memberships)
        cached = self._visible.get(cache_key)
        if cached is None:
            names = {(ns, name) for ns, team in memberships for name in self.records_by_team.get((ns, team), ())}
            found = [records[k] for k in names
                     if k in records and team_rules.may_see(records[k].outline(), memberships)]
            found.sort(key=_by_sort_key)
            distinct = all(a.sort_key != b.sort_key for a, b in zip(found, found[1:]))
            cached = ([(e.namespace, e.name) for e in found], distinct)
            if len(self._visible) >= VISIBLE_CACHE_SIZE:
                self._visible.clear()
            self._visible[cache_key] = cached
        keys, distinct = cached
        found = [records[k] for k in keys]
        if not descending:
            return found
        if distinct:
            return found[::-1]
        return sorted(found, key=_by_sort_key, reverse=True)

    def related(self, record: Entry) -> tuple[Key | None, Key | None, Key | None]:
        """(namespace, name) of the Connection, Network and ProvisionedCluster a Cluster record names by
        seed id (`connectionId`, `networkId`, `externalClusterId`); None where an id names nothing."""
        version, keys = record.related
        if version != self.ids_version:
            keys = tuple(self._key_of(kind, record.namespace, record.public.get(field))  # type: ignore[assignment]
                         for kind, field in RELATED)
            record.related = (self.ids_version, keys)
        return keys

    def _key_of(self, kind: kinds.Kind, namespace: str, id_: str | None) -> Key | None:
        name = self.by_id[kind.kind].get((namespace, id_)) if id_ else None
        return (namespace, name) if name else None

    def operations_of(self, target: Entry) -> list[Entry]:
        """The target's Operations, oldest first."""
        names = self.operations_by_target.get((target.namespace, target.uid), ())
        found = [e for e in (self.get(kinds.OPERATION, target.namespace, n) for n in names) if e is not None]
        return sorted(found, key=lambda e: (e.created, e.name))

    def latest_operation(self, target: Entry, operation: str, excluding: Iterable[str] = ()) -> Entry | None:
        """The target's newest `operation` Operation (other than those named in `excluding`)."""
        skip = set(excluding)
        return next((e for e in reversed(self.operations_of(target))
                     if e.spec.get("operation") == operation and e.name not in skip), None)

    # --- maintenance --------------------------------------------------------------------------------

    def _upsert(self, kind: kinds.Kind, obj: dict[str, Any], encoded: bytes | None = None) -> None:
        """Cache `obj` (`encoded`: `obj`, already `_stripped`, encoded, when the caller has it)."""
        if encoded is None:
            encoded = encode(_stripped(obj))
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        old = self.entries[kind.kind].get(key)
        entry = Entry.of(obj, encoded)
        if old is not None and old.id and old.id != entry.id:
            self.by_id[kind.kind].pop((key[0], old.id), None)
        if entry.id:
            self.by_id[kind.kind][(key[0], entry.id)] = key[1]
        if kind in RELATED_KINDS and (old is None or old.id != entry.id):
            self.ids_version += 1
        self.entries[kind.kind][key] = entry
        if kind is kinds.PROVISIONED_CLUSTER:
            self._index_cluster(entry, old)
        elif kind is kinds.CLUSTER:
            self._index_record(entry, old)
        elif kind is kinds.TEAM:
            self._index_team(entry, old)
        elif kind is kinds.OPERATION:
            self._index_operation(entry)
        self._encode(kind, entry, obj)
        if kind is kinds.CLUSTER and (old is None or old.sort_key != entry.sort_key or _teams(old) != _teams(entry)):
            self.records_version += 1
        if kind in (kinds.CONNECTION, kinds.NETWORK) and (old is None or old.id != entry.id):
            for name in list(self.dependents.get((key[0], kind.kind, key[1]), ())):
                dependent = self.get(kinds.PROVISIONED_CLUSTER, key[0], name)
                if dependent is not None:
                    self._encode(kinds.PROVISIONED_CLUSTER, dependent, dependent.obj)
            if kind is kinds.CONNECTION:
                for network in self.entries[kinds.NETWORK.kind].values():
                    if network.namespace == key[0] and (network.spec.get("connectionRef") or {}).get("name") == key[1]:
                        self._encode(kinds.NETWORK, network, network.obj)

    def _delete(self, kind: kinds.Kind, key: Key) -> None:
        old = self.entries[kind.kind].pop(key, None)
        if old is None:
            return
        if old.id:
            self.by_id[kind.kind].pop((key[0], old.id), None)
        if kind in RELATED_KINDS:
            self.ids_version += 1
        if kind is kinds.PROVISIONED_CLUSTER:
            self._index_cluster(None, old)
        elif kind is kinds.CLUSTER:
            self._index_record(None, old)
            self.records_version += 1
        elif kind is kinds.TEAM:
            self._index_team(None, old)
        elif kind is kinds.OPERATION:
            self.operations_by_target[(old.namespace, _target_uid(old))].discard(old.name)

    def _index_cluster(self, new: Entry | None, old: Entry | None) -> None:
        if old is not None:
            sort_key, connection = self._sort_keys.pop((old.namespace, old.name), (None, ""))
            if sort_key is not None:
                self.clusters_sorted[old.namespace].remove(sort_key)
                self.clusters_by_connection[(old.namespace, connection)].remove(sort_key)
            for field, kind in (("connectionRef", kinds.CONNECTION), ("networkRef", kinds.NETWORK)):
                ref = (old.spec.get(field) or {}).get("name")
                if ref:
                    self.dependents[(old.namespace, kind.kind, ref)].discard(old.name)
        if new is None:
            return
        sort_key = (new.created, new.id or new.name)
        connection = (new.spec.get("connectionRef") or {}).get("name") or ""
        self._sort_keys[(new.namespace, new.name)] = (sort_key, connection)
        self.clusters_sorted[new.namespace].add(sort_key, new.name)
        self.clusters_by_connection[(new.namespace, connection)].add(sort_key, new.name)
        for field, kind in (("connectionRef", kinds.CONNECTION), ("networkRef", kinds.NETWORK)):
            ref = (new.spec.get(field) or {}).get("name")
            if ref:
                self.dependents[(new.namespace, kind.kind, ref)].add(new.name)

    def _index_operation(self, entry: Entry) -> None:
        self.operations_by_target[(entry.namespace, _target_uid(entry))].add(entry.name)

    def _index_record(self, new: Entry | None, old: Entry | None) -> None:
        for entry, add in ((old, False), (new, True)):
            if entry is None:
                continue
            for team in _teams(entry):
                names = self.records_by_team[(entry.namespace, team)]
                if add:
                    names.add(entry.name)
                else:
                    names.discard(entry.name)

    def _index_team(self, new: Entry | None, old: Entry | None) -> None:
        for entry, add in ((old, False), (new, True)):
            if entry is None:
                continue
            key = (entry.namespace, entry.name)
            for index, field in ((self.teams_by_member, "members"), (self.teams_by_group, "groups")):
                for who in entry.spec.get(field) or []:
                    if add:
                        index[who].add(key)
                    else:
                        index[who].discard(key)

    def _encode(self, kind: kinds.Kind, entry: Entry, body: dict[str, Any]) -> None:
        """Set the entry's public JSON (and what goes with it) from its body."""
        if kind is kinds.PROVISIONED_CLUSTER:
            connection = _id(self.ref(entry, "connectionRef", kinds.CONNECTION))
            public = shapes.external_cluster(body, connection, _id(self.ref(entry, "networkRef", kinds.NETWORK)))
            entry.ref_json = encode({"id": public["id"], "connectionId": connection})
            entry.refs = ((entry.spec.get("connectionRef") or {}).get("name"),
                          ((body.get("status") or {}).get("operationRef") or {}).get("name"))
        elif kind is kinds.CLUSTER:
            public = shapes.cluster(body)
            entry.ref_json = encode({k: public.get(k) for k in ("id", "externalClusterId", "connectionId")})
            entry.sort_key = (str(public.get("name", "")).lower(), public.get("id", ""))
        elif kind is kinds.CONNECTION:
            public = shapes.connection(body)
        elif kind is kinds.NETWORK:
            public = shapes.network(body, _id(self.ref(entry, "connectionRef", kinds.CONNECTION)))
        elif kind is kinds.OPERATION:
            public = shapes.operation(body)
        else:
            return
        entry.json = encode(public)
        entry.public = {k: public[k] for k in PUBLIC_READ if k in public}


def _stripped(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` less what the store drops (`MANAGED_FIELDS`, `LAST_APPLIED`), changed in place."""
    meta = obj["metadata"]
    meta.pop(MANAGED_FIELDS, None)
    if LAST_APPLIED in (meta.get("annotations") or {}):
        meta["annotations"] = {k: v for k, v in meta["annotations"].items() if k != LAST_APPLIED}
    return obj


def _shared_keys(value: Any) -> Any:
    """`value` with its dict keys interned: every body has the same few, decoded each on its own."""
    if isinstance(value, dict):
        return {sys.intern(k): _shared_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shared_keys(v) for v in value]
    return value


def _teams(entry: Entry) -> list[str]:
    return team_rules.names((entry.spec.get("access") or {}).get("teams"))


def _by_sort_key(entry: Entry) -> tuple[str, str]:
    return entry.sort_key


def _target_uid(entry: Entry) -> str:
    return entry.labels.get(kinds.TARGET_UID_LABEL, "")


def _id(entry: Entry | None) -> str | None:
    return entry.id if entry is not None else None
