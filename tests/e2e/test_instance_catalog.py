"""The instance-type catalog: once a Connection is active, the operator lists its region's instance
types (an Operation with the seed's items and metadata), and admission refuses a node group asking for
a type the region does not offer, naming the field."""

from __future__ import annotations

import json

import kubernetes
import pytest

from fleetyard.models import kinds
from tests.conftest import wait_for
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(300)


def test_catalog_and_admission(env, namespace, custom, core, role) -> None:
    connections.secret(core, namespace, "ext-id", connections.EXTERNAL_ID)
    connections.connection(custom, namespace, role)
    connections.status_when(custom, namespace, "active")

    def listed():
        ops = [o for o in infra.operations(custom, namespace, "prod", kind="Connection")
               if o["spec"]["operation"] == "listInstanceTypes"]
        return ops[-1] if ops and (ops[-1].get("status") or {}).get("status") == "succeeded" else None
    op = wait_for(listed, 60, "the catalog Operation to succeed")
    assert op["spec"]["resourceType"] == "connection"
    result = op["status"]["result"]
    m7g = next(i for i in result["items"] if i["instanceType"] == "m7g.large")
    assert m7g == {"provider": "aws", "instanceType": "m7g.large", "vCpus": 2, "memoryMiB": 8192,
                   "architecture": "arm64", "gpuCount": 0, "instanceFamily": "m7g", "maxPods": 29,
                   "group": "general", "allocatableMilliCpu": 1750}
    assert len(result["items"]) > 100 and result["metadata"]["systemPodsPerNode"] >= 1

    infra.network(custom, namespace, cidr="10.120.0.0/24")
    with pytest.raises(kubernetes.client.ApiException) as refused:
        infra.cluster(custom, namespace, config={
            "kubernetesVersion": "1.35", "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.huge"],
                                                             "minSize": 1, "maxSize": 2, "desiredSize": 1}})
    assert refused.value.status == 422
    message = json.loads(refused.value.body)["message"]
    assert "config.systemNodeGroup.instanceTypes" in message and "m7g.huge" in message
    infra.cluster(custom, namespace, desiredState="Pending")  # m7g.large is offered: accepted
    for kind, name in ((kinds.PROVISIONED_CLUSTER, "prod"), (kinds.NETWORK, "net")):
        custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, namespace, kind.plural, name)
    infra.gone(custom, namespace, kinds.NETWORK, "net")
