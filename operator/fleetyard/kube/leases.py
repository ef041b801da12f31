"""Membership Leases (coordination.k8s.io/v1): one per operator replica, renewed by its holder.

Used by `fleetyard.controllers.shards`. A Lease here is not a lock on one thing but a replica's
"I am alive, and this is the member set I act by": `holderIdentity`, `renewTime`,
`leaseDurationSeconds`, and the view it has adopted in an annotation. All of a group carry one label
so a replica reads them with one LIST.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import re
from typing import Any

import kubernetes

from fleetyard.kube import client

GROUP_LABEL = "fleetyard.io/shard-group"
VIEW_ANNOTATION = "fleetyard.io/shard-view"


@dataclasses.dataclass(frozen=True)
class Member:
    identity: str
    view: str
    renewed: datetime.datetime | None
    duration: float

    def alive(self, now: datetime.datetime) -> bool:
        return self.expires_in(now) > 0

    def expires_in(self, now: datetime.datetime) -> float:
        """Seconds until the Lease expires unless renewed (<= 0: expired)."""
        if self.renewed is None:
            return 0.0
        return (self.renewed - now).total_seconds() + self.duration


def _api() -> kubernetes.client.CoordinationV1Api:
    return kubernetes.client.CoordinationV1Api(client.api_client())


def lease_name(group: str, identity: str) -> str:
    """A DNS-1123 name for the replica's Lease; the hash keeps two identities that clean up alike apart."""
    clean = re.sub(r"[^a-z0-9-]+", "-", identity.lower()).strip("-")[:40] or "replica"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"{group}-shard-{clean}-{digest}"[:63].rstrip("-")


def _micro_time(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def renew(namespace: str, group: str, identity: str, duration: float, view: str, now: datetime.datetime) -> None:
    """Write this replica's Lease (create it the first time)."""
    name = lease_name(group, identity)
    body: dict[str, Any] = {
        "metadata": {"name": name, "labels": {GROUP_LABEL: group}, "annotations": {VIEW_ANNOTATION: view}},
        "spec": {"holderIdentity": identity, "leaseDurationSeconds": max(1, round(duration)),
                 "renewTime": _micro_time(now)},
    }
    try:
        _api().patch_namespaced_lease(name, namespace, body)
    except kubernetes.client.ApiException as exc:
        if exc.status != 404:
            raise
        body["spec"]["acquireTime"] = body["spec"]["renewTime"]
        _api().create_namespaced_lease(namespace, body)


def release(namespace: str, group: str, identity: str) -> None:
    """Delete this replica's Lease (a graceful stop: the others need not wait for it to expire)."""
    try:
        _api().delete_namespaced_lease(lease_name(group, identity), namespace)
    except kubernetes.client.ApiException as exc:
        if exc.status != 404:
            raise


def members(namespace: str, group: str) -> list[Member]:
    """Every Lease of the group, alive or not."""
    listed = _api().list_namespaced_lease(namespace, label_selector=f"{GROUP_LABEL}={group}")
    out = []
    for lease in listed.items:
        spec = lease.spec
        if spec is None or not spec.holder_identity:
            continue
        out.append(Member(spec.holder_identity, (lease.metadata.annotations or {}).get(VIEW_ANNOTATION, ""),
                          spec.renew_time, float(spec.lease_duration_seconds or 0)))
    return out
