"""Response bodies of the list and describe endpoints, joined from the store's encoded entities.

Each related entity appears once in `included`. Bodies are bytes (the store encoded every
entity when it changed), so a page costs a join, not a serialisation; their shapes are the
`fleetyard.models.api` list/item models the routers declare. Every body is one `b"".join` of
its parts (no intermediate copies of a large page), and related entities are found by the
names the store noted on each entry (`Entry.refs`, `Entry.sort_key`, `Store.related`).
"""

from __future__ import annotations

from collections.abc import Iterable

from fleetyard.models import kinds
from fleetyard.rest import pagination, store

Entry = store.Entry


def _array(items: list[bytes]) -> list[bytes]:
    """The parts of a JSON array of encoded items (`[`, item, `,`, item, ..., `]`): joined once, with
    the rest of the body, so a large page is copied once."""
    if not items:
        return [b"[]"]
    parts = [b","] * (2 * len(items) + 1)
    parts[0], parts[-1] = b"[", b"]"
    parts[1::2] = items
    return parts


def _included(keys: Iterable[tuple[str, str | None] | None], by_name: dict[tuple[str, str], Entry]) -> list[bytes]:
    """The encoded entities named by `keys` ((namespace, name); None or a missing name for nothing),
    once each, in order of first mention; keys of nothing that exists are skipped."""
    found: list[bytes] = []
    for key in dict.fromkeys(keys):  # the distinct keys, in order (few: a page names few Connections)
        if key is not None and key[1] and (entry := by_name.get(key)) is not None:  # type: ignore[arg-type]
            found.append(entry.json)
    return found


def _infra_included(cache: store.Store, clusters: list[Entry]) -> list[bytes]:
    """The parts of `included`: the clusters, then their Connections and current Operations (once each,
    in order of first mention)."""
    connections = _included([(c.namespace, c.refs[0]) for c in clusters], cache.entries[kinds.CONNECTION.kind])
    operations = _included([(c.namespace, c.refs[1]) for c in clusters], cache.entries[kinds.OPERATION.kind])
    return [b'{"clusters":', *_array([c.json for c in clusters]), b',"connections":', *_array(connections),
            b',"operations":', *_array(operations), b"}"]


def infra_page(cache: store.Store, index: store.SortedIndex, namespace: str, after: pagination.SortKey | None,
               limit: int) -> bytes:
    names, last = index.page(after, limit)
    entries = cache.entries[kinds.PROVISIONED_CLUSTER.kind]
    clusters = [e for e in (entries.get((namespace, n)) for n in names) if e is not None]
    parts = [b'{"total":', str(len(index)).encode(), b',"items":', *_array([c.ref_json for c in clusters]),
             b',"included":', *_infra_included(cache, clusters)]
    # the seed's null convention: `marker` is always there, null on the last page
    parts += (b',"marker":"', pagination.encode_marker(last).encode(), b'"}') if last is not None else (
        b',"marker":null}',)
    return b"".join(parts)


def infra_item(cache: store.Store, cluster: Entry) -> bytes:
    return b"".join([b'{"item":', cluster.ref_json, b',"included":', *_infra_included(cache, [cluster]), b"}"])


def _my_included(cache: store.Store, records: list[Entry]) -> list[bytes]:
    """The parts of `included`: the records, then their Connections, Networks and ProvisionedClusters
    (by the seed ids the records carry: `Store.related`; once each, in order of first mention)."""
    related = [cache.related(r) for r in records]
    connections, networks, external = (
        _included([keys[i] for keys in related], cache.entries[kind.kind]) for i, (kind, _) in enumerate(store.RELATED))
    return [b'{"clusters":', *_array([r.json for r in records]), b',"connections":', *_array(connections),
            b',"networks":', *_array(networks), b',"externalClusters":', *_array(external), b"}"]


def my_page(cache: store.Store, ordered: list[Entry], page: int, limit: int) -> bytes:
    start, end = pagination.page_bounds(len(ordered), page, limit)
    chosen = ordered[start:end]
    return b"".join([b'{"total":', str(len(ordered)).encode(), b',"items":', *_array([r.ref_json for r in chosen]),
                     b',"included":', *_my_included(cache, chosen), b"}"])


def my_item(cache: store.Store, record: Entry) -> bytes:
    return b"".join([b'{"item":', record.ref_json, b',"included":', *_my_included(cache, [record]), b"}"])
