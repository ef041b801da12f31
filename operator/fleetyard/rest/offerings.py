"""What a cluster's region offers, checked before a REST create or update is sent: the Kubernetes
version (EKS DescribeClusterVersions, or fleetyard's maintained list: `connections.eks_versions`) and
the instance types (the Connection's catalog, the newest succeeded `listInstanceTypes` Operation).

Called by the connection-clusters router, so a refusal is the seed's 400 with `fieldErrors` naming the
field, before anything is written; admission makes the same checks (`controllers.admission`) for
kubectl and GitOps writes, with the same messages. Only what is new is checked: a create, a version
that changes, instance types that change. Without a catalog yet the instance types are not checked
(as at admission).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fleetyard.connections import catalog, eks_versions
from fleetyard.rest import errors, store

LIST_INSTANCE_TYPES = "listInstanceTypes"


def catalog_operation(cache: store.Store, connection: store.Entry) -> store.Entry | None:
    """The Connection's newest succeeded `listInstanceTypes` Operation, else its newest one, else None."""
    runs = [e for e in cache.operations_of(connection) if e.spec.get("operation") == LIST_INSTANCE_TYPES]
    succeeded = [e for e in runs if e.status.get("status") == "succeeded"]
    return (succeeded or runs or [None])[-1]


def catalog_types(cache: store.Store, connection: store.Entry | None) -> frozenset[str] | None:
    """The instance types of the Connection's catalog, or None while it has none that succeeded (or the
    Connection is gone)."""
    found = catalog_operation(cache, connection) if connection is not None else None
    if found is None or found.status.get("status") != "succeeded":
        return None
    items = (found.status.get("result") or {}).get("items") or []
    return frozenset(str(i.get("instanceType")) for i in items if i.get("instanceType")) or None


def _instance_types(config: dict[str, Any] | None) -> list[str]:
    return list(((config or {}).get("systemNodeGroup") or {}).get("instanceTypes") or [])


async def require_offered(versions: eks_versions.Versions, cache: store.Store, connection: store.Entry | None,
                          region: str, config: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
    """400 naming `config.kubernetesVersion` or `config.systemNodeGroup.instanceTypes` when `config` (the
    cluster's config after the change; `previous`: before it, None on create) asks for what the
    region does not offer."""
    version = config.get("kubernetesVersion")
    if eks_versions.is_new(version, (previous or {}).get("kubernetesVersion")):
        offered = await asyncio.to_thread(versions.offered, region)  # a blocking AWS call when not cached
        refusal = offered.refusal(str(version))
        if refusal:
            raise errors.invalid(eks_versions.FIELD, refusal)
    wanted = _instance_types(config)
    if wanted and (previous is None or wanted != _instance_types(previous)):
        types = catalog_types(cache, connection)
        refusal = catalog.unknown_instance_types_refusal(wanted, types, region) if types is not None else None
        if refusal:
            raise errors.invalid(catalog.INSTANCE_TYPES_FIELD, refusal)
