"""Custom resources as the seed's entities: names, ids, statuses and what is never shown."""

from __future__ import annotations

from fleetyard.models import api, kinds
from fleetyard.rest import shapes

CONFIG = {"kubernetesVersion": "1.35", "publicAccessCidrs": [],
          "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large"], "minSize": 1, "maxSize": 3,
                              "desiredSize": 2, "diskSizeGb": 100}}


def meta(name: str, id_: str = "ABCDEFGHIJ", generation: int = 1, **annotations: str) -> dict:
    return {"name": name, "namespace": "acme", "uid": f"uid-{name}", "generation": generation,
            "creationTimestamp": "2026-11-27T10:00:00Z", "labels": {kinds.ID_LABEL: id_},
            "annotations": {kinds.CREATED_BY_ANNOTATION: "alice", **annotations}}


def provisioned(status: dict | None = None, generation: int = 1) -> dict:
    return {"metadata": meta("prod", generation=generation), "spec": {
        "connectionRef": {"name": "c"}, "networkRef": {"name": "n"}, "displayName": "Prod", "region": "us-east-1",
        "config": CONFIG, "desiredState": "Provisioned"}, "status": status or {}}


def test_external_cluster_uses_seed_names_and_resolved_ids() -> None:
    body = shapes.external_cluster(provisioned({
        "status": "active", "observedGeneration": 1, "clusterId": "RECORD0001",
        "providerMetadata": {"clusterName": "fy-acme", "clusterArn": "arn:x", "status": "ACTIVE"},
        "health": {"status": "healthy"}, "kubeconfigSecretRef": {"name": "prod-kubeconfig"},
        "lastHealthStatus": "healthy"}), "CONNECTION", "NETWORK000")
    assert body["id"] == "ABCDEFGHIJ" and body["name"] == "Prod" and body["status"] == "active"
    assert (body["connectionId"], body["networkId"], body["clusterId"]) == ("CONNECTION", "NETWORK000", "RECORD0001")
    assert body["providerMetadata"] == {"clusterName": "fy-acme", "clusterArn": "arn:x"}
    assert body["createdBy"] == body["updatedBy"] == "alice"
    assert "health" not in body and "kubeconfigSecretRef" not in body  # not part of the seed entity


def test_a_spec_change_not_yet_acted_on_reads_updating() -> None:
    assert shapes.infra_status(provisioned({"status": "active", "observedGeneration": 1}, generation=2)) == "updating"
    assert shapes.infra_status(provisioned({"status": "active", "observedGeneration": 2}, generation=2)) == "active"
    assert shapes.infra_status(provisioned({})) == "pending"


def test_connection_never_shows_the_external_id_secret() -> None:
    body = shapes.connection({"metadata": meta("c"), "spec": {"displayName": "C", "provider": "aws",
                              "providerConfig": {"accountId": "123456789012", "region": "us-east-1",
                                                 "roleArn": "arn:aws:iam::123456789012:role/r",
                                                 "externalIdSecretRef": {"name": "ext", "key": "value"}}},
                              "status": {"status": "active", "lastVerifiedAt": "t"}})
    assert "externalIdSecretRef" not in body["providerConfig"] and "'ext'" not in str(body)
    assert body["providerConfig"]["externalIdSecretArn"] is None  # a seed field: present, null when unset
    assert body["status"] == "active" and "lastVerifiedAt" not in body


def test_operation_carries_its_organization_and_progress() -> None:
    body = shapes.operation({"metadata": meta("op-1"), "spec": {
        "operation": "destroy", "resourceType": "externalCluster", "resourceRef": {"kind": "ProvisionedCluster",
                                                                                  "name": "prod"},
        "resourceId": "ABCDEFGHIJ", "memberId": "alice"}, "status": {
        "status": "running", "startedAt": "s", "heartbeatAt": "h", "operatorInstance": "host/1",
        "progress": {"stage": "destroying", "resources": [], "summary": {"total": 3}}}})
    assert body["organizationId"] == "acme" and body["updatedAt"] == "h"
    assert body["progress"]["summary"]["total"] == 3 and "operatorInstance" not in body


def test_every_field_is_present_and_null_when_unset() -> None:
    """The seed's null convention: a cluster nothing has happened to yet still has every field."""
    spec_only = provisioned()
    spec_only["spec"]["config"] = {k: v for k, v in CONFIG.items() if k != "publicAccessCidrs"}
    body = shapes.external_cluster(spec_only, None, None)
    assert set(body) == set(api.ExternalClusterPublic.model_fields)
    unset = {k for k, v in body.items() if v is None}
    assert unset == {"connectionId", "networkId", "clusterId", "statusMessage", "providerMetadata", "iacState",
                     "iacOutputs", "jobRunnerRoleArn", "lastHealthStatus", "lastHealthMessage", "lastHealthCheckAt"}
    assert body["config"]["publicAccessCidrs"] == [] and body["access"] == {"teams": []}  # lists: [], never null
    op = shapes.operation({"metadata": meta("op-2"), "spec": {"operation": "provision"}, "status": {
        "status": "failed", "error": {"code": "AccessDenied", "message": "no"}}})
    assert op["error"] == {"code": "AccessDenied", "message": "no", "errorType": None, "details": None}
    assert op["result"] is None and op["progress"] is None
