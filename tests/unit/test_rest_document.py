"""The OpenAPI document holds the seed's shapes to the letter: each seed object has exactly the seed's
fields plus the extensions it marks, every response field is always present (required, null when
unset), and the update body takes the spec's constraints field by field."""

from __future__ import annotations

from typing import Any

import pytest

from fleetyard import docsgen
from fleetyard.models import api

# The fields of each object of the clusters API contract (the seed), as its reference lists them.
AUDIT = ("createdAt", "createdBy", "updatedAt", "updatedBy")
SEED: dict[str, tuple[str, ...]] = {
    "ExternalClusterPublic": ("id", "connectionId", "networkId", "clusterId", "name", "region", "status",
                              "statusMessage", "config", "providerMetadata", "iacState", "iacOutputs",
                              "jobRunnerRoleArn", *AUDIT, "lastHealthStatus", "lastHealthMessage",
                              "lastHealthCheckAt"),
    "ClusterConfigPublic": ("kubernetesVersion", "systemNodeGroup", "publicAccessCidrs"),
    "NodeGroupPublic": ("name", "instanceTypes", "minSize", "maxSize", "desiredSize", "diskSizeGb"),
    "ProviderMetadataPublic": ("clusterName", "clusterArn"),
    "IacStatePublic": ("projectName", "stackName"),
    "ClusterPublic": ("id", "name", *AUDIT, "externalClusterId", "region", "connectionId", "networkId",
                      "externalStatus", "operationId"),
    "ConnectionPublic": ("id", "name", "provider", "providerConfig", "status", "statusMessage", "lastUsedAt",
                         "templateSyncedAt", "templateSyncMessage", *AUDIT),
    "ConnectionProviderConfigPublic": ("accountId", "region", "roleArn", "externalIdSecretArn", "stackArn"),
    "NetworkPublic": ("id", "connectionId", "name", "region", "providerNetworkId", "config", "iacState",
                      "iacOutputs", "status", "statusMessage", *AUDIT),
    "NetworkConfigPublic": ("cidr",),
    "OperationPublic": ("id", "organizationId", "memberId", "operation", "status", "result", "error", "progress",
                        "resourceType", "resourceId", "createdAt", "updatedAt", "startedAt", "completedAt"),
    "OperationResultPublic": ("items", "metadata"),
    "InstanceTypePublic": ("provider", "instanceType", "vCpus", "memoryMiB", "architecture", "gpuCount",
                           "instanceFamily", "maxPods", "group", "allocatableMilliCpu"),
    "InstanceTypeMetadataPublic": ("provider", "systemPodsPerNode", "systemPodsPerSystemNode", "systemPodsFixed",
                                   "systemPodsPerNodeMargin", "systemPodsFixedMargin", "systemMilliCPUPerNode",
                                   "systemMilliCPUFixed", "karpenterMilliCPUPerReplica", "karpenterReplicas"),
    "Error": ("code", "message", "errorType", "details"),
    "ErrorDetails": ("retryable", "retryAfter", "fieldErrors", "requestId", "causedBy"),
    "ProgressPublic": ("stage", "message", "resources", "summary"),
    "ResourceProgressPublic": ("urn", "type", "name", "operation", "status", "duration"),
    "ProgressSummaryPublic": ("total", "pending", "running", "succeeded", "failed", "unchanged"),
    "InfraClusterList": ("total", "items", "included", "marker"),
    "InfraClusterItem": ("item", "included"),
    "InfraClusterRef": ("id", "connectionId"),
    "InfraIncluded": ("clusters", "connections", "operations"),
    "MyClusterList": ("total", "items", "included"),
    "MyClusterItem": ("item", "included"),
    "MyClusterRef": ("id", "externalClusterId", "connectionId"),
    "MyIncluded": ("clusters", "connections", "networks", "externalClusters"),
    "Health": ("status", "providerMetadata", "nodeGroups", "systemPods", "totalNodes", "readyNodes",
               "lastCheckedAt"),
    "ProviderHealthPublic": ("status",),
    "NodeGroupHealthPublic": ("name", "status", "desiredSize", "readyNodes", "message"),
    "SystemPodHealthPublic": ("name", "namespace", "ready", "phase", "restartCount", "message"),
    "Kubeconfig": ("kubeconfig", "clusterEndpoint", "clusterCertificateAuthority"),
    "MetricPoint": ("timestamp", "value"),
    "Metrics": ("cpuUtilization", "memoryUtilization", "estimatedCost", "activeJobCount"),
    # request bodies
    "ClusterCreate": ("connectionId", "networkId", "name", "region", "config"),
    "ClusterConfig": ("kubernetesVersion", "systemNodeGroup", "publicAccessCidrs"),
    "NodeGroup": ("name", "instanceTypes", "minSize", "maxSize", "desiredSize", "diskSizeGb"),
    "ClusterUpdate": ("name", "config"),
    "ClusterConfigUpdate": ("kubernetesVersion", "systemNodeGroup", "publicAccessCidrs"),
    "NodeGroupUpdate": ("name", "instanceTypes", "minSize", "maxSize", "desiredSize", "diskSizeGb"),
}
# objects that exist only inside an extension field
EXTENSION_OBJECTS = {"AccessPublic", "AccessCreate", "AccessUpdate"}
DOCUMENTED_EXTENSIONS = {
    ("ExternalClusterPublic", "access"), ("NetworkConfigPublic", "natGateways"), ("OperationResultPublic", "outputs"),
    ("Metrics", "unknownInstanceTypes"), ("ClusterCreate", "access"), ("ClusterUpdate", "access"),
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return docsgen.openapi_document()


def _extensions(schema: dict[str, Any]) -> set[str]:
    return {name for name, prop in schema["properties"].items() if prop.get(api.EXTENSION)}


def test_every_seed_object_has_the_seed_fields_and_only_marked_extensions(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert set(schemas) == set(SEED) | EXTENSION_OBJECTS
    for name, fields in SEED.items():
        schema = schemas[name]
        assert set(schema["properties"]) - _extensions(schema) == set(fields), name
        assert schema.get("additionalProperties") is False, name
    found = {(name, f) for name, s in schemas.items() for f in _extensions(s)}
    assert found == DOCUMENTED_EXTENSIONS
    for name, field in found:
        assert schemas[name]["properties"][field]["description"].startswith(api.EXTENSION_PREFIX)


def test_every_response_field_is_always_present(doc: dict[str, Any]) -> None:
    """The seed's null convention, in the document: each field of a response object is required (its value
    may be null); a request body's fields are required only where the seed's are."""
    responses = {name for name in doc["components"]["schemas"]
                 if name not in {"ClusterCreate", "ClusterConfig", "NodeGroup", "ClusterUpdate", "ClusterConfigUpdate",
                                 "NodeGroupUpdate", "AccessCreate", "AccessUpdate"}}
    for name in responses:
        schema = doc["components"]["schemas"][name]
        assert set(schema.get("required") or ()) == set(schema["properties"]), name


def test_only_the_catalog_endpoint_is_an_extension(doc: dict[str, Any]) -> None:
    marked = {(path, method) for path, item in doc["paths"].items() for method, op in item.items()
              if op.get(api.EXTENSION)}
    assert marked == {("/infra/connections/{connection}/instance-types", "get")}
    assert sum(len(item) for item in doc["paths"].values()) == 15


def _constraints(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("default", "description", "title")}


@pytest.mark.parametrize("update,spec", [("NodeGroupUpdate", "NodeGroup"), ("ClusterConfigUpdate", "ClusterConfig")])
def test_update_fields_have_the_spec_constraints(doc: dict[str, Any], update: str, spec: str) -> None:
    """The partial update repeats the spec's per-field rules (its cross-field rules run on the merged
    spec); a constraint changed in one and not the other fails here."""
    schemas = doc["components"]["schemas"]
    for name, prop in schemas[update]["properties"].items():
        want = schemas[spec]["properties"][name]
        if "$ref" in prop:
            continue
        got, want = _constraints(prop), _constraints(want)
        if "items" in want:  # CEL rules of the items run on the merged spec
            want["items"] = {k: v for k, v in want["items"].items() if k != "x-kubernetes-validations"}
        want.pop("x-kubernetes-validations", None)
        assert got == want, (update, name)
    assert not schemas[update].get("required")
