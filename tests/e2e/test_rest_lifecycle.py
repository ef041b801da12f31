"""A cluster's whole life through the REST API, as a team's tool would drive it: create -> it is
provisioned in moto by the operator -> health, kubeconfig and metrics -> update -> destroy ->
provision again -> destroy -> delete the record; with the 409s a platform engineer relies on along the way."""

from __future__ import annotations

import kubernetes
import pytest
import yaml

from fleetyard.models import kinds
from tests.conftest import wait_for
from tests.e2e import connections, infra, rest

pytestmark = pytest.mark.timeout(600)


def test_create_provision_use_update_destroy_delete(env):
    namespace = connections.organization(env, "restlife")
    custom = kubernetes.client.CustomObjectsApi(env.api)
    infra.network(custom, namespace, cidr="10.120.0.0/20")
    infra.phase_is(custom, namespace, kinds.NETWORK, "net", "active")
    connection_id = rest.seed_id(custom, namespace, kinds.CONNECTION, "prod")
    network_id = rest.seed_id(custom, namespace, kinds.NETWORK, "net")
    admin = rest.username(namespace, "ops")
    base = f"/infra/connections/{connection_id}/clusters"

    with rest.client(env, rest.user(env, namespace, "ops", "fleetyard-admin")) as api:
        assert api.get(base).json()["total"] == 0
        created = api.post(base, json={
            "connectionId": connection_id, "networkId": network_id, "name": "Production Cluster",
            "region": "us-east-1", "config": {
                "kubernetesVersion": "1.34", "publicAccessCidrs": ["203.0.113.0/24"],
                "systemNodeGroup": {"name": "system", "instanceTypes": [["m7g.large"]], "minSize": 1,
                                    "maxSize": 3, "desiredSize": 1, "diskSizeGb": 50}}})
        assert created.status_code == 201, created.text
        cluster = created.json()
        cluster_id = cluster["id"]
        assert cluster["config"]["systemNodeGroup"]["instanceTypes"] == ["m7g.large"]  # emitted flat
        assert cluster["createdBy"] == admin and cluster["connectionId"] == connection_id
        assert cluster["networkId"] == network_id and cluster["name"] == "Production Cluster"
        path = f"{base}/{cluster_id}"

        # the record a kubectl user sees is the same one
        pcs = custom.list_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, "provisionedclusters")
        assert [(p["metadata"]["name"], p["spec"]["displayName"]) for p in pcs["items"]] == [
            ("production-cluster", "Production Cluster")]

        active = rest.until_status(api, path, "active", timeout=infra.PROVISION_TIMEOUT)
        described = active["included"]["clusters"][0]
        assert described["providerMetadata"]["clusterName"] and described["jobRunnerRoleArn"]
        assert described["clusterId"]
        operation = active["included"]["operations"][0]
        assert operation["operation"] == "provision" and operation["status"] == "succeeded"
        assert operation["memberId"] == admin and operation["resourceId"] == cluster_id
        assert operation["progress"]["summary"]["total"] > 0
        everywhere = api.get("/infra/clusters").json()
        assert [i["id"] for i in everywhere["items"]] == [cluster_id]

        assert api.delete(f"/infra/clusters/{cluster_id}").status_code == 409  # destroy first
        refused = api.post(f"{path}/provision")
        assert refused.status_code == 409 and "active" in refused.json()["message"]

        health = wait_for(lambda: (h := api.get(f"{path}/health").json()).get("lastCheckedAt") and h, 60, "health")
        assert health["providerMetadata"]["status"] == "ACTIVE"

        kubeconfig = api.get(f"{path}/kubeconfig")
        assert kubeconfig.status_code == 200
        access = kubeconfig.json()
        assert access["clusterEndpoint"] == env.workload_env()["FLEETYARD_FAKE_EKS_ENDPOINT"]
        # for a person: `aws eks get-token` as the caller's own AWS identity (tests/e2e/test_people_access.py
        # uses one), no token and no trace of the Connection's role
        user = yaml.safe_load(access["kubeconfig"])["users"][0]["user"]
        assert user["exec"]["args"][:2] == ["eks", "get-token"] and "token" not in user
        assert "--role-arn" not in user["exec"]["args"] and ":role/" not in access["kubeconfig"]

        metrics = api.get(f"{path}/metrics", params={"period": "24h"})
        assert metrics.status_code == 200
        assert set(metrics.json()) >= {"cpuUtilization", "memoryUtilization", "estimatedCost", "activeJobCount"}
        bad = api.get(f"{path}/metrics", params={"period": "2h"})
        assert bad.status_code == 400 and list(bad.json()["details"]["fieldErrors"]) == ["period"]

        config = {**described["config"], "systemNodeGroup": {**described["config"]["systemNodeGroup"],
                                                               "desiredSize": 2}}
        updated = api.post(path, json={"name": "Production Cluster", "config": config})
        assert updated.status_code == 202, updated.text
        assert updated.json()["status"] == "updating"
        assert updated.json()["config"]["systemNodeGroup"]["desiredSize"] == 2
        rest.until_status(api, path, "active", timeout=infra.PROVISION_TIMEOUT)
        name = described["providerMetadata"]["clusterName"]
        group = infra.aws(env, "eks").list_nodegroups(clusterName=name)["nodegroups"][0]
        scaling = infra.aws(env, "eks").describe_nodegroup(clusterName=name, nodegroupName=group)
        assert scaling["nodegroup"]["scalingConfig"]["desiredSize"] == 2

        destroy = api.delete(path)
        assert destroy.status_code == 202, destroy.text
        assert destroy.json()["operation"] == "destroy" and destroy.json()["resourceId"] == cluster_id
        assert api.delete(path).status_code in (202, 409)  # again: the same destroy, or nothing left
        rest.until_status(api, path, "destroyed", timeout=infra.PROVISION_TIMEOUT)
        assert name not in infra.eks_clusters(env, name)
        assert api.delete(path).status_code == 409  # nothing left to destroy

        again = api.post(f"{path}/provision")  # the record kept: build it again
        assert again.status_code == 202, again.text
        assert again.json()["operation"] == "provision" and again.json()["status"] in ("queued", "running")
        rest.until_status(api, path, "active", timeout=infra.PROVISION_TIMEOUT)
        assert api.delete(path).status_code == 202
        rest.until_status(api, path, "destroyed", timeout=infra.PROVISION_TIMEOUT)

        deleted = api.delete(f"/infra/clusters/{cluster_id}")
        assert deleted.status_code == 204, deleted.text
        assert infra.gone(custom, namespace, kinds.PROVISIONED_CLUSTER, "production-cluster", timeout=60)
        wait_for(lambda: api.get(f"/infra/clusters/{cluster_id}").status_code == 404, 10, "the record gone")
