"""Standard Kubernetes conditions (type/status/reason/message/...): every type fleetyard writes, and
pure functions over condition lists.

Reconcile phases, the Connection verification and the health check compute conditions with these;
the REST API reads them. Nothing here talks to the API.
"""

from __future__ import annotations

from typing import Any

from fleetyard.models import timestamps

# kstatus' three, on every kind the operator reconciles
READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
# Network, ProvisionedCluster: whether the stack may hold cloud resources ("Unknown": maybe partly)
PROVISIONED = "Provisioned"
# ProvisionedCluster, Cluster: the last health check
HEALTHY = "Healthy"
# Connection: the role was assumed; the stack that made it is at the current template version
CONNECTION_VERIFIED = "ConnectionVerified"
TEMPLATE_SYNCED = "TemplateSynced"


def set_condition(conditions: list[dict[str, Any]], type_: str, status: bool | str, reason: str,
                  message: str = "", generation: int | None = None, at: str | None = None) -> list[dict[str, Any]]:
    """A copy of `conditions` with `type_` set; lastTransitionTime moves only when status changes."""
    value = status if isinstance(status, str) else ("True" if status else "False")
    previous = find(conditions, type_)
    changed = previous is None or previous.get("status") != value
    condition = {
        "type": type_,
        "status": value,
        "reason": reason,
        "message": message,
        "lastTransitionTime": (at or timestamps.now()) if changed else previous.get("lastTransitionTime") or (
            at or timestamps.now()),
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    return [c for c in conditions if c.get("type") != type_] + [condition]


def find(conditions: list[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions or [] if c.get("type") == type_), None)


def is_true(conditions: list[dict[str, Any]] | None, type_: str) -> bool:
    c = find(conditions, type_)
    return c is not None and c.get("status") == "True"
