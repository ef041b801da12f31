"""The `aws.Provider` of a Pulumi run: the customer's account, reached through the Connection's role.

Called by the programs with their `job.Account`: the same `customer_session.Access` (role, external
id, session name, region) every other call in that account assumes, here handed to the provider's
own assume-role. Every resource of a run uses this explicit provider (no default provider, so
nothing can land in the operator's own account by accident). Endpoints follow the standard AWS
settings: when `AWS_ENDPOINT_URL` is set (moto in development) the provider is pointed there.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from fleetyard.provisioning import job

ENDPOINT_SERVICES = ("ec2", "eks", "iam", "sts")
PROVIDER_NAME = "customer"


def provider(account: job.Account) -> aws.Provider:
    endpoints = None
    if account.endpoint_url:
        endpoints = [aws.ProviderEndpointArgs(**{svc: account.endpoint_url for svc in ENDPOINT_SERVICES})]
    access = account.access
    return aws.Provider(
        PROVIDER_NAME,
        region=access.region,
        assume_roles=[aws.ProviderAssumeRoleArgs(
            role_arn=access.role_arn,
            external_id=pulumi.Output.secret(access.external_id),
            session_name=access.session_name,
        )],
        endpoints=endpoints,
        skip_credentials_validation=bool(account.endpoint_url),
        skip_requesting_account_id=bool(account.endpoint_url),
        skip_metadata_api_check=True,
    )


def tags(account: job.Account, **extra: str) -> dict[str, str]:
    return {"fleetyard.io/organization": account.organization, "managed-by": "fleetyard", **extra}
