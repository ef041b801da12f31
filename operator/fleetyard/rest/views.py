"""Response bodies of the list and describe endpoints, joined from the store's encoded entities.

Each related entity appears once in `included`. Bodies are bytes (the store encoded every
entity when it changed), so a page costs a join, not a serialisation; their shapes are the
`fleetyard.models.api` list/item models the routers declare.
"""

from __future__ import annotations

from collections.abc import Iterable

from fleetyard.models import kinds
from fleetyard.rest import pagination, store

Entry = store.Entry


def _array(parts: Iterable[bytes]) -> bytes:
    return b"[" + b",".join(parts) + b"]"


def _unique(entries: Iterable[Entry | None]) -> list[Entry]:
    seen: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        if entry is not None:
            seen.setdefault((entry.namespace, entry.name), entry)
    return list(seen.values())


def _current_operation(cache: store.Store, cluster: Entry) -> Entry | None:
    return cache.get(kinds.OPERATION, cluster.namespace, (cluster.status.get("operationRef") or {}).get("name"))


def _infra_included(cache: store.Store, clusters: list[Entry]) -> bytes:
    connections = _unique(cache.ref(c, "connectionRef", kinds.CONNECTION) for c in clusters)
    operations = _unique(_current_operation(cache, c) for c in clusters)
    return (b'{"clusters":' + _array(c.json for c in clusters)
            + b',"connections":' + _array(c.json for c in connections)
            + b',"operations":' + _array(o.json for o in operations) + b"}")


def infra_page(cache: store.Store, index: store.SortedIndex, namespace: str, after: pagination.SortKey | None,
               limit: int) -> bytes:
    names, last = index.page(after, limit)
    clusters = [e for e in (cache.get(kinds.PROVISIONED_CLUSTER, namespace, n) for n in names) if e is not None]
    body = (b'{"total":' + str(len(index)).encode() + b',"items":' + _array(c.ref_json for c in clusters)
            + b',"included":' + _infra_included(cache, clusters))
    if last is not None:
        body += b',"marker":"' + pagination.encode_marker(last).encode() + b'"'
    return body + b"}"


def infra_item(cache: store.Store, cluster: Entry) -> bytes:
    return b'{"item":' + cluster.ref_json + b',"included":' + _infra_included(cache, [cluster]) + b"}"


def _my_included(cache: store.Store, records: list[Entry]) -> bytes:
    def by_id(kind: kinds.Kind, record: Entry, field: str) -> Entry | None:
        return cache.by_seed_id(kind, record.namespace, record.public.get(field))

    connections = _unique(by_id(kinds.CONNECTION, r, "connectionId") for r in records)
    networks = _unique(by_id(kinds.NETWORK, r, "networkId") for r in records)
    external = _unique(by_id(kinds.PROVISIONED_CLUSTER, r, "externalClusterId") for r in records)
    return (b'{"clusters":' + _array(r.json for r in records)
            + b',"connections":' + _array(c.json for c in connections)
            + b',"networks":' + _array(n.json for n in networks)
            + b',"externalClusters":' + _array(e.json for e in external) + b"}")


def sort_records(records: list[Entry], descending: bool) -> list[Entry]:
    return sorted(records, key=lambda r: (str(r.public.get("name", "")).lower(), r.public.get("id", "")),
                  reverse=descending)


def my_page(cache: store.Store, ordered: list[Entry], page: int, limit: int) -> bytes:
    start, end = pagination.page_bounds(len(ordered), page, limit)
    chosen = ordered[start:end]
    return (b'{"total":' + str(len(ordered)).encode() + b',"items":' + _array(r.ref_json for r in chosen)
            + b',"included":' + _my_included(cache, chosen) + b"}")


def my_item(cache: store.Store, record: Entry) -> bytes:
    return b'{"item":' + record.ref_json + b',"included":' + _my_included(cache, [record]) + b"}"
