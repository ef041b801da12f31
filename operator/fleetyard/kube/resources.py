"""Reads of fleetyard objects for reconcilers, the runner, the day-2 checks and admission handlers.

`get` parses the object through its kind's model (`kinds.Kind.parse`): the one edge where a body
becomes typed. `get_object` / `list_objects` return plain bodies for the few readers that want them
(admission, label queries). A missing object is None; callers never see ApiException.

In the operator, a kind it watches is read from memory (`fleetyard.kube.watch_cache`); `fresh=True`
asks the API instead, for the few decisions that must see the newest version (a run that is about
to touch the cloud, a verification writing over the version it read).
"""

from __future__ import annotations

from typing import Any

import kubernetes

from fleetyard.kube import client, watch_cache
from fleetyard.models import kinds


def list_objects(kind: kinds.Kind, namespace: str, label_selector: str | None = None,
                 fresh: bool = False) -> list[dict[str, Any]]:
    held = None if fresh else watch_cache.store(kind)
    labels = watch_cache.labels_of(label_selector)
    if held is not None and labels is not None:
        return held.list(namespace, labels)
    out = client.custom_objects().list_namespaced_custom_object(
        kinds.GROUP, kinds.VERSION, namespace, kind.plural, label_selector=label_selector or "")
    return list(out.get("items", []))


def get_object(kind: kinds.Kind, namespace: str, name: str, fresh: bool = False) -> dict[str, Any] | None:
    held = None if fresh else watch_cache.store(kind)
    if held is not None:
        return held.get(namespace, name)
    try:
        return dict(client.custom_objects().get_namespaced_custom_object(
            kinds.GROUP, kinds.VERSION, namespace, kind.plural, name))
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def find_object(kind: kinds.Kind, namespace: str, name: str) -> dict[str, Any] | None:
    """The object from memory, or from the API when memory has none: for checks that must not miss
    an object created a moment ago, which the watch may not have brought yet."""
    return get_object(kind, namespace, name) or (
        get_object(kind, namespace, name, fresh=True) if watch_cache.store(kind) is not None else None)


def gone(kind: kinds.Kind, namespace: str, name: str) -> bool:
    """Is the object deleted? Memory first (cheap, asked often); the API confirms, since a watch that
    has not brought a new object yet would also answer None."""
    return get_object(kind, namespace, name) is None and get_object(kind, namespace, name, fresh=True) is None


def get(kind: kinds.Kind, namespace: str, name: str | None, fresh: bool = False) -> Any:
    """The object as its kind's model (`network.Network`, ...), or None when there is none."""
    body = get_object(kind, namespace, name, fresh) if name else None
    return None if body is None else kind.parse(body)


def id_in_use(kind: kinds.Kind, namespace: str, id_: str) -> bool:
    return bool(list_objects(kind, namespace, f"{kinds.ID_LABEL}={id_}", fresh=True))


def users_of(namespace: str, ref_field: str, name: str, among: tuple[kinds.Kind, ...]) -> list[str]:
    """`Kind/name` of the objects in `namespace` whose spec.<ref_field>.name is `name`."""
    found = []
    for kind in among:
        for obj in list_objects(kind, namespace):
            if ((obj.get("spec") or {}).get(ref_field) or {}).get("name") == name:
                found.append(f"{kind.kind}/{obj['metadata']['name']}")
    return sorted(found)


def teams_named(namespace: str, names: list[str]) -> list[Any]:
    """The Teams (`team.Team`) of `namespace` among `names` that exist; no read when `names` is empty."""
    wanted = set(names)
    if not wanted:
        return []
    return [kinds.TEAM.parse(t) for t in list_objects(kinds.TEAM, namespace) if t["metadata"]["name"] in wanted]


def kopf_peers(peering_name: str) -> dict[str, Any] | None:
    """The live-peer table Kopf keeps in its ClusterKopfPeering (`status`: identity -> priority,
    lifetime, lastseen); None when the object does not exist."""
    try:
        body = client.custom_objects().get_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings",
                                                                 peering_name)
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return dict(body.get("status") or {})
