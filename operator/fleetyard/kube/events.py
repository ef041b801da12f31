"""Kubernetes Events about fleetyard objects, written from any thread (reconcilers, the runner).

Shown by `kubectl describe` under the object, from component `fleetyard-operator`. Messages name
fields and phases only, never secrets.
"""

from __future__ import annotations

import datetime
import logging
import uuid

import kubernetes

from fleetyard.kube import client
from fleetyard.models import common

COMPONENT = "fleetyard-operator"
log = logging.getLogger(__name__)


def post(obj: common.Resource, type_: str, reason: str, message: str) -> None:
    meta = obj.metadata
    now = datetime.datetime.now(datetime.timezone.utc)
    event = kubernetes.client.CoreV1Event(
        metadata=kubernetes.client.V1ObjectMeta(name=f"{meta.name[:200]}.{uuid.uuid4().hex[:12]}",
                                                namespace=meta.namespace),
        involved_object=kubernetes.client.V1ObjectReference(
            api_version=obj.apiVersion or None, kind=obj.kind or None, name=meta.name,
            namespace=meta.namespace, uid=meta.uid or None, resource_version=meta.resourceVersion),
        reason=reason, message=message[:1024], type=type_, count=1,
        first_timestamp=now, last_timestamp=now, event_time=None,
        source=kubernetes.client.V1EventSource(component=COMPONENT), reporting_component=COMPONENT)
    try:
        client.core().create_namespaced_event(meta.namespace, event)
    except kubernetes.client.ApiException as exc:  # an Event is never worth failing a reconcile
        log.warning("could not post event", extra={"reason": reason, "status": exc.status})
