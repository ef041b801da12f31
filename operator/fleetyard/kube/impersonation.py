"""Requests to the Kubernetes API on behalf of a caller (`Impersonate-*` headers).

The REST API sends every write this way, so RBAC and the admission webhooks (createdBy/updatedBy
from userInfo) see the caller, not the API's own service account. The generated client keeps
headers in a dict, which cannot repeat `Impersonate-Group`; these requests go through the same
aiohttp session, TLS settings and credentials with a multi-value header map instead.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import multidict
from kubernetes_asyncio import client as aclient


@dataclasses.dataclass(frozen=True)
class Identity:
    username: str
    uid: str | None = None
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclasses.dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]


def headers_for(who: Identity) -> multidict.CIMultiDict[str]:
    out: multidict.CIMultiDict[str] = multidict.CIMultiDict()
    out.add("Impersonate-User", who.username)
    if who.uid:
        out.add("Impersonate-Uid", who.uid)
    for group in who.groups:
        out.add("Impersonate-Group", group)
    for key, values in who.extra:
        for value in values:
            out.add(f"Impersonate-Extra-{_escape(key)}", value)
    return out


def _escape(key: str) -> str:
    """Extra keys travel in header names: percent-encode what a header name cannot carry (KEP-1533)."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&'*+-.^_`|~")
    return "".join(c if c in allowed else "".join(f"%{b:02X}" for b in c.encode()) for c in key)


async def request(api: aclient.ApiClient, who: Identity, method: str, path: str,
                  body: dict[str, Any] | None = None, content_type: str = "application/json",
                  query: dict[str, str] | None = None) -> Response:
    """One request as `who`; returns the status and the decoded JSON (a Status object on errors)."""
    configuration = api.configuration
    headers = headers_for(who)
    headers["Accept"] = "application/json"
    for setting in (await configuration.auth_settings()).values():
        headers[setting["key"]] = setting["value"]
    data = None
    if body is not None:
        headers["Content-Type"] = content_type
        data = json.dumps(body)
    session = api.rest_client.pool_manager
    async with session.request(method, configuration.host + path, headers=headers, data=data,
                               params=query or None) as resp:
        raw = await resp.read()
    try:
        decoded = json.loads(raw) if raw else {}
    except ValueError:
        decoded = {"message": raw.decode(errors="replace")[:500]}
    return Response(resp.status, decoded if isinstance(decoded, dict) else {})
