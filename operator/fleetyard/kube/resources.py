"""Reads of fleetyard objects for reconcilers, the runner, the day-2 checks and admission handlers.

`get` parses the object through its kind's model (`kinds.Kind.parse`): the one edge where a body
becomes typed. `get_object` / `list_objects` return plain bodies for the few readers that want them
(admission, label queries). A missing object is None; callers never see ApiException.
"""

from __future__ import annotations

from typing import Any

import kubernetes

from fleetyard.kube import client
from fleetyard.models import kinds


def list_objects(kind: kinds.Kind, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
    out = client.custom_objects().list_namespaced_custom_object(
        kinds.GROUP, kinds.VERSION, namespace, kind.plural, label_selector=label_selector or "")
    return list(out.get("items", []))


def get_object(kind: kinds.Kind, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(client.custom_objects().get_namespaced_custom_object(
            kinds.GROUP, kinds.VERSION, namespace, kind.plural, name))
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def get(kind: kinds.Kind, namespace: str, name: str | None) -> Any:
    """The object as its kind's model (`network.Network`, ...), or None when there is none."""
    body = get_object(kind, namespace, name) if name else None
    return None if body is None else kind.parse(body)


def id_in_use(kind: kinds.Kind, namespace: str, id_: str) -> bool:
    return bool(list_objects(kind, namespace, f"{kinds.ID_LABEL}={id_}"))


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
