"""Merge patches of fleetyard objects and their status, outside Kopf's own per-handler patch.

Called by reconcilers and the provisioning runner, which write status from timers and worker
threads. A missing object answers None rather than raising: it was deleted meanwhile. With a
`resource_version`, the patch applies only to that version of the object (the apiserver's optimistic
concurrency); otherwise it is `Conflict`, and the caller reads again and decides anew. What a write
returns is handed to the operator's watch cache (`watch_cache.observe`), so the writer's next read
sees it.
"""

from __future__ import annotations

from typing import Any

import kubernetes

from fleetyard.kube import client, watch_cache
from fleetyard.models import kinds

MERGE = "application/merge-patch+json"


class Conflict(Exception):
    """The object changed since the version the patch was computed for."""


def patch_status(kind: kinds.Kind, namespace: str, name: str, status: dict[str, Any],
                 resource_version: str | None = None) -> dict[str, Any] | None:
    body: dict[str, Any] = {"status": status}
    if resource_version is not None:
        body["metadata"] = {"resourceVersion": resource_version}
    try:
        written = dict(client.custom_objects().patch_namespaced_custom_object_status(
            kinds.GROUP, kinds.VERSION, namespace, kind.plural, name, body, _content_type=MERGE))
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        if exc.status == 409 and resource_version is not None:
            raise Conflict(f"{kind.kind} {namespace}/{name} changed since version {resource_version}") from None
        raise
    watch_cache.observe(kind, written)
    return written


def patch_object(kind: kinds.Kind, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any] | None:
    try:
        written = dict(client.custom_objects().patch_namespaced_custom_object(
            kinds.GROUP, kinds.VERSION, namespace, kind.plural, name, body, _content_type=MERGE))
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
    watch_cache.observe(kind, written)
    return written


def create_object(kind: kinds.Kind, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    created = dict(client.custom_objects().create_namespaced_custom_object(
        kinds.GROUP, kinds.VERSION, namespace, kind.plural, body))
    watch_cache.observe(kind, created)
    return created


def delete_object(kind: kinds.Kind, namespace: str, name: str) -> bool:
    try:
        client.custom_objects().delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural,
                                                                name)
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True
