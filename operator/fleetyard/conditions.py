"""Pure functions over standard Kubernetes conditions (type/status/reason/message/...).

Reconcile phases compute conditions with these; nothing here talks to the API.
"""

from __future__ import annotations

import datetime
from typing import Any

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        "lastTransitionTime": (at or now()) if changed else previous.get("lastTransitionTime") or (at or now()),
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    return [c for c in conditions if c.get("type") != type_] + [condition]


def find(conditions: list[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions or [] if c.get("type") == type_), None)


def is_true(conditions: list[dict[str, Any]] | None, type_: str) -> bool:
    c = find(conditions, type_)
    return c is not None and c.get("status") == "True"
