"""Server-side apply of YAML documents (CRDs, samples, webhook-independent setup).

Called by the dev environment and the tests. Waits for CRDs to be Established before returning.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import kubernetes
import kubernetes.dynamic

FIELD_MANAGER = "fleetyard"


def apply(api: kubernetes.client.ApiClient, docs: Iterable[dict[str, Any]], namespace: str | None = None) -> None:
    dynamic = kubernetes.dynamic.DynamicClient(api)
    for doc in docs:
        if not doc:
            continue
        resource = dynamic.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        ns = doc.get("metadata", {}).get("namespace") or (namespace if resource.namespaced else None)
        if ns and resource.namespaced:
            doc = {**doc, "metadata": {**doc["metadata"], "namespace": ns}}
        resource.server_side_apply(body=doc, name=doc["metadata"]["name"], namespace=ns,
                                   field_manager=FIELD_MANAGER, force_conflicts=True)


def wait_crds_established(api: kubernetes.client.ApiClient, names: Iterable[str], timeout: float = 30) -> None:
    ext = kubernetes.client.ApiextensionsV1Api(api)
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            crd = ext.read_custom_resource_definition(name)
            conds = {c.type: c.status for c in (crd.status.conditions or [])}
            if conds.get("Established") == "True":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {name} not Established after {timeout}s: {conds}")
            time.sleep(0.2)


def ensure_namespace(api: kubernetes.client.ApiClient, name: str, labels: dict[str, str] | None = None) -> None:
    apply(api, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}])
