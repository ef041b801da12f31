"""How fleetyard lays out networks and node groups: subnet sizes, AMI types, replacement names, stack names."""

from __future__ import annotations

import ipaddress

import pytest

from fleetyard import settings
from fleetyard.models import kinds, provisioned_cluster
from fleetyard.provisioning import cluster_program, job as jobs, node_images, subnets

ZONES = ["us-east-1c", "us-east-1a", "us-east-1b", "us-east-1d"]


@pytest.mark.parametrize("cidr,private_prefix,public_prefix", [
    ("10.0.0.0/16", 18, 20), ("172.16.0.0/20", 22, 24), ("192.168.10.0/24", 26, 28)])
def test_subnets_fit_the_vpc_and_never_overlap(cidr: str, private_prefix: int, public_prefix: int) -> None:
    plan = subnets.plan(cidr, ZONES)
    assert [p.zone for p in plan] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    nets = [ipaddress.ip_network(c) for p in plan for c in (p.public_cidr, p.private_cidr)]
    vpc = ipaddress.ip_network(cidr)
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert {ipaddress.ip_network(p.private_cidr).prefixlen for p in plan} == {private_prefix}
    assert {ipaddress.ip_network(p.public_cidr).prefixlen for p in plan} == {public_prefix}


def test_one_zone_region_gets_one_pair() -> None:
    assert len(subnets.plan("10.0.0.0/16", ["eu-south-2a"])) == 1


@pytest.mark.parametrize("types,ami", [
    (["m7g.large"], "AL2023_ARM_64_STANDARD"),
    (["m7g.large", "c6gn.xlarge", "x2gd.large"], "AL2023_ARM_64_STANDARD"),
    (["m7i.large", "m7i-flex.large", "c7a.xlarge"], "AL2023_x86_64_STANDARD"),
    (["g5.xlarge"], "AL2023_x86_64_NVIDIA"),
    (["g5g.xlarge"], "AL2023_ARM_64_NVIDIA"),
])
def test_ami_type_follows_architecture(types: list[str], ami: str) -> None:
    assert node_images.ami_type(types) == ami


def test_mixed_architectures_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="config.systemNodeGroup.instanceTypes.*arm64: m7g.large"):
        node_images.ami_type(["m7g.large", "m7i.large"])


def group(**kw: object) -> provisioned_cluster.NodeGroup:
    base: dict[str, object] = {"name": "system", "instanceTypes": ["m7g.large"], "minSize": 1, "maxSize": 3,
                               "desiredSize": 2, "diskSizeGb": 100}
    base.update(kw)
    return provisioned_cluster.NodeGroup.model_validate(base)


def test_node_group_name_changes_only_when_a_replacement_is_needed() -> None:
    name = cluster_program.node_group_name(group())
    assert name.startswith("system-")
    assert cluster_program.node_group_name(group(desiredSize=3, maxSize=5)) == name
    assert cluster_program.node_group_name(group(instanceTypes=["m7g.xlarge"])) != name
    assert cluster_program.node_group_name(group(diskSizeGb=200)) != name


def test_cluster_names_are_valid_for_eks() -> None:
    name = jobs.cluster_name("acme", "Prod.Cluster_1" * 10, "ABCDE12345")
    assert len(name) <= 100 and name.endswith("-abcde12345") and name.startswith("fy-acme-")
    assert all(c.isalnum() or c == "-" for c in name)


def _objects() -> tuple[dict, dict, dict, dict]:
    conn = {"kind": "Connection", "metadata": {"name": "prod", "namespace": "acme", "labels": {"fleetyard.io/id": "CONN000001"}},
            "spec": {"displayName": "prod", "providerConfig": {
                "accountId": "123456789012", "roleArn": "arn:aws:iam::123456789012:role/Fy", "region": "us-east-1",
                "externalIdSecretRef": {"name": "prod-external-id"}}}}
    net = {"kind": "Network", "metadata": {"name": "net", "namespace": "acme", "labels": {"fleetyard.io/id": "NETW000001"}},
           "spec": {"connectionRef": {"name": "prod"}, "displayName": "net", "region": "us-east-1",
                    "config": {"cidr": "10.0.0.0/16"}},
           "status": {"providerNetworkId": "vpc-1", "iacOutputs": {"publicSubnetIds": "subnet-a,subnet-b",
                                                                   "privateSubnetIds": "subnet-c,subnet-d"}}}
    cluster = {"kind": "ProvisionedCluster",
               "metadata": {"name": "prod", "namespace": "acme", "labels": {"fleetyard.io/id": "CLUS000001"}},
               "spec": {"connectionRef": {"name": "prod"}, "networkRef": {"name": "net"}, "displayName": "prod",
                        "region": "us-east-1",
                        "config": {"kubernetesVersion": "1.35", "publicAccessCidrs": ["203.0.113.0/24"],
                                   "systemNodeGroup": {"name": "system", "instanceTypes": ["m7g.large"], "minSize": 1,
                                                       "maxSize": 3, "desiredSize": 2, "diskSizeGb": 50}}}}
    op = {"metadata": {"name": "prod-provision-x1", "namespace": "acme"},
          "spec": {"operation": "provision", "attempt": 2, "resourceType": "externalCluster",
                   "resourceRef": {"kind": "ProvisionedCluster", "name": "prod"}}}
    return conn, net, cluster, op


def _build(op: dict, target: dict, conn: dict, net: dict | None, *args: object, **kw: object) -> jobs.Job:
    """`job.build` over the objects as the runner reads them (each parsed through its kind's model)."""
    return jobs.build(kinds.OPERATION.parse(op), kinds.BY_KIND[target["kind"]].parse(target), kinds.CONNECTION.parse(conn),
                      kinds.NETWORK.parse(net) if net is not None else None, *args, **kw)  # type: ignore[arg-type]


def test_cluster_job_carries_the_spec_and_network_subnets() -> None:
    conn, net, cluster, op = _objects()
    cfg = settings.Settings(state_backend_url="file:///state", workspace_root="/ws")
    job = jobs.Job.from_json(_build(op, cluster, conn, net, "ext-id", "pass", cfg, endpoint_url="").to_json())
    args = job.args
    assert isinstance(args, jobs.ClusterArgs)
    assert args.private_subnet_ids == ["subnet-c", "subnet-d"] and args.config.publicAccessCidrs == ["203.0.113.0/24"]
    assert args.config.systemNodeGroup.diskSizeGb == 50 and args.config.kubernetesVersion == "1.35"
    assert args.account.access.role_arn == "arn:aws:iam::123456789012:role/Fy"
    assert args.account.access.external_id == "ext-id"
    assert job.project == "fleetyard-byoc-cluster" and job.stack_name == "acme-clus000001"
    assert job.work_dir == "/ws/fleetyard-byoc-cluster/acme-clus000001" and job.attempt == 2
    assert args.role_prefix == "fy-conn000001-clus000001"


def test_cluster_job_waits_for_network_subnets() -> None:
    conn, net, cluster, op = _objects()
    net["status"] = {}
    with pytest.raises(jobs.JobProblem, match="Network net has no subnets yet") as info:
        _build(op, cluster, conn, net, "x", "p", settings.Settings())
    assert info.value.retryable


def test_destroy_job_checks_the_vpc_is_gone() -> None:
    conn, net, _, op = _objects()
    op["spec"]["operation"] = "destroy"
    job = _build(op, net, conn, None, "x", "p", settings.Settings())
    assert job.verify_gone == {"vpcId": "vpc-1"} and job.program == "network"


def test_a_job_applies_the_spec_its_operation_names_not_the_current_one() -> None:
    conn, net, cluster, op = _objects()
    named = jobs.applied_spec(kinds.PROVISIONED_CLUSTER.parse(cluster))
    assert named["config"]["systemNodeGroup"]["desiredSize"] == 2 and named["region"] == "us-east-1"
    op["spec"]["targetSpec"] = named
    cluster["spec"]["config"]["systemNodeGroup"]["desiredSize"] = 3  # a later generation
    job = _build(op, cluster, conn, net, "x", "p", settings.Settings())
    assert isinstance(job.args, jobs.ClusterArgs) and job.args.config.systemNodeGroup.desiredSize == 2


def test_what_a_run_applies_from_the_spec_leaves_names_and_teams_out() -> None:
    """(access.teams reaches the program as access entries, compared by their digest, not here.)"""
    _, _, cluster, _ = _objects()
    before = jobs.applied_spec(kinds.PROVISIONED_CLUSTER.parse(cluster))
    cluster["spec"].update(displayName="Renamed", access={"teams": ["platform"]}, deletionPolicy="Retain")
    assert jobs.applied_spec(kinds.PROVISIONED_CLUSTER.parse(cluster)) == before
    cluster["spec"]["config"]["publicAccessCidrs"] = ["198.51.100.0/24"]
    assert jobs.applied_spec(kinds.PROVISIONED_CLUSTER.parse(cluster)) != before
