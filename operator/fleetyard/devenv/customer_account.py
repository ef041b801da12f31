"""Plays the customer's side in the local environment: deploys the connection template into moto.

Used by `fleetyard dev up` (the sample Connection) and the tests. It creates the role the way a
customer would, with fleetyard's shipped CloudFormation template, and the external-id secret.
"""

from __future__ import annotations

import dataclasses
import time

import boto3

from fleetyard.connections import template as connection_template


@dataclasses.dataclass(frozen=True)
class ConnectionRole:
    role_arn: str
    stack_arn: str
    account_id: str


def _client(aws_env: dict[str, str], service: str) -> object:
    return boto3.client(service, endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name=aws_env["AWS_REGION"],
                        aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"])


def deploy_connection_stack(aws_env: dict[str, str], principal_arn: str, external_id: str, role_name: str,
                            template: str | None = None, timeout: float = 30,
                            stack_name: str | None = None) -> ConnectionRole:
    cfn = _client(aws_env, "cloudformation")
    stack_name = stack_name or f"fleetyard-connection-{role_name}".lower()
    stack_arn = cfn.create_stack(  # type: ignore[attr-defined]
        StackName=stack_name, TemplateBody=template or connection_template.body(), Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": "FleetyardPrincipalArn", "ParameterValue": principal_arn},
                    {"ParameterKey": "ExternalId", "ParameterValue": external_id},
                    {"ParameterKey": "RoleName", "ParameterValue": role_name}])["StackId"]
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_arn)["Stacks"][0]  # type: ignore[attr-defined]
        if stack["StackStatus"] == "CREATE_COMPLETE":
            break
        if stack["StackStatus"].endswith("FAILED") or "ROLLBACK" in stack["StackStatus"] or time.monotonic() > deadline:
            raise RuntimeError(f"connection stack {stack_name} ended {stack['StackStatus']}")
        time.sleep(0.2)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    role_arn = outputs["RoleArn"]
    return ConnectionRole(role_arn, stack_arn, role_arn.split(":")[4])


def create_external_id_secret(aws_env: dict[str, str], name: str, external_id: str) -> str:
    return str(_client(aws_env, "secretsmanager").create_secret(  # type: ignore[attr-defined]
        Name=name, SecretString=external_id)["ARN"])
