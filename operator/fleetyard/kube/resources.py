"""Reads of fleetyard objects and Secrets for reconcilers and admission handlers.

Functions return plain dicts (the object bodies) or typed errors; callers never see ApiException.
"""

from __future__ import annotations

import base64
from typing import Any

import kubernetes

from fleetyard.kube import client
from fleetyard.models import kinds


class SecretProblem(Exception):
    """A referenced Secret or key is missing; the message names it (never its value)."""


def list_objects(kind: kinds.Kind, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
    out = client.custom_objects().list_namespaced_custom_object(
        kinds.GROUP, kinds.VERSION, namespace, kind.plural, label_selector=label_selector or "")
    return list(out.get("items", []))


def get_object(kind: kinds.Kind, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(client.custom_objects().get_namespaced_custom_object(
            kinds.GROUP, kinds.VERSION, namespace, kind.plural, name))
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def id_in_use(kind: kinds.Kind, namespace: str, id_: str) -> bool:
    return bool(list_objects(kind, namespace, f"{kinds.ID_LABEL}={id_}"))


def users_of(namespace: str, ref_field: str, name: str, among: tuple[kinds.Kind, ...]) -> list[str]:
    """`Kind/name` of the objects in `namespace` whose spec.<ref_field>.name is `name`."""
    found = []
    for kind in among:
        for obj in list_objects(kind, namespace):
            if ((obj.get("spec") or {}).get(ref_field) or {}).get("name") == name:
                found.append(f"{kind.kind}/{obj['metadata']['name']}")
    return sorted(found)


def secret_value(namespace: str, name: str, key: str) -> str:
    try:
        secret = client.core().read_namespaced_secret(name, namespace)
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            raise SecretProblem(f"Secret {namespace}/{name} was not found") from None
        raise
    data = secret.data or {}
    if key not in data:
        raise SecretProblem(f"Secret {namespace}/{name} has no key {key!r}")
    return base64.b64decode(data[key]).decode()


def secret_or_none(namespace: str, name: str, key: str = "value") -> str | None:
    """A Secret's value, or None when the Secret or key is missing."""
    try:
        return secret_value(namespace, name, key)
    except SecretProblem:
        return None
