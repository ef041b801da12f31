"""Where a Pulumi program builds: the customer's account, reached through the Connection's role.

`AwsTarget` is plain data handed from the runner to a program; `provider()` turns it into the
explicit `aws.Provider` every resource of a run uses (no default provider, so nothing can land in
the operator's own account by accident). Endpoints follow the standard AWS settings: when
`AWS_ENDPOINT_URL` is set (moto in development) the provider is pointed there.
"""

from __future__ import annotations

import dataclasses

import pulumi
import pulumi_aws as aws

ENDPOINT_SERVICES = ("ec2", "eks", "iam", "sts")


@dataclasses.dataclass(frozen=True)
class AwsTarget:
    region: str
    role_arn: str
    external_id: str
    session_name: str
    organization: str
    endpoint_url: str | None = None


def provider(target: AwsTarget) -> aws.Provider:
    endpoints = None
    if target.endpoint_url:
        endpoints = [aws.ProviderEndpointArgs(**{svc: target.endpoint_url for svc in ENDPOINT_SERVICES})]
    return aws.Provider(
        "customer",
        region=target.region,
        assume_roles=[aws.ProviderAssumeRoleArgs(
            role_arn=target.role_arn,
            external_id=pulumi.Output.secret(target.external_id),
            session_name=target.session_name,
        )],
        endpoints=endpoints,
        skip_credentials_validation=bool(target.endpoint_url),
        skip_requesting_account_id=bool(target.endpoint_url),
        skip_metadata_api_check=True,
    )


def tags(target: AwsTarget, **extra: str) -> dict[str, str]:
    return {"fleetyard.io/organization": target.organization, "managed-by": "fleetyard", **extra}
