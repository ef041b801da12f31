"""The instance-type catalog of a Connection: asking for it (an Operation) and reading it back.

Called by the Connection controller (a fresh catalog after each successful verification, at most
once per TTL), by the runner (which fills the in-memory `catalog.Catalog`) and by admission (which
refuses instance types the region does not offer). The newest succeeded `listInstanceTypes`
Operation is the durable copy, so a restarted operator knows the catalog without asking EC2 again.
"""

from __future__ import annotations

import datetime
from typing import Any

from fleetyard import catalog
from fleetyard.kube import operations
from fleetyard.models import kinds, operation as operation_model

LIST_INSTANCE_TYPES = "listInstanceTypes"
KEEP = 2  # each holds the region's whole catalog (a few hundred KiB)


def _catalog_ops(connection: dict[str, Any]) -> list[dict[str, Any]]:
    ops = operations.for_target(connection["metadata"]["namespace"], connection["metadata"]["uid"])
    return [o for o in ops if o["spec"].get("operation") == LIST_INSTANCE_TYPES]


def _completed(op: dict[str, Any]) -> datetime.datetime | None:
    raw = (op.get("status") or {}).get("completedAt")
    return datetime.datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def ensure_recent(connection: dict[str, Any], max_age: float, now: datetime.datetime | None = None) -> bool:
    """Ask for a catalog unless one is running or one succeeded within `max_age`; True if asked."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    ops = _catalog_ops(connection)
    operations.prune(connection["metadata"]["namespace"], ops, KEEP)
    for op in ops:
        phase = (op.get("status") or {}).get("status")
        if phase in (None, "queued", "running"):
            return False
        done = _completed(op)
        if phase == "succeeded" and done and (now - done).total_seconds() < max_age:
            return False
    operations.create(connection, LIST_INSTANCE_TYPES, attempt=1, member_id=None,
                      connection_version=str(connection["metadata"].get("generation")))
    return True


def known_types(cache: catalog.Catalog, connection: dict[str, Any], region: str) -> frozenset[str] | None:
    """The instance types the Connection's region offers, or None when no catalog is known yet."""
    connection_id = (connection["metadata"].get("labels") or {}).get(kinds.ID_LABEL) or connection["metadata"]["uid"]
    types = cache.instance_types(connection_id, region)
    if types is not None:
        return types
    for op in reversed(_catalog_ops(connection)):
        status = op.get("status") or {}
        if status.get("status") == "succeeded" and (status.get("result") or {}).get("items"):
            result = operation_model.OperationResult.model_validate(status["result"])
            if region == connection["spec"]["providerConfig"]["region"]:
                cache.put(connection_id, region, result.items)
                return cache.instance_types(connection_id, region)
    return None
