"""Secrets the operator writes (kubeconfigs), created or replaced whole, owned by their object.

Called by the health daemon. Values are credentials: nothing here logs them.
"""

from __future__ import annotations

import base64
from typing import Any

import kubernetes

from fleetyard.kube import client


def read_annotations(namespace: str, name: str) -> dict[str, str] | None:
    try:
        secret = client.core().read_namespaced_secret(name, namespace)
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return dict(secret.metadata.annotations or {})


def apply(owner: dict[str, Any], name: str, data: dict[str, str], annotations: dict[str, str],
          labels: dict[str, str]) -> None:
    meta = owner["metadata"]
    body = kubernetes.client.V1Secret(
        metadata=kubernetes.client.V1ObjectMeta(
            name=name, namespace=meta["namespace"], annotations=annotations, labels=labels,
            owner_references=[kubernetes.client.V1OwnerReference(
                api_version=owner["apiVersion"], kind=owner["kind"], name=meta["name"], uid=meta["uid"],
                controller=True, block_owner_deletion=False)]),
        type="Opaque", data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()})
    core = client.core()
    try:
        core.replace_namespaced_secret(name, meta["namespace"], body)
    except kubernetes.client.ApiException as exc:
        if exc.status != 404:
            raise
        core.create_namespaced_secret(meta["namespace"], body)


def delete(namespace: str, name: str) -> None:
    try:
        client.core().delete_namespaced_secret(name, namespace)
    except kubernetes.client.ApiException as exc:
        if exc.status != 404:
            raise
