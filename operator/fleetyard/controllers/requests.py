"""Requests users make with an annotation: retry a failed run now, refresh from the cloud now.

Like Flux's `reconcile.fluxcd.io/requestedAt`: the value is a token (a timestamp, by convention),
and a request is pending while it differs from the status field that acknowledges it. Used by the
infrastructure reconciler and the Connection handlers; pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleetyard.models import kinds

# annotation -> the status field that acknowledges it
ACKNOWLEDGED_IN = {kinds.RETRY_REQUESTED_ANNOTATION: "lastHandledRetryAt",
                   kinds.REFRESH_REQUESTED_ANNOTATION: "lastHandledRefreshAt"}
RETRY = "lastHandledRetryAt"
REFRESH = "lastHandledRefreshAt"


def pending(annotations: Mapping[str, str] | None, status: Any) -> dict[str, str]:
    """status field -> annotation value, for each request not acknowledged yet."""
    out = {}
    for annotation, field in ACKNOWLEDGED_IN.items():
        value = (annotations or {}).get(annotation)
        if value and value != getattr(status, field, None):
            out[field] = value
    return out


def changed(old: Mapping[str, str] | None, new: Mapping[str, str] | None) -> bool:
    """Whether an annotation update touched a request annotation."""
    return any((old or {}).get(a) != (new or {}).get(a) for a in ACKNOWLEDGED_IN)
