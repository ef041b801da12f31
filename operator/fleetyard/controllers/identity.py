"""Copies each object's id label into status.id (assigning one if the webhook was bypassed).

Registered by `fleetyard.operator_app` for all six kinds. With shards, only the replica owning the
namespace writes the id (two replicas would pick two different ones).
"""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from fleetyard.controllers import shards
from fleetyard.kube import resources
from fleetyard.models import ids, kinds


def needs_id(meta: Any, status: Any, **_: Any) -> bool:
    """Only objects whose id label or status.id is missing or wrong: at a restart over a large fleet
    the others are not handled at all (no handler run, no progress written)."""
    label = (meta.get("labels") or {}).get(kinds.ID_LABEL)
    return not ids.is_valid(label) or (status or {}).get("id") != label


def _still_needs_id(kind: kinds.Kind, namespace: str, name: str) -> bool:
    body = resources.get_object(kind, namespace, name)
    return body is not None and needs_id(body["metadata"], body.get("status"))


def _register_kind(registry: kopf.OperatorRegistry, kind: kinds.Kind) -> None:
    resource = (kinds.GROUP, kinds.VERSION, kind.plural)

    @kopf.on.create(*resource, id="identity", registry=registry, when=needs_id)
    @kopf.on.resume(*resource, id="identity-resume", registry=registry, when=needs_id)
    async def ensure_id(meta: Any, status: Any, name: str, namespace: str, patch: kopf.Patch, memo: kopf.Memo,
                        **_: Any) -> None:
        if memo.shards is not None:  # the owner of the namespace assigns it, as of the object's newest version
            owned, body = await shards.wait_until_owned(
                memo.shards, namespace, lambda: resources.get_object(kind, namespace, name, fresh=True),
                moot=lambda: not _still_needs_id(kind, namespace, name))
            if not owned or body is None:
                return
            meta, status = body["metadata"], body.get("status") or {}
        label = (meta.get("labels") or {}).get(kinds.ID_LABEL)
        if not ids.is_valid(label):
            label = ids.first_valid([status.get("id")]) or await asyncio.to_thread(
                ids.new_id, lambda id_: resources.id_in_use(kind, namespace, id_))
            patch.setdefault("metadata", {}).setdefault("labels", {})[kinds.ID_LABEL] = label
        if status.get("id") != label:
            patch.status["id"] = label


def register(registry: kopf.OperatorRegistry) -> None:
    for kind in kinds.ALL:
        _register_kind(registry, kind)
