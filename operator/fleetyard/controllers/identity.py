"""Copies each object's id label into status.id (assigning one if the webhook was bypassed).

Registered by `fleetyard.operator_app` for all six kinds.
"""

from __future__ import annotations

from typing import Any

import kopf

from fleetyard.kube import resources
from fleetyard.models import ids, kinds


def needs_id(meta: Any, status: Any, **_: Any) -> bool:
    """Only objects whose id label or status.id is missing or wrong: at a restart over a large fleet
    the others are not handled at all (no handler run, no progress written)."""
    label = (meta.get("labels") or {}).get(kinds.ID_LABEL)
    return not ids.is_valid(label) or (status or {}).get("id") != label


def _register_kind(registry: kopf.OperatorRegistry, kind: kinds.Kind) -> None:
    resource = (kinds.GROUP, kinds.VERSION, kind.plural)

    @kopf.on.create(*resource, id="identity", registry=registry, when=needs_id)
    @kopf.on.resume(*resource, id="identity-resume", registry=registry, when=needs_id)
    def ensure_id(meta: Any, status: Any, namespace: str, patch: kopf.Patch, **_: Any) -> None:
        label = (meta.get("labels") or {}).get(kinds.ID_LABEL)
        if not ids.is_valid(label):
            label = ids.first_valid([status.get("id")]) or ids.new_id(
                lambda id_: resources.id_in_use(kind, namespace, id_))
            patch.setdefault("metadata", {}).setdefault("labels", {})[kinds.ID_LABEL] = label
        if status.get("id") != label:
            patch.status["id"] = label


def register(registry: kopf.OperatorRegistry) -> None:
    for kind in kinds.ALL:
        _register_kind(registry, kind)
