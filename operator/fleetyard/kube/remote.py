"""Reads from a *managed* cluster's API (not the management cluster): nodes, kube-system pods, Jobs.

Called by the health probe. A client is built per check from an endpoint, its CA and a bearer
token (provisioned clusters) or from a kubeconfig document (self-registered clusters); every call
has a timeout, and failures come back as `RemoteError` with a short message, never a traceback.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import kubernetes
import urllib3
import yaml


class RemoteError(Exception):
    """The managed cluster's API could not be read; the message is safe for status."""


@contextlib.contextmanager
def client_for_token(server: str, ca_data: str, token: str) -> Iterator[kubernetes.client.ApiClient]:
    with tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False) as ca_file:
        ca_file.write(base64.b64decode(ca_data))
    configuration = kubernetes.client.Configuration()
    configuration.host = server.rstrip("/")
    configuration.ssl_ca_cert = ca_file.name
    configuration.api_key = {"authorization": f"Bearer {token}"}
    configuration.retries = False
    api = kubernetes.client.ApiClient(configuration)
    try:
        yield api
    finally:
        api.close()
        os.unlink(ca_file.name)


@contextlib.contextmanager
def client_for_kubeconfig(document: str) -> Iterator[kubernetes.client.ApiClient]:
    try:
        config = yaml.safe_load(document)
        api = kubernetes.config.new_client_from_config_dict(config)
    except Exception as exc:  # noqa: BLE001 - a bad kubeconfig is a health finding
        raise RemoteError(f"the kubeconfig cannot be used: {type(exc).__name__}") from None
    api.configuration.retries = False
    try:
        yield api
    finally:
        api.close()


def _call(fn: Any, *args: Any, timeout: float, **kwargs: Any) -> Any:
    try:
        return fn(*args, _request_timeout=timeout, **kwargs)
    except kubernetes.client.ApiException as exc:
        raise RemoteError(f"HTTP {exc.status} {exc.reason}") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise RemoteError(type(exc).__name__ + (f": {exc.reason}" if hasattr(exc, "reason") else "")) from None


def nodes(api: kubernetes.client.ApiClient, timeout: float) -> list[dict[str, Any]]:
    items = _call(kubernetes.client.CoreV1Api(api).list_node, timeout=timeout).items
    out = []
    for node in items:
        ready = any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))
        out.append({"name": node.metadata.name, "labels": dict(node.metadata.labels or {}), "ready": ready})
    return out


def system_pods(api: kubernetes.client.ApiClient, timeout: float) -> list[dict[str, Any]]:
    items = _call(kubernetes.client.CoreV1Api(api).list_namespaced_pod, "kube-system", timeout=timeout).items
    out = []
    for pod in items:
        statuses = pod.status.container_statuses or []
        ready = bool(statuses) and all(s.ready for s in statuses)
        waiting = [s.state.waiting for s in statuses if s.state and s.state.waiting]
        message = pod.status.message or (f"{waiting[0].reason}: {waiting[0].message or ''}".strip(": ")
                                         if waiting else None)
        out.append({"name": pod.metadata.name, "namespace": pod.metadata.namespace, "ready": ready,
                    "phase": pod.status.phase, "restartCount": sum(s.restart_count or 0 for s in statuses),
                    "message": message})
    return out


def active_jobs(api: kubernetes.client.ApiClient, namespace: str, timeout: float) -> int:
    items = _call(kubernetes.client.BatchV1Api(api).list_namespaced_job, namespace, timeout=timeout).items
    return sum(1 for job in items if (job.status.active or 0) > 0)


def version(api: kubernetes.client.ApiClient, timeout: float) -> str:
    """`major.minor` of the cluster's API server."""
    info = _call(kubernetes.client.VersionApi(api).get_code, timeout=timeout)
    return f"{info.major}.{str(info.minor).rstrip('+')}"
