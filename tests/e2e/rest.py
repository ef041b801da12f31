"""Helpers of the REST API tests: users as ServiceAccounts (real tokens, real RBAC), Teams, and an
HTTP client for the API the session environment runs."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from fleetyard.kube import service_accounts
from fleetyard.models import kinds
from fleetyard.rest import organizations
from tests.conftest import create, wait_for


def user(env, namespace: str, name: str, role: str | None = None, role_namespace: str | None = None) -> str:
    """A ServiceAccount `name` in `namespace` (bound to ClusterRole `role` in `role_namespace`); its token."""
    service_accounts.ensure_service_account(env.api, namespace, name)
    if role:
        service_accounts.bind(env.api, role_namespace or namespace, role, namespace, name)
    return service_accounts.token(env.api, namespace, name, seconds=3600)


def username(namespace: str, name: str) -> str:
    return service_accounts.username(namespace, name)


def team(custom, namespace: str, name: str, members: list[str] = (), groups: list[str] = ()) -> dict[str, Any]:
    return create(custom, namespace, kinds.TEAM, {"metadata": {"name": name}, "spec": {
        "displayName": name, "members": list(members), "groups": list(groups)}})


def client(env, token: str | None, organization: str | None = None) -> httpx.Client:
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if organization:
        headers[organizations.HEADER] = organization
    return httpx.Client(base_url=env.api_url, headers=headers, timeout=30)


def seed_id(custom, namespace: str, kind: kinds.Kind, name: str) -> str:
    """The object's seed id (the admission webhook sets it on create)."""
    def probe():
        obj = custom.get_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, name)
        return (obj["metadata"].get("labels") or {}).get(kinds.ID_LABEL)
    return wait_for(probe, 10, f"id of {kind.kind} {name}")


def until_status(api: httpx.Client, path: str, wanted: str, timeout: float = 120) -> dict[str, Any]:
    """GET `path` (a describe endpoint) until the cluster's status is `wanted`."""
    def probe():
        body = api.get(path).json()
        cluster = ((body.get("included") or {}).get("clusters") or [{}])[0]
        return body if cluster.get("status") == wanted else None
    return wait_for(probe, timeout, f"{path} to be {wanted}")


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
