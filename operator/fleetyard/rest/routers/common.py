"""What the routers share: JSON responses from prepared bytes, documented error responses, and
the rules about a cluster's state that more than one endpoint applies."""

from __future__ import annotations

from typing import Any

import fastapi

from fleetyard.models import api, conditions
from fleetyard.rest import store


def json_bytes(body: bytes, status_code: int = 200) -> fastapi.Response:
    return fastapi.Response(content=body, status_code=status_code, media_type="application/json")


ERROR_DESCRIPTIONS = {
    400: "Invalid parameter or body; `details.fieldErrors` names each field.",
    401: "No token, or a token the cluster does not accept.",
    403: "Kubernetes RBAC does not allow it.",
    404: "Not found, or not visible to you.",
    409: "The cluster's state does not allow it.",
    415: "The body is not sent as `Content-Type: application/json`.",
    502: "The cloud provider failed to answer.",
    503: "A dependency is unavailable; retry.",
    504: "The change was made but the operator has not started its Operation yet.",
}


def described(code: int) -> str:
    return ERROR_DESCRIPTIONS[code]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": api.Error, "description": described(c)} for c in (401, 503, *codes)}


def provisioned_state(entry: store.Entry) -> str | None:
    """The Provisioned condition: "True" built, "Unknown" maybe partly built, "False" nothing."""
    found = conditions.find(entry.status.get("conditions"), conditions.PROVISIONED)
    return str(found.get("status")) if found is not None else None


def nothing_in_cloud(cache: store.Store, entry: store.Entry) -> bool:
    state = provisioned_state(entry)
    if state is not None:
        return state == "False"
    return not cache.operations_of(entry) and entry.status.get("status") in (None, "pending")
