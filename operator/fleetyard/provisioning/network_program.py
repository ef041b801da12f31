"""The Pulumi program of a Network: a VPC with public and private subnets across up to three zones.

Pure production code (`pulumi_aws` and the job's typed args, no operator I/O); the worker calls
`network_program(args)` inside an Automation API inline program. It reads the Network's own
`NetworkConfig` (`args.config`). Outputs are what the operator
copies into the Network's status (`providerNetworkId`, `iacOutputs`) and what cluster programs
need (subnet ids).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from fleetyard.provisioning import aws_provider, job, subnets


def network_program(args: job.NetworkArgs) -> None:
    provider = aws_provider.provider(args.account)
    opts = pulumi.ResourceOptions(provider=provider)
    cidr = args.config.cidr

    def tags(name: str, **extra: str) -> dict[str, str]:
        return aws_provider.tags(args.account, **{"fleetyard.io/network-id": args.network_id,
                                               "Name": f"{args.name}-{name}", **extra})

    zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(provider=provider))
    layout = subnets.plan(cidr, list(zones.names))

    vpc = aws.ec2.Vpc("vpc", cidr_block=cidr, enable_dns_hostnames=True, enable_dns_support=True,
                      tags=tags("vpc"), opts=opts)
    igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id, tags=tags("igw"), opts=opts)
    public_rt = aws.ec2.RouteTable("public", vpc_id=vpc.id, tags=tags("public"), opts=opts)
    aws.ec2.Route("public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                  gateway_id=igw.id, opts=opts)

    public_ids: list[pulumi.Output[str]] = []
    private_ids: list[pulumi.Output[str]] = []
    nat_ids: list[pulumi.Output[str]] = []
    for index, plan in enumerate(layout):
        public = aws.ec2.Subnet(
            f"public-{plan.zone}", vpc_id=vpc.id, cidr_block=plan.public_cidr, availability_zone=plan.zone,
            map_public_ip_on_launch=True, tags=tags(f"public-{plan.zone}", **{"kubernetes.io/role/elb": "1"}),
            opts=opts)
        aws.ec2.RouteTableAssociation(f"public-{plan.zone}", subnet_id=public.id, route_table_id=public_rt.id,
                                      opts=opts)
        private = aws.ec2.Subnet(
            f"private-{plan.zone}", vpc_id=vpc.id, cidr_block=plan.private_cidr, availability_zone=plan.zone,
            tags=tags(f"private-{plan.zone}", **{"kubernetes.io/role/internal-elb": "1"}), opts=opts)
        if index == 0 or args.config.natGateways == "OnePerAz":
            eip = aws.ec2.Eip(f"nat-{plan.zone}", domain="vpc", tags=tags(f"nat-{plan.zone}"), opts=opts)
            nat = aws.ec2.NatGateway(f"nat-{plan.zone}", allocation_id=eip.id, subnet_id=public.id,
                                     tags=tags(f"nat-{plan.zone}"),
                                     opts=pulumi.ResourceOptions(provider=provider, depends_on=[igw]))
            nat_ids.append(nat.id)
        private_rt = aws.ec2.RouteTable(f"private-{plan.zone}", vpc_id=vpc.id, tags=tags(f"private-{plan.zone}"),
                                        opts=opts)
        aws.ec2.Route(f"private-{plan.zone}-default", route_table_id=private_rt.id,
                      destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat_ids[-1], opts=opts)
        aws.ec2.RouteTableAssociation(f"private-{plan.zone}", subnet_id=private.id, route_table_id=private_rt.id,
                                      opts=opts)
        public_ids.append(public.id)
        private_ids.append(private.id)

    pulumi.export("vpcId", vpc.id)
    pulumi.export("cidr", cidr)
    pulumi.export("availabilityZones", ",".join(p.zone for p in layout))
    pulumi.export("publicSubnetIds", pulumi.Output.all(*public_ids).apply(",".join))
    pulumi.export("privateSubnetIds", pulumi.Output.all(*private_ids).apply(",".join))
    pulumi.export("natGatewayIds", pulumi.Output.all(*nat_ids).apply(",".join))
