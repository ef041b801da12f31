"""REST writes -> changes of ProvisionedCluster resources, sent to the apiserver as the caller.

Create makes a ProvisionedCluster, update patches its spec, provision/destroy set
`desiredState`, delete removes the record. Each waits (bounded by `api_write_wait`) until the
store has seen its own result, so the caller's next read shows it; provision and destroy also
wait for the operator's Operation, which is what they answer.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from kubernetes_asyncio import client as aclient

from fleetyard.kube import impersonation
from fleetyard.models import api, kinds, timestamps
from fleetyard.rest import errors, store

PREFIX = f"/apis/{kinds.GROUP}/{kinds.VERSION}/namespaces"
MERGE_PATCH = "application/merge-patch+json"
# the field manager of every REST write in managedFields (a kubectl or Argo CD apply sees whom it
# would take a field from; docs/rest-api-guide.md, "Omitted fields")
FIELD_MANAGER = {"fieldManager": "fleetyard-api"}


@dataclasses.dataclass
class Writer:
    api: aclient.ApiClient
    cache: store.Store
    wait: float

    async def _send(self, who: impersonation.Identity, method: str, path: str, body: dict[str, Any] | None = None,
                    content_type: str = "application/json") -> dict[str, Any]:
        query = FIELD_MANAGER if method in ("POST", "PATCH") else None
        out = await impersonation.request(self.api, who, method, path, body, content_type, query)
        if out.status >= 300:
            raise errors.from_status(out.status, out.body)
        return out.body

    async def _caught_up(self, kind: kinds.Kind, written: dict[str, Any]) -> None:
        version = str((written.get("metadata") or {}).get("resourceVersion") or "0")
        await self.cache.wait_until(lambda: self.cache.seen(kind, version), self.wait)

    async def create_cluster(self, who: impersonation.Identity, namespace: str, connection: store.Entry,
                             network: store.Entry, body: api.ClusterCreate) -> store.Entry:
        manifest = {
            "apiVersion": kinds.API_VERSION, "kind": kinds.PROVISIONED_CLUSTER.kind,
            "metadata": {"name": k8s_name(body.name)},
            "spec": {
                "connectionRef": {"name": connection.name}, "networkRef": {"name": network.name},
                "displayName": body.name, "region": body.region,
                "config": body.config.model_dump(mode="json", exclude_none=True),
                "desiredState": "Provisioned",
                "access": {"teams": list(body.access.teams)},
            },
        }
        path = f"{PREFIX}/{namespace}/{kinds.PROVISIONED_CLUSTER.plural}"
        out = await impersonation.request(self.api, who, "POST", path, manifest, query=FIELD_MANAGER)
        if out.status == 409 and out.body.get("reason") == "AlreadyExists":
            # the display name's slug is taken: let the apiserver add a suffix
            manifest["metadata"] = {"generateName": f"{manifest['metadata']['name'][:52]}-"}
            out = await impersonation.request(self.api, who, "POST", path, manifest, query=FIELD_MANAGER)
        if out.status >= 300:
            raise errors.from_status(out.status, out.body)
        return await self._entry(kinds.PROVISIONED_CLUSTER, out.body)

    async def update_cluster(self, who: impersonation.Identity, cluster: store.Entry,
                             spec_patch: dict[str, Any]) -> store.Entry:
        """A JSON merge patch of the spec (`fleetyard.rest.cluster_updates`); nothing to send: the cluster."""
        if not spec_patch:
            return cluster
        written = await self._send(who, "PATCH", self._path(cluster), {"spec": spec_patch}, MERGE_PATCH)
        return await self._entry(kinds.PROVISIONED_CLUSTER, written)

    async def set_desired_state(self, who: impersonation.Identity, cluster: store.Entry, desired: str,
                                operation: str) -> store.Entry | None:
        """Patch desiredState (and ask for a retry); the operator's new `operation` Operation, if it comes in time."""
        before = {e.name for e in self.cache.operations_of(cluster)}
        patch = {"metadata": {"annotations": {kinds.RETRY_REQUESTED_ANNOTATION: timestamps.now()}},
                 "spec": {"desiredState": desired}}
        written = await self._send(who, "PATCH", self._path(cluster), patch, MERGE_PATCH)
        await self._caught_up(kinds.PROVISIONED_CLUSTER, written)

        def started() -> store.Entry | None:
            current = self.cache.get(kinds.PROVISIONED_CLUSTER, cluster.namespace, cluster.name)
            if current is None:
                return None
            return self.cache.latest_operation(current, operation, excluding=before)

        await self.cache.wait_until(lambda: started() is not None, self.wait)
        return started()

    async def delete_cluster(self, who: impersonation.Identity, cluster: store.Entry) -> None:
        await self._send(who, "DELETE", self._path(cluster),
                         {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": cluster.uid}})

    async def _entry(self, kind: kinds.Kind, written: dict[str, Any]) -> store.Entry:
        await self._caught_up(kind, written)
        meta = written["metadata"]
        entry = self.cache.get(kind, meta["namespace"], meta["name"])
        if entry is None:
            raise errors.ApiError(503, "the change was made but is not visible yet; read it again shortly",
                                  retryable=True, retry_after=1)
        return entry

    @staticmethod
    def _path(cluster: store.Entry) -> str:
        return f"{PREFIX}/{cluster.namespace}/{kinds.PROVISIONED_CLUSTER.plural}/{cluster.name}"


def k8s_name(display_name: str) -> str:
    """A DNS-1123 name from a display name: 'Production Cluster' -> production-cluster."""
    slug = re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")[:53].strip("-")
    return slug or "cluster"
