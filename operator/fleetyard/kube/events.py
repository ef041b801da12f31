"""Kubernetes Events about fleetyard objects, written from any thread (reconcilers, the runner).

Shown by `kubectl describe` under the object, from component `fleetyard-operator`. Messages name
fields and phases only, never secrets.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from typing import Any

import kubernetes

from fleetyard.kube import client
from fleetyard.models import common

COMPONENT = "fleetyard-operator"
log = logging.getLogger(__name__)


def post(obj: common.Resource | dict[str, Any], type_: str, reason: str, message: str) -> None:
    """An Event about `obj` (typed, or a raw body such as one whose spec does not parse)."""
    if isinstance(obj, dict):
        meta_ = obj.get("metadata") or {}
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        name, namespace, uid, version = (meta_.get("name"), meta_.get("namespace"), meta_.get("uid"),
                                         meta_.get("resourceVersion"))
    else:
        api_version, kind = obj.apiVersion, obj.kind
        name, namespace, uid, version = (obj.metadata.name, obj.metadata.namespace, obj.metadata.uid,
                                         obj.metadata.resourceVersion)
    now = datetime.datetime.now(datetime.timezone.utc)
    event = kubernetes.client.CoreV1Event(
        metadata=kubernetes.client.V1ObjectMeta(name=f"{name[:200]}.{uuid.uuid4().hex[:12]}", namespace=namespace),
        involved_object=kubernetes.client.V1ObjectReference(
            api_version=api_version or None, kind=kind or None, name=name,
            namespace=namespace, uid=uid or None, resource_version=version),
        reason=reason, message=message[:1024], type=type_, count=1,
        first_timestamp=now, last_timestamp=now, event_time=None,
        source=kubernetes.client.V1EventSource(component=COMPONENT), reporting_component=COMPONENT)
    try:
        client.core().create_namespaced_event(namespace, event)
    except kubernetes.client.ApiException as exc:  # an Event is never worth failing a reconcile
        log.warning("could not post event", extra={"reason": reason, "status": exc.status})
