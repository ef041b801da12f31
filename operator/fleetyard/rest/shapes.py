"""Custom resources -> the seed's entities (`externalCluster`, `cluster`, `connection`, `network`,
`operation`), as JSON-ready dicts checked against `fleetyard.models.api`.

Pure: the store calls these when a watch event arrives, so requests only copy prepared bytes.
References between entities are resolved by the caller and passed in as seed ids.
"""

from __future__ import annotations

import logging
from typing import Any

import pydantic

from fleetyard.models import api, ids, kinds

log = logging.getLogger(__name__)


def _audit(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    notes = meta.get("annotations") or {}
    return {
        "createdAt": meta.get("creationTimestamp"),
        "createdBy": notes.get(kinds.CREATED_BY_ANNOTATION),
        "updatedAt": notes.get(kinds.UPDATED_AT_ANNOTATION) or meta.get("creationTimestamp"),
        "updatedBy": notes.get(kinds.UPDATED_BY_ANNOTATION) or notes.get(kinds.CREATED_BY_ANNOTATION),
    }


def _checked(model: type[api.Public], values: dict[str, Any]) -> dict[str, Any]:
    """`values` in `model`'s shape: every field, null when unset (the seed's convention)."""
    try:
        return api.public(model, values)
    except pydantic.ValidationError as exc:
        # an object written by hand with odd values: serve it rather than hide it
        log.warning("%s does not match %s: %s", values.get("id"), model.__name__, exc.errors()[:3])
        return {name: values.get(name) for name in model.model_fields}


def infra_status(obj: dict[str, Any]) -> str:
    """The seed status of a Network/ProvisionedCluster; a spec change not yet acted on reads `updating`."""
    status = obj.get("status") or {}
    phase = status.get("status") or "pending"
    observed = status.get("observedGeneration")
    generation = obj["metadata"].get("generation")
    desired = (obj.get("spec") or {}).get("desiredState", "Provisioned")
    if phase == "active" and desired == "Provisioned" and observed is not None and generation and observed < generation:
        return "updating"
    return str(phase)


def external_cluster(obj: dict[str, Any], connection_id: str | None, network_id: str | None) -> dict[str, Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    metadata = status.get("providerMetadata") or {}
    return _checked(api.ExternalClusterPublic, {
        "id": ids.of(obj) or "",
        "connectionId": connection_id,
        "networkId": network_id,
        "clusterId": status.get("clusterId"),
        "name": spec.get("displayName") or obj["metadata"]["name"],
        "region": spec.get("region") or "",
        "status": infra_status(obj),
        "statusMessage": status.get("statusMessage"),
        "config": spec.get("config"),
        "providerMetadata": {k: metadata.get(k) for k in ("clusterName", "clusterArn")} if metadata else None,
        "iacState": status.get("iacState"),
        "iacOutputs": status.get("iacOutputs"),
        "jobRunnerRoleArn": status.get("jobRunnerRoleArn"),
        **_audit(obj),
        "lastHealthStatus": status.get("lastHealthStatus"),
        "lastHealthMessage": status.get("lastHealthMessage"),
        "lastHealthCheckAt": status.get("lastHealthCheckAt"),
        "access": {"teams": (spec.get("access") or {}).get("teams") or []},
    })


def cluster(obj: dict[str, Any]) -> dict[str, Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return _checked(api.ClusterPublic, {
        "id": ids.of(obj) or "",
        "name": spec.get("displayName") or obj["metadata"]["name"],
        **_audit(obj),
        "externalClusterId": status.get("externalClusterId"),
        "region": spec.get("region"),
        "connectionId": status.get("connectionId"),
        "networkId": status.get("networkId"),
        "externalStatus": status.get("externalStatus"),
        "operationId": status.get("operationId"),
    })


def connection(obj: dict[str, Any]) -> dict[str, Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    config = spec.get("providerConfig") or {}
    return _checked(api.ConnectionPublic, {
        "id": ids.of(obj) or "",
        "name": spec.get("displayName") or obj["metadata"]["name"],
        "provider": spec.get("provider") or "aws",
        "providerConfig": {k: config.get(k) for k in ("accountId", "region", "roleArn", "externalIdSecretArn",
                                                      "stackArn")},
        "status": status.get("status") or "pending",
        "statusMessage": status.get("statusMessage"),
        "lastUsedAt": status.get("lastUsedAt"),
        "templateSyncedAt": status.get("templateSyncedAt"),
        "templateSyncMessage": status.get("templateSyncMessage"),
        **_audit(obj),
    })


def network(obj: dict[str, Any], connection_id: str | None) -> dict[str, Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return _checked(api.NetworkPublic, {
        "id": ids.of(obj) or "",
        "connectionId": connection_id,
        "name": spec.get("displayName") or obj["metadata"]["name"],
        "region": spec.get("region") or "",
        "providerNetworkId": status.get("providerNetworkId"),
        "config": spec.get("config"),
        "iacState": status.get("iacState"),
        "iacOutputs": status.get("iacOutputs"),
        "status": infra_status(obj),
        "statusMessage": status.get("statusMessage"),
        **_audit(obj),
    })


def operation(obj: dict[str, Any]) -> dict[str, Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = obj["metadata"]
    return _checked(api.OperationPublic, {
        "id": ids.of(obj) or "",
        "organizationId": meta["namespace"],
        "memberId": spec.get("memberId"),
        "operation": spec.get("operation") or "",
        "status": status.get("status") or "queued",
        "result": status.get("result"),
        "error": status.get("error"),
        "progress": status.get("progress"),
        "resourceType": spec.get("resourceType"),
        "resourceId": spec.get("resourceId"),
        "createdAt": meta.get("creationTimestamp"),
        "updatedAt": status.get("heartbeatAt") or status.get("completedAt") or status.get("startedAt")
        or meta.get("creationTimestamp"),
        "startedAt": status.get("startedAt"),
        "completedAt": status.get("completedAt"),
    })
