"""The test-only Pulumi `aws` plugin (hack/pulumi-aws-plugin) against moto, through the Automation API.

Each scenario is one stack of a small inline pulumi_aws program with an explicit `aws.Provider`,
run by the pinned Pulumi CLI with the plugin first on PATH (automatic plugin downloads off), a
`file://` backend and a fresh PULUMI_HOME under tmp_path:

- network: VPC, subnets, IGW, EIP, NAT, route tables, routes, associations; a preview changes
  nothing in moto, a second preview plans nothing, refresh drops a route deleted behind Pulumi's
  back (the next up recreates it), a tag change is an in-place update, destroy leaves moto as it was.
  Endpoint from AWS_ENDPOINT_URL.
- eks: IAM roles + managed policy attachments, EKS cluster, node group, OIDC provider, addons,
  access entry + policy association; scaling and a one-minor version bump update in place (moto and
  the plugin's state show them), a new instance type replaces the node group create-before-delete,
  destroy leaves nothing. Endpoint from the provider's `endpoints` (AWS_ENDPOINT_URL is a dead port).
- assume role: moto with IAM access control on; the provider assumes a role with an external id
  (as a secret) and everything, getCallerIdentity included, runs as that role; a wrong external id
  fails the update.
"""

from __future__ import annotations

import collections.abc
import importlib
import json
import os
import pathlib
import sys
import uuid
from types import ModuleType
from typing import Any

import boto3
import pulumi
import pulumi_aws as aws
import pytest
from pulumi import automation as auto

from fleetyard.devenv import moto_server, tools

pytestmark = pytest.mark.integration

REPO = pathlib.Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "hack" / "pulumi-aws-plugin"
REGION = moto_server.DEFAULT_REGION
MANAGED_POLICIES = {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
EKS_POLICIES = {
    "cluster": ("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",),
    "node": ("arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
             "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
             "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"),
}
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
Program = collections.abc.Callable[[], None]


def _plugin_module(name: str) -> ModuleType:
    """A module of the plugin (they import each other by bare name, so its directory goes on sys.path)."""
    if str(PLUGIN_DIR) not in sys.path:
        sys.path.append(str(PLUGIN_DIR))
    return importlib.import_module(name)


fake_aws_state = _plugin_module("fake_aws_state")


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> collections.abc.Iterator[moto_server.MotoServer]:
    with moto_server.MotoServer(tmp_path_factory.mktemp("moto"), access_control=False,
                                server_env=MANAGED_POLICIES) as server:
        yield server


@pytest.fixture(scope="module")
def moto_iam(tmp_path_factory: pytest.TempPathFactory) -> collections.abc.Iterator[moto_server.MotoServer]:
    with moto_server.MotoServer(tmp_path_factory.mktemp("moto-iam"), access_control=True,
                                server_env=MANAGED_POLICIES) as server:
        yield server


@pytest.fixture(scope="module")
def pulumi_bin(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A `<root>/bin/pulumi` link to the pinned CLI: the layout `auto.PulumiCommand(root)` expects."""
    bin_dir = tmp_path_factory.mktemp("pulumi-cli") / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").symlink_to(tools.tool_path("pulumi"))
    return bin_dir


def _client(server: moto_server.MotoServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=server.endpoint, region_name=server.region,
                        aws_access_key_id=server.access_key_id,
                        aws_secret_access_key=server.secret_access_key)


class Stacks:
    """Makes one Automation API stack per scenario with the plugin and CLI on PATH."""

    def __init__(self, root: pathlib.Path, pulumi_bin: pathlib.Path, aws_env: dict[str, str]) -> None:
        self.root = root
        self.state_file = root / "fake-aws-state.json"
        self.command = auto.PulumiCommand(root=str(pulumi_bin.parent))
        (root / "backend").mkdir(parents=True, exist_ok=True)
        self.env = {
            **aws_env,
            "PATH": os.pathsep.join([str(PLUGIN_DIR), str(pulumi_bin), os.environ.get("PATH", "")]),
            "PULUMI_HOME": str(root / "pulumi-home"),
            "PULUMI_BACKEND_URL": (root / "backend").as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": "test-passphrase",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "FLEETYARD_FAKE_AWS_STATE": str(self.state_file),
        }

    def stack(self, name: str, program: Program) -> auto.Stack:
        project = f"fake-aws-{name}"
        work_dir = self.root / "projects" / name
        work_dir.mkdir(parents=True, exist_ok=True)
        return auto.create_or_select_stack(
            stack_name=name, project_name=project, program=program,
            opts=auto.LocalWorkspaceOptions(
                work_dir=str(work_dir),
                pulumi_command=self.command,
                env_vars=self.env,
                project_settings=auto.ProjectSettings(
                    name=project, runtime="python",
                    backend=auto.ProjectBackend(url=self.env["PULUMI_BACKEND_URL"])),
            ))

    def state(self) -> dict[str, Any]:
        return fake_aws_state.load(self.state_file) if self.state_file.exists() else {"clusters": {}}


def _provider(**kwargs: Any) -> aws.Provider:
    return aws.Provider("moto", region=REGION, skip_credentials_validation=True,
                        skip_requesting_account_id=True, skip_metadata_api_check=True,
                        skip_region_validation=True, **kwargs)


def _ops(events: list[auto.EngineEvent], type_: str) -> list[tuple[str, str]]:
    """(pre|done, op) of every step on resources of one type, in engine order."""
    seen: list[tuple[str, str]] = []
    for event in sorted(events, key=lambda e: e.sequence):
        for kind, step in (("pre", event.resource_pre_event), ("done", event.res_outputs_event)):
            if step is not None and step.metadata.type == type_:
                seen.append((kind, step.metadata.op.value))
    return seen


def _changes(result: auto.UpResult | auto.PreviewResult | auto.RefreshResult) -> dict[str, int]:
    summary = result.change_summary if isinstance(result, auto.PreviewResult) else (
        result.summary.resource_changes or {})
    return {str(k): v for k, v in summary.items() if str(k) != "same" and v}


# -- provider configuration, without the engine --------------------------------------------------
def test_provider_config_encodings(monkeypatch: pytest.MonkeyPatch) -> None:
    """pulumi_aws JSON-encodes object/list/bool provider inputs; the legacy `variables` map and
    snake_case keys (plain dicts given to to_json) must work as well."""
    config = _plugin_module("fake_aws_config")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    role = "arn:aws:iam::123456789012:role/customer"
    encoded = config.ProviderConfig.parse(
        {"region": "eu-west-1", "skipCredentialsValidation": "true", "version": "7.51.1",
         "assumeRoles": json.dumps([{"roleArn": role, "externalId": "x1", "sessionName": "s1"}]),
         "endpoints": json.dumps([{"ec2": "http://127.0.0.1:1", "eks": "http://127.0.0.1:2"}])}, {})
    assert encoded.region == "eu-west-1" and encoded.flags["skipCredentialsValidation"] is True
    assert encoded.assume_roles == (config.AssumeRole(role, "x1", "s1"),)
    assert encoded.endpoint("eks") == "http://127.0.0.1:2" and encoded.endpoint("iam") is None
    legacy = config.ProviderConfig.parse({}, {
        "aws:config:region": "us-west-2",
        "aws:config:assumeRoles": json.dumps([{"role_arn": role, "external_id": "x2", "duration": "15m"}]),
        "aws:config:defaultTags": json.dumps({"tags": {"team": "a"}})})
    assert legacy.region == "us-west-2" and legacy.default_tags == {"team": "a"}
    assert legacy.assume_roles == (config.AssumeRole(role, "x2", None, 900),)


# -- network ------------------------------------------------------------------------------------
def _ec2_snapshot(ec2: Any) -> dict[str, set[str]]:
    return {
        "vpcs": {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")},
        "subnets": {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if not s.get("DefaultForAz")},
        "igws": {i["InternetGatewayId"] for i in ec2.describe_internet_gateways()["InternetGateways"]},
        "eips": {a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]},
        "nats": {n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"]
                 if n["State"] not in ("deleted", "deleting")},
        "route_tables": {t["RouteTableId"] for t in ec2.describe_route_tables()["RouteTables"]},
        "security_groups": {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]},
    }


def _network_program(tags: dict[str, str], with_extra_subnet: bool = False) -> Program:
    def program() -> None:
        provider = _provider()
        opts = pulumi.ResourceOptions(provider=provider)
        zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(provider=provider))
        partition = aws.get_partition(opts=pulumi.InvokeOptions(provider=provider))
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.20.0.0/16", enable_dns_hostnames=True,
                          enable_dns_support=True, tags=tags, opts=opts)
        igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id, tags=tags, opts=opts)
        public_rt = aws.ec2.RouteTable("public", vpc_id=vpc.id, tags=tags, opts=opts)
        aws.ec2.Route("public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=opts)
        public = aws.ec2.Subnet("public-a", vpc_id=vpc.id, cidr_block="10.20.0.0/24",
                                availability_zone=zones.names[0], map_public_ip_on_launch=True,
                                tags=tags, opts=opts)
        aws.ec2.RouteTableAssociation("public-a", subnet_id=public.id, route_table_id=public_rt.id, opts=opts)
        private = aws.ec2.Subnet("private-a", vpc_id=vpc.id, cidr_block="10.20.16.0/20",
                                 availability_zone=zones.names[0], tags=tags, opts=opts)
        eip = aws.ec2.Eip("nat-a", domain="vpc", tags=tags, opts=opts)
        nat = aws.ec2.NatGateway("nat-a", allocation_id=eip.id, subnet_id=public.id, tags=tags,
                                 opts=pulumi.ResourceOptions(provider=provider, depends_on=[igw]))
        private_rt = aws.ec2.RouteTable("private-a", vpc_id=vpc.id, tags=tags, opts=opts)
        aws.ec2.Route("private-a-default", route_table_id=private_rt.id, destination_cidr_block="0.0.0.0/0",
                      nat_gateway_id=nat.id, opts=opts)
        aws.ec2.RouteTableAssociation("private-a", subnet_id=private.id, route_table_id=private_rt.id,
                                      opts=opts)
        if with_extra_subnet:
            aws.ec2.Subnet("private-b", vpc_id=vpc.id, cidr_block="10.20.32.0/20",
                           availability_zone=zones.names[1], tags=tags, opts=opts)
        pulumi.export("zones", zones.names)
        pulumi.export("partition", partition.partition)
        pulumi.export("vpcId", vpc.id)
        pulumi.export("vpcArn", vpc.arn)
        pulumi.export("mainRouteTableId", vpc.main_route_table_id)
        pulumi.export("publicSubnetId", public.id)
        pulumi.export("publicSubnetAzId", public.availability_zone_id)
        pulumi.export("privateSubnetId", private.id)
        pulumi.export("privateRouteTableId", private_rt.id)
        pulumi.export("natId", nat.id)
        pulumi.export("natPublicIp", nat.public_ip)
        pulumi.export("eipPublicIp", eip.public_ip)
        pulumi.export("vpcTagsAll", vpc.tags_all)

    return program


def test_network_lifecycle(moto: moto_server.MotoServer, pulumi_bin: pathlib.Path,
                           tmp_path: pathlib.Path) -> None:
    ec2 = _client(moto, "ec2")
    stacks = Stacks(tmp_path, pulumi_bin, moto.env())
    tags = {"Name": "net", "team": "a", "tier": "network"}
    before = _ec2_snapshot(ec2)
    stack = stacks.stack("network", _network_program(tags))

    preview = stack.preview()
    assert _changes(preview) == {"create": 14}  # 12 resources + the provider + the stack
    assert _ec2_snapshot(ec2) == before

    up = stack.up()
    out = {k: v.value for k, v in up.outputs.items()}
    assert out["partition"] == "aws" and out["zones"][0] == f"{REGION}a"
    vpc = ec2.describe_vpcs(VpcIds=[out["vpcId"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.20.0.0/16"
    assert {t["Key"]: t["Value"] for t in vpc["Tags"]} == tags
    assert out["vpcTagsAll"] == tags
    assert out["vpcArn"] == f"arn:aws:ec2:{REGION}:{moto.account_id}:vpc/{out['vpcId']}"
    assert ec2.describe_vpc_attribute(VpcId=out["vpcId"], Attribute="enableDnsHostnames")[
        "EnableDnsHostnames"]["Value"] is True
    public = ec2.describe_subnets(SubnetIds=[out["publicSubnetId"]])["Subnets"][0]
    assert public["MapPublicIpOnLaunch"] is True and public["AvailabilityZoneId"] == out["publicSubnetAzId"]
    assert out["natPublicIp"] == out["eipPublicIp"]
    private_rt = ec2.describe_route_tables(RouteTableIds=[out["privateRouteTableId"]])["RouteTables"][0]
    assert {r.get("NatGatewayId") for r in private_rt["Routes"]} >= {out["natId"]}
    assert [a["SubnetId"] for a in private_rt["Associations"]] == [out["privateSubnetId"]]
    assert out["mainRouteTableId"] not in {out["privateRouteTableId"]}

    assert _changes(stack.preview()) == {}  # nothing to do: Diff sees inputs == state
    snapshot = _ec2_snapshot(ec2)
    assert _changes(stack.preview(program=_network_program(tags, with_extra_subnet=True))) == {"create": 1}
    assert _ec2_snapshot(ec2) == snapshot  # a preview creates nothing

    ec2.delete_route(RouteTableId=out["privateRouteTableId"], DestinationCidrBlock="0.0.0.0/0")
    refreshed = stack.refresh()
    assert _changes(refreshed) == {"delete": 1}
    assert _changes(stack.up()) == {"create": 1}
    routes = ec2.describe_route_tables(RouteTableIds=[out["privateRouteTableId"]])["RouteTables"][0]["Routes"]
    assert any(r.get("NatGatewayId") == out["natId"] for r in routes)

    new_tags = {"Name": "net", "team": "b", "cost-center": "42"}  # one changed, one gone, one new
    stack.workspace.program = _network_program(new_tags)
    assert _changes(stack.preview()) == {"update": 8}  # every tagged resource, in place
    assert _changes(stack.up()) == {"update": 8}
    vpc = ec2.describe_vpcs(VpcIds=[out["vpcId"]])["Vpcs"][0]
    assert {t["Key"]: t["Value"] for t in vpc["Tags"]} == new_tags
    nat = ec2.describe_nat_gateways(NatGatewayIds=[out["natId"]])["NatGateways"][0]
    assert {t["Key"]: t["Value"] for t in nat["Tags"]} == new_tags

    stack.destroy()
    assert _ec2_snapshot(ec2) == before
    stack.workspace.remove_stack("network")


# -- eks ----------------------------------------------------------------------------------------
def _assume(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def _eks_program(name: str, version: str, instance_types: list[str], scaling: tuple[int, int, int],
                 endpoint: str) -> Program:
    def program() -> None:
        services = ("ec2", "eks", "iam", "sts")
        provider = _provider(endpoints=[aws.ProviderEndpointArgs(**{s: endpoint for s in services})])
        opts = pulumi.ResourceOptions(provider=provider)
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.30.0.0/16", opts=opts)
        subnets = [aws.ec2.Subnet(f"subnet-{z}", vpc_id=vpc.id, cidr_block=f"10.30.{i}.0/24",
                                  availability_zone=f"{REGION}{z}", opts=opts)
                   for i, z in enumerate("ab")]
        subnet_ids = [s.id for s in subnets]
        roles = {}
        for kind, service in (("cluster", "eks.amazonaws.com"), ("node", "ec2.amazonaws.com")):
            roles[kind] = aws.iam.Role(f"{kind}-role", name=f"{name}-{kind}",
                                       assume_role_policy=_assume(service), tags={"cluster": name}, opts=opts)
            for policy in EKS_POLICIES[kind]:
                aws.iam.RolePolicyAttachment(f"{kind}-{policy.rsplit('/', 1)[-1]}", role=roles[kind].name,
                                             policy_arn=policy, opts=opts)
        admin = aws.iam.Role("admin-role", name=f"{name}-admin",
                             assume_role_policy=_assume("ec2.amazonaws.com"), opts=opts)
        cluster = aws.eks.Cluster(
            "cluster", name=name, role_arn=roles["cluster"].arn, version=version,
            vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=subnet_ids, endpoint_private_access=True,
                                                    endpoint_public_access=True,
                                                    public_access_cidrs=["0.0.0.0/0"]),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False),
            tags={"cluster": name}, opts=opts)
        entry = aws.eks.AccessEntry("admin", cluster_name=cluster.name, principal_arn=admin.arn,
                                    type="STANDARD", opts=opts)
        aws.eks.AccessPolicyAssociation(
            "admin", cluster_name=cluster.name, principal_arn=admin.arn, policy_arn=ADMIN_POLICY,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions(provider=provider, depends_on=[entry]))
        nodes = aws.eks.NodeGroup(
            "nodes", cluster_name=cluster.name,
            node_group_name="ng-" + "-".join(instance_types).replace(".", ""),  # new types, new name
            node_role_arn=roles["node"].arn, subnet_ids=subnet_ids, instance_types=instance_types,
            ami_type="AL2023_ARM_64_STANDARD", disk_size=20, capacity_type="ON_DEMAND",
            version=cluster.version,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=scaling[0], max_size=scaling[1],
                                                              desired_size=scaling[2]),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels={"pool": "system"}, tags={"cluster": name}, opts=opts)
        issuer = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)  # type: ignore[index]
        oidc = aws.iam.OpenIdConnectProvider("oidc", url=issuer, client_id_lists=["sts.amazonaws.com"],
                                             thumbprint_lists=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
                                             opts=opts)
        addons = {a: aws.eks.Addon(a, cluster_name=cluster.name, addon_name=a,
                                   resolve_conflicts_on_create="OVERWRITE",
                                   resolve_conflicts_on_update="OVERWRITE",
                                   opts=pulumi.ResourceOptions(provider=provider, depends_on=[nodes]))
                  for a in ("vpc-cni", "kube-proxy")}
        pulumi.export("version", cluster.version)
        pulumi.export("endpoint", cluster.endpoint)
        pulumi.export("status", cluster.status)
        pulumi.export("caData", cluster.certificate_authority.apply(lambda ca: ca.data))
        pulumi.export("issuer", issuer)
        pulumi.export("oidcArn", oidc.arn)
        pulumi.export("clusterSecurityGroupId", cluster.vpc_config.cluster_security_group_id)
        pulumi.export("clusterVpcId", cluster.vpc_config.vpc_id)
        pulumi.export("vpcId", vpc.id)
        pulumi.export("nodeGroupName", nodes.node_group_name)
        pulumi.export("nodeGroupId", nodes.id)
        pulumi.export("nodeGroupVersion", nodes.version)
        pulumi.export("vpcCniVersion", addons["vpc-cni"].addon_version)
        pulumi.export("accessEntryArn", entry.access_entry_arn)

    return program


def test_eks_lifecycle(moto: moto_server.MotoServer, pulumi_bin: pathlib.Path,
                       tmp_path: pathlib.Path) -> None:
    eks, iam, ec2 = _client(moto, "eks"), _client(moto, "iam"), _client(moto, "ec2")
    name = f"fy-{uuid.uuid4().hex[:6]}"
    # Only the provider's `endpoints` may reach moto: the standard setting points at a dead port.
    stacks = Stacks(tmp_path, pulumi_bin, {**moto.env(), "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    before = _ec2_snapshot(ec2)

    def program(version: str, types: list[str], scaling: tuple[int, int, int]) -> Program:
        return _eks_program(name, version, types, scaling, moto.endpoint)

    stack = stacks.stack("eks", program("1.31", ["m7g.large"], (1, 3, 2)))
    out = {k: v.value for k, v in stack.up().outputs.items()}
    cluster = eks.describe_cluster(name=name)["cluster"]
    assert out["endpoint"] == cluster["endpoint"] and out["status"] == "ACTIVE"
    assert out["caData"] == cluster["certificateAuthority"]["data"]
    assert out["version"] == "1.31" and out["nodeGroupVersion"] == "1.31"
    assert out["issuer"].startswith(f"https://oidc.eks.{REGION}.amazonaws.com/id/")
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=out["oidcArn"])["Url"] == (
        out["issuer"].removeprefix("https://"))
    assert out["clusterVpcId"] == out["vpcId"]
    assert ec2.describe_security_groups(GroupIds=[out["clusterSecurityGroupId"]])["SecurityGroups"]
    assert out["nodeGroupName"] == "ng-m7glarge" and out["nodeGroupId"] == f"{name}:ng-m7glarge"
    attached = iam.list_attached_role_policies(RoleName=f"{name}-node")["AttachedPolicies"]
    assert {p["PolicyArn"] for p in attached} == set(EKS_POLICIES["node"])
    entry = fake_aws_state.cluster(stacks.state(), REGION, name)
    assert entry["version"] == "1.31"
    assert entry["addons"]["vpc-cni"]["addonVersion"] == out["vpcCniVersion"] == "v1.19.2-eksbuild.1"
    assert entry["addons"]["kube-proxy"]["addonVersion"] == "v1.31.0-eksbuild.1"
    admin_arn = f"arn:aws:iam::{moto.account_id}:role/{name}-admin"
    assert entry["accessEntries"][admin_arn]["accessEntryArn"] == out["accessEntryArn"]
    assert entry["accessEntries"][admin_arn]["policies"][ADMIN_POLICY]["accessScope"]["type"] == "cluster"
    admin_id = iam.get_role(RoleName=f"{name}-admin")["Role"]["RoleId"]
    assert entry["accessEntries"][admin_arn]["principalId"] == admin_id  # EKS keeps the principal's id

    stack.workspace.program = program("1.32", ["m7g.large"], (2, 5, 3))
    assert _changes(stack.up()) == {"update": 2}  # the cluster and the node group, in place
    ng = eks.describe_nodegroup(clusterName=name, nodegroupName="ng-m7glarge")["nodegroup"]
    assert ng["scalingConfig"] == {"minSize": 2, "maxSize": 5, "desiredSize": 3}
    entry = fake_aws_state.cluster(stacks.state(), REGION, name)
    assert entry["version"] == "1.32" and entry["nodegroups"]["ng-m7glarge"]["version"] == "1.32"
    assert stack.outputs()["version"].value == "1.32"

    events: list[auto.EngineEvent] = []
    stack.workspace.program = program("1.32", ["m7g.xlarge"], (2, 5, 3))
    assert _changes(stack.up(on_event=events.append)) == {"replace": 1}
    ops = _ops(events, "aws:eks/nodeGroup:NodeGroup")
    assert ops.index(("done", "create-replacement")) < ops.index(("pre", "delete-replaced")), ops
    assert eks.list_nodegroups(clusterName=name)["nodegroups"] == ["ng-m7gxlarge"]
    assert stack.outputs()["nodeGroupName"].value == "ng-m7gxlarge"

    stack.destroy()
    assert name not in eks.list_clusters()["clusters"]
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(name)]
    assert not iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert fake_aws_state.cluster(stacks.state(), REGION, name) == {}
    assert _ec2_snapshot(ec2) == before
    stack.workspace.remove_stack("eks")


# -- assume role with IAM access control on -----------------------------------------------------
def _customer_role(server: moto_server.MotoServer, external_id: str) -> str:
    iam = _client(server, "iam")
    role_name = f"customer-{uuid.uuid4().hex[:6]}"
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": server.operator_user_arn}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]}
    arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role_name, PolicyName="provisioning", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "eks:*", "iam:*"], "Resource": "*"}]}))
    return str(arn)


def _assumed_program(role_arn: str, external_id: str, name: str) -> Program:
    def program() -> None:
        provider = _provider(assume_roles=[aws.ProviderAssumeRoleArgs(
            role_arn=role_arn, external_id=pulumi.Output.secret(external_id), session_name="fleetyard-test")])
        opts = pulumi.ResourceOptions(provider=provider)
        me = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider))
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.40.0.0/16", tags={"Name": name}, opts=opts)
        subnet = aws.ec2.Subnet("subnet", vpc_id=vpc.id, cidr_block="10.40.0.0/24", opts=opts)
        role = aws.iam.Role("cluster-role", name=f"{name}-cluster",
                            assume_role_policy=_assume("eks.amazonaws.com"), opts=opts)
        aws.iam.RolePolicyAttachment("cluster-policy", role=role.name, policy_arn=EKS_POLICIES["cluster"][0],
                                     opts=opts)
        cluster = aws.eks.Cluster("cluster", name=name, role_arn=role.arn, version="1.32",
                                  vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=[subnet.id]), opts=opts)
        pulumi.export("callerArn", me.arn)
        pulumi.export("clusterArn", cluster.arn)

    return program


def test_assume_role_with_external_id(moto_iam: moto_server.MotoServer, pulumi_bin: pathlib.Path,
                                      tmp_path: pathlib.Path) -> None:
    role_arn = _customer_role(moto_iam, "ext-right")
    role_name = role_arn.rsplit("/", 1)[-1]
    name = f"fy-{uuid.uuid4().hex[:6]}"
    ec2, eks = _client(moto_iam, "ec2"), _client(moto_iam, "eks")
    stacks = Stacks(tmp_path, pulumi_bin, moto_iam.env())
    before = _ec2_snapshot(ec2)

    wrong = stacks.stack("wrong-id", _assumed_program(role_arn, "ext-wrong", name))
    with pytest.raises(auto.CommandError, match="AccessDenied"):
        wrong.up()
    assert _ec2_snapshot(ec2) == before

    stack = stacks.stack("assumed", _assumed_program(role_arn, "ext-right", name))
    out = {k: v.value for k, v in stack.up().outputs.items()}
    assert out["callerArn"] == f"arn:aws:sts::{moto_iam.account_id}:assumed-role/{role_name}/fleetyard-test"
    assert eks.describe_cluster(name=name)["cluster"]["arn"] == out["clusterArn"]
    checkpoint = next((tmp_path / "backend").glob("**/assumed.json")).read_text()
    assert "ext-right" not in checkpoint and '"ciphertext"' in checkpoint  # the external id stays secret

    stack.destroy()
    assert name not in eks.list_clusters()["clusters"]
    assert _ec2_snapshot(ec2) == before
    stack.workspace.remove_stack("assumed")
    wrong.workspace.remove_stack("wrong-id", force=True)
