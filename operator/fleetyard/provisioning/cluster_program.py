"""The Pulumi program of a ProvisionedCluster: an EKS cluster from `aws.eks.*` primitives.

Pure production code (`pulumi_aws` and the job's typed args, no operator I/O); the worker calls
`cluster_program(args)` inside an Automation API inline program. It reads the ProvisionedCluster's
own `ClusterConfig` (`args.config`): a node-group field added to `models.provisioned_cluster.NodeGroup`
is read here, where it is used. Builds the IAM roles, the EKS
control plane (authentication mode API, an access entry for the Connection's role so the operator
can reach the cluster, and one per member principal of the Teams it names, with the access policy
and scope of `models.team_access`), the managed system node group, the IAM OIDC provider, a job-runner role
trusted by that provider for one service account, and the core addons.

The node group's name carries a digest of what EKS cannot change in place (instance types, disk,
AMI type), so such a change creates a new node group before the old one is deleted: the cluster is
never without system nodes.
"""

from __future__ import annotations

import hashlib
import json
import re

import pulumi
import pulumi_aws as aws

from fleetyard.models import provisioned_cluster, team_access
from fleetyard.provisioning import aws_provider, job, node_images

CORE_ADDONS = ("vpc-cni", "kube-proxy", "coredns")
JOB_RUNNER_SERVICE_ACCOUNT = ("fleetyard-system", "job-runner")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
CLUSTER_POLICIES = ("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",)
NODE_POLICIES = ("arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                 "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
                 "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly")
# Pulumi types of what an access-entries-only update touches (the worker targets these alone).
ACCESS_TYPES = ("aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
MEMBER_PREFIX = "member-"
# The root CA of the EKS OIDC endpoints; IAM no longer checks it but the API still takes one.
OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


def node_group_name(group: provisioned_cluster.NodeGroup) -> str:
    """`<name>-<digest>`: a new name whenever a replacement is needed, so the new group comes first."""
    fixed = json.dumps([sorted(group.instanceTypes), group.diskSizeGb, node_images.ami_type(group.instanceTypes)])
    return f"{group.name}-{hashlib.sha256(fixed.encode()).hexdigest()[:8]}"


def _assume_policy(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def _role(name: str, role_name: str, assume: pulumi.Input[str], policies: tuple[str, ...],
          tags: dict[str, str], opts: pulumi.ResourceOptions) -> aws.iam.Role:
    role = aws.iam.Role(name, name=role_name, assume_role_policy=assume, tags=tags, opts=opts)
    for policy in policies:
        aws.iam.RolePolicyAttachment(f"{name}-{policy.rsplit('/', 1)[-1]}", role=role.name, policy_arn=policy,
                                     opts=opts)
    return role


def member_name(principal_arn: str) -> str:
    """A member's access entry's resource name: readable (the role or user name) and unique (a digest
    of the whole ARN), stable for the principal's lifetime."""
    short = re.sub(r"[^A-Za-z0-9-]+", "-", principal_arn.rsplit("/", 1)[-1])[:40].strip("-")
    return f"{MEMBER_PREFIX}{short}-{hashlib.sha256(principal_arn.encode()).hexdigest()[:8]}"


def member_resource_names(grant: team_access.EntryGrant) -> list[tuple[str, str]]:
    """(type, name) of the resources one member's entry is made of."""
    name = member_name(grant.principal_arn)
    return [(ACCESS_TYPES[0], name)] + [(ACCESS_TYPES[1], f"{name}-{p.policy_arn.rsplit('/', 1)[-1]}")
                                        for p in grant.policies]


def _member_entries(cluster: aws.eks.Cluster, grants: list[team_access.EntryGrant], tags: dict[str, str],
                    provider: aws.Provider) -> None:
    for grant in grants:
        (_, entry_name), *associations = member_resource_names(grant)
        entry = aws.eks.AccessEntry(entry_name, cluster_name=cluster.name, principal_arn=grant.principal_arn,
                                    type="STANDARD", tags=tags, opts=pulumi.ResourceOptions(provider=provider))
        for (_, name), policy in zip(associations, grant.policies):
            scope = (aws.eks.AccessPolicyAssociationAccessScopeArgs(type="namespace", namespaces=list(policy.namespaces))
                     if policy.namespaces else aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"))
            aws.eks.AccessPolicyAssociation(
                name, cluster_name=cluster.name, principal_arn=entry.principal_arn, policy_arn=policy.policy_arn,
                access_scope=scope, opts=pulumi.ResourceOptions(provider=provider, depends_on=[entry]))


def _job_runner_trust(provider_arn: str, issuer: str) -> str:
    host = issuer.removeprefix("https://")
    namespace, account = JOB_RUNNER_SERVICE_ACCOUNT
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:sub": f"system:serviceaccount:{namespace}:{account}",
                                       f"{host}:aud": "sts.amazonaws.com"}}}]})


def cluster_program(args: job.ClusterArgs) -> None:
    provider = aws_provider.provider(args.account)
    opts = pulumi.ResourceOptions(provider=provider)
    tags = aws_provider.tags(args.account, **{"fleetyard.io/cluster-id": args.cluster_id})
    config = args.config
    group = config.systemNodeGroup
    role_arn = args.account.access.role_arn

    cluster_role = _role("cluster-role", f"{args.role_prefix}-cluster", _assume_policy("eks.amazonaws.com"),
                         CLUSTER_POLICIES, tags, opts)
    node_role = _role("node-role", f"{args.role_prefix}-node", _assume_policy("ec2.amazonaws.com"),
                      NODE_POLICIES, tags, opts)

    cluster = aws.eks.Cluster(
        "cluster", name=args.cluster_name, role_arn=cluster_role.arn, version=config.kubernetesVersion,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=[*args.private_subnet_ids, *args.public_subnet_ids],
            endpoint_private_access=True, endpoint_public_access=True,
            public_access_cidrs=config.publicAccessCidrs or ["0.0.0.0/0"]),
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False),
        tags=tags, opts=opts)

    operator_entry = aws.eks.AccessEntry(
        "operator-access", cluster_name=cluster.name, principal_arn=role_arn, type="STANDARD",
        tags=tags, opts=opts)
    aws.eks.AccessPolicyAssociation(
        "operator-admin", cluster_name=cluster.name, principal_arn=role_arn,
        policy_arn=CLUSTER_ADMIN_POLICY, access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[operator_entry]))

    _member_entries(cluster, list(args.access_entries), tags, provider)

    nodes = aws.eks.NodeGroup(
        "system-nodes", cluster_name=cluster.name, node_group_name=node_group_name(group),
        node_role_arn=node_role.arn, subnet_ids=list(args.private_subnet_ids),
        instance_types=list(group.instanceTypes), ami_type=node_images.ami_type(group.instanceTypes),
        disk_size=group.diskSizeGb, version=cluster.version,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=group.minSize, max_size=group.maxSize, desired_size=group.desiredSize),
        labels={"fleetyard.io/node-group": group.name}, tags=tags,
        opts=opts)

    issuer = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
    oidc = aws.iam.OpenIdConnectProvider(
        "oidc", url=issuer, client_id_lists=["sts.amazonaws.com"], thumbprint_lists=[OIDC_THUMBPRINT],
        tags=tags, opts=opts)
    job_runner = aws.iam.Role(
        "job-runner", name=f"{args.role_prefix}-jr",
        assume_role_policy=pulumi.Output.all(oidc.arn, issuer).apply(lambda a: _job_runner_trust(a[0], a[1])),
        tags=tags, opts=opts)

    for addon in CORE_ADDONS:
        aws.eks.Addon(addon, cluster_name=cluster.name, addon_name=addon,
                      resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE", tags=tags,
                      opts=pulumi.ResourceOptions(provider=provider, depends_on=[nodes]))

    pulumi.export("clusterName", cluster.name)
    pulumi.export("clusterArn", cluster.arn)
    pulumi.export("kubernetesVersion", cluster.version)
    pulumi.export("endpoint", cluster.endpoint)
    pulumi.export("certificateAuthorityData", cluster.certificate_authority.apply(lambda ca: ca.data))
    pulumi.export("oidcIssuer", issuer)
    pulumi.export("oidcProviderArn", oidc.arn)
    pulumi.export("jobRunnerRoleArn", job_runner.arn)
    pulumi.export("nodeGroupName", nodes.node_group_name)
    pulumi.export("clusterRoleArn", cluster_role.arn)
    pulumi.export("nodeRoleArn", node_role.arn)
