"""A platform engineer's story, in order: a Network and a ProvisionedCluster applied as manifests become a
VPC and an EKS cluster in moto; the cluster is resized and upgraded, destroyed while its record is
kept, provisioned again, and deleted. The tests share one organization and run top to bottom."""

from __future__ import annotations

import pathlib

import pytest

from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import connections, infra

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def org(env) -> str:
    return connections.organization(env, "story")


def test_network_becomes_a_vpc(env, org, custom) -> None:
    infra.network(custom, org)
    net = infra.phase_is(custom, org, kinds.NETWORK, "net", "active")
    status = net["status"]
    vpcs = infra.vpcs_of(env, status["id"])
    assert [v["CidrBlock"] for v in vpcs] == ["10.30.0.0/16"]
    assert status["providerNetworkId"] == vpcs[0]["VpcId"]
    assert status["iacState"] == {"projectName": "fleetyard-byoc-network", "stackName": f"{org}-{status['id'].lower()}"}
    subnets = infra.aws(env, "ec2").describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])
    public = [s for s in subnets["Subnets"] if {"Key": "kubernetes.io/role/elb", "Value": "1"} in s.get("Tags", [])]
    assert len(subnets["Subnets"]) == 6 and len(public) == 3
    assert sorted(status["iacOutputs"]["publicSubnetIds"].split(",")) == sorted(s["SubnetId"] for s in public)
    nats = infra.aws(env, "ec2").describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])
    assert len([n for n in nats["NatGateways"] if n["State"] != "deleted"]) == 1  # natGateways: Single
    conds = {c["type"]: c["status"] for c in status["conditions"]}
    assert conds["Ready"] == "True" and conds["Provisioned"] == "True" and conds["Reconciling"] == "False"


def test_provision_operation_keeps_the_full_picture(org, custom) -> None:
    ops = infra.operations(custom, org, "net")
    assert [o["spec"]["operation"] for o in ops] == ["provision"]
    op = ops[0]
    status = op["status"]
    assert status["status"] == "succeeded" and status["startedAt"] and status["completedAt"]
    assert op["spec"]["resourceType"] == "network" and op["spec"]["memberId"]
    assert op["metadata"]["ownerReferences"][0]["name"] == "net"
    resources = status["progress"]["resources"]
    types = {r["type"] for r in resources}
    assert {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway"} <= types
    assert all(r["status"] == "succeeded" and r["operation"] == "create" for r in resources)
    summary = status["progress"]["summary"]
    assert summary["total"] == len(resources) and summary["succeeded"] == len(resources) and summary["failed"] == 0
    assert status["result"]["outputs"]["vpcId"].startswith("vpc-")


def test_cluster_becomes_an_eks_cluster(env, org, custom) -> None:
    infra.cluster(custom, org)
    pc = infra.phase_is(custom, org, kinds.PROVISIONED_CLUSTER, "prod", "active")
    status = pc["status"]
    name = status["providerMetadata"]["clusterName"]
    eks = infra.aws(env, "eks")
    described = eks.describe_cluster(name=name)["cluster"]
    assert described["version"] == "1.34" and described["arn"] == status["providerMetadata"]["clusterArn"]
    assert described["resourcesVpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    groups = eks.list_nodegroups(clusterName=name)["nodegroups"]
    assert len(groups) == 1
    group = eks.describe_nodegroup(clusterName=name, nodegroupName=groups[0])["nodegroup"]
    assert group["instanceTypes"] == ["m7g.large"] and group["diskSize"] == 50
    assert group["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 2}
    assert group["amiType"] == "AL2023_ARM_64_STANDARD"
    iam = infra.aws(env, "iam")
    providers = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert status["iacOutputs"]["oidcProviderArn"] in providers
    role_name = status["jobRunnerRoleArn"].rsplit("/", 1)[-1]
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert "system:serviceaccount:fleetyard-system:job-runner" in str(trust)
    assert status["kubernetesVersion"] == "1.34" and status["iacState"]["projectName"] == "fleetyard-byoc-cluster"
    record = get(custom, org, kinds.CLUSTER, "prod")
    assert record["spec"]["provisionedClusterRef"] == {"name": "prod"}
    assert record["status"]["externalClusterId"] == status["id"] and record["status"]["externalStatus"] == "active"
    assert status["clusterId"] == record["status"]["id"]


def test_resize_and_upgrade(env, org, custom) -> None:
    infra.patch_spec(custom, org, kinds.PROVISIONED_CLUSTER, "prod", {"config": {
        "kubernetesVersion": "1.35", "systemNodeGroup": {"desiredSize": 3}}})
    wait_for(lambda: (get(custom, org, kinds.PROVISIONED_CLUSTER, "prod").get("status") or {}).get("status")
             == "updating", 30, "updating")
    pc = infra.phase_is(custom, org, kinds.PROVISIONED_CLUSTER, "prod", "active")
    name = pc["status"]["providerMetadata"]["clusterName"]
    eks = infra.aws(env, "eks")
    group = eks.list_nodegroups(clusterName=name)["nodegroups"][0]
    assert eks.describe_nodegroup(clusterName=name, nodegroupName=group)["nodegroup"]["scalingConfig"][
        "desiredSize"] == 3
    assert pc["status"]["kubernetesVersion"] == "1.35"
    assert "1.35" in str(infra.fake_aws_state(env))  # moto lacks UpdateClusterVersion; the plugin records it
    assert [o["spec"]["operation"] for o in infra.operations(custom, org, "prod")][-1] == "update"


def test_instance_type_change_replaces_the_node_group(env, org, custom) -> None:
    before = get(custom, org, kinds.PROVISIONED_CLUSTER, "prod")["status"]["iacOutputs"]["nodeGroupName"]
    infra.patch_spec(custom, org, kinds.PROVISIONED_CLUSTER, "prod", {"config": {
        "systemNodeGroup": {"instanceTypes": ["m7g.xlarge"]}}})
    pc = infra.phase_is(custom, org, kinds.PROVISIONED_CLUSTER, "prod", "active")
    after = pc["status"]["iacOutputs"]["nodeGroupName"]
    assert after != before
    name = pc["status"]["providerMetadata"]["clusterName"]
    eks = infra.aws(env, "eks")
    assert eks.list_nodegroups(clusterName=name)["nodegroups"] == [after]
    assert eks.describe_nodegroup(clusterName=name, nodegroupName=after)["nodegroup"]["instanceTypes"] == ["m7g.xlarge"]
    progress = infra.operations(custom, org, "prod")[-1]["status"]["progress"]["resources"]
    steps = {r["name"]: r["operation"] for r in progress if r["type"] == "aws:eks/nodeGroup:NodeGroup"}
    assert "replace" in str(steps.values()), steps  # created before the old one went away


def test_network_refuses_to_go_while_a_cluster_uses_it(org, custom) -> None:
    custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, org, "networks", "net")
    net = wait_for(lambda: (lambda o: o if "still used by ProvisionedCluster/prod" in
                            ((o.get("status") or {}).get("statusMessage") or "") else None)(
        get(custom, org, kinds.NETWORK, "net")), 30, "the Network to say why it waits")
    assert net["status"]["status"] == "active" and net["metadata"]["deletionTimestamp"]


def test_destroyed_keeps_the_record(env, org, custom) -> None:
    name = get(custom, org, kinds.PROVISIONED_CLUSTER, "prod")["status"]["providerMetadata"]["clusterName"]
    infra.patch_spec(custom, org, kinds.PROVISIONED_CLUSTER, "prod", {"desiredState": "Destroyed"})
    pc = infra.phase_is(custom, org, kinds.PROVISIONED_CLUSTER, "prod", "destroyed")
    assert infra.eks_clusters(env, name) == []
    conds = {c["type"]: (c["status"], c["reason"]) for c in pc["status"]["conditions"]}
    assert conds["Provisioned"] == ("False", "Destroyed")
    assert "providerMetadata" not in pc["status"]
    assert get(custom, org, kinds.CLUSTER, "prod")["status"]["externalStatus"] == "destroyed"


def test_provisioned_again_rebuilds(env, org, custom) -> None:
    infra.patch_spec(custom, org, kinds.PROVISIONED_CLUSTER, "prod", {"desiredState": "Provisioned"})
    pc = infra.phase_is(custom, org, kinds.PROVISIONED_CLUSTER, "prod", "active")
    name = pc["status"]["providerMetadata"]["clusterName"]
    assert infra.eks_clusters(env, name) == [name]
    # five runs so far (provision, update, update, destroy, provision); the operator keeps the last 3
    kept = wait_for(lambda: (lambda ops: ops if len(ops) == 3 else None)(infra.operations(custom, org, "prod")),
                    30, "old Operations to be pruned")
    assert [o["spec"]["operation"] for o in kept] == ["update", "destroy", "provision"]


def test_delete_with_retain_leaves_the_cloud_alone(env, org, custom) -> None:
    infra.cluster(custom, org, name="kept", deletionPolicy="Retain")
    pc = infra.phase_is(custom, org, kinds.PROVISIONED_CLUSTER, "kept", "active")
    name = pc["status"]["providerMetadata"]["clusterName"]
    stack = pc["status"]["iacState"]["stackName"]
    custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, org, "provisionedclusters", "kept")
    infra.gone(custom, org, kinds.PROVISIONED_CLUSTER, "kept", timeout=30)
    assert infra.eks_clusters(env, name) == [name]
    assert len(infra.aws(env, "eks").list_nodegroups(clusterName=name)["nodegroups"]) == 1
    state = pathlib.Path(env.operator_settings["FLEETYARD_STATE_BACKEND"].removeprefix("file://"))
    assert (state / ".pulumi" / "stacks" / "fleetyard-byoc-cluster" / f"{stack}.json").exists()
    assert [o["spec"]["operation"] for o in infra.operations(custom, org, "kept")] == []


def test_delete_destroys_then_lets_go(env, org, custom) -> None:
    pc = get(custom, org, kinds.PROVISIONED_CLUSTER, "prod")
    name = pc["status"]["providerMetadata"]["clusterName"]
    network_id = get(custom, org, kinds.NETWORK, "net")["status"]["id"]
    custom.delete_namespaced_custom_object(kinds.GROUP, kinds.VERSION, org, "provisionedclusters", "prod")
    infra.gone(custom, org, kinds.PROVISIONED_CLUSTER, "prod")
    assert infra.eks_clusters(env, name) == []
    # the Network was waiting for its user: now it is destroyed and released too
    infra.gone(custom, org, kinds.NETWORK, "net")
    assert infra.vpcs_of(env, network_id) == []
    assert infra.operations(custom, org, "prod") == [] and infra.operations(custom, org, "net") == []
