"""Secrets through the operator's client: values the operator reads (external ids, the state
passphrase, a self-registered cluster's kubeconfig) and the kubeconfig Secrets it writes, created
or replaced whole and owned by their cluster.

Called by the controllers, the runner and the day-2 checks. Values are credentials: nothing here
logs them, and a missing Secret or key is `secret_data.SecretProblem` naming it.
"""

from __future__ import annotations

import base64

import kubernetes

from fleetyard.kube import client, secret_data
from fleetyard.models import common


def value(namespace: str, name: str, key: str) -> str:
    try:
        secret = client.core().read_namespaced_secret(name, namespace)
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            raise secret_data.not_found(namespace, name) from None
        raise
    return secret_data.decoded(namespace, name, secret.data, key)


def value_or_none(namespace: str, name: str, key: str = "value") -> str | None:
    """A Secret's value, or None when the Secret or key is missing."""
    try:
        return value(namespace, name, key)
    except secret_data.SecretProblem:
        return None


def annotations(namespace: str, name: str) -> dict[str, str] | None:
    try:
        secret = client.core().read_namespaced_secret(name, namespace)
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return dict(secret.metadata.annotations or {})


def apply(owner: common.Resource, name: str, data: dict[str, str], annotations_: dict[str, str],
          labels: dict[str, str]) -> None:
    ref = owner.owner_reference()
    body = kubernetes.client.V1Secret(
        metadata=kubernetes.client.V1ObjectMeta(
            name=name, namespace=owner.namespace, annotations=annotations_, labels=labels,
            owner_references=[kubernetes.client.V1OwnerReference(
                api_version=ref["apiVersion"], kind=ref["kind"], name=ref["name"], uid=ref["uid"],
                controller=True, block_owner_deletion=False)]),
        type="Opaque", data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()})
    core = client.core()
    try:
        core.replace_namespaced_secret(name, owner.namespace, body)
    except kubernetes.client.ApiException as exc:
        if exc.status != 404:
            raise
        core.create_namespaced_secret(owner.namespace, body)


def apply_unowned(namespace: str, name: str, data: dict[str, str], labels: dict[str, str],
                  annotations_: dict[str, str]) -> None:
    """Create or replace a Secret in another namespace than its cluster's (no owner reference can
    cross namespaces): whoever writes it deletes it (`delete`)."""
    body = kubernetes.client.V1Secret(
        metadata=kubernetes.client.V1ObjectMeta(name=name, namespace=namespace, labels=labels,
                                                annotations=annotations_),
        type="Opaque", data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()})
    core = client.core()
    try:
        core.replace_namespaced_secret(name, namespace, body)
    except kubernetes.client.ApiException as exc:
        if exc.status != 404:
            raise
        core.create_namespaced_secret(namespace, body)


def delete(namespace: str, name: str) -> bool:
    """Delete a Secret; False when there was none."""
    try:
        client.core().delete_namespaced_secret(name, namespace)
    except kubernetes.client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def namespace_labels(name: str) -> dict[str, str]:
    """The labels of a namespace ({} when it cannot be read)."""
    try:
        return dict(client.core().read_namespace(name).metadata.labels or {})
    except kubernetes.client.ApiException:
        return {}
