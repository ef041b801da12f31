"""Applies the sample organizations in `examples/` to a local environment, one namespace each.

Used by `fleetyard dev up` and by the examples e2e tests. The manifests are applied exactly as they
are in git (a GitOps tool could apply them too); `prepare_organization` first does what the
customer and the platform engineer do outside of them. As the customer it deploys fleetyard's
connection template into moto as the stack the example's Connection names (the test bed's moto
derives stack ids from stack names, and its account is the examples' 123456789012), once per
environment: every namespace the same organization is applied to shares that role. As the platform
engineer it creates the external-id Secret the Connection refers to, with an id generated for the
environment and kept in its state dir (mode 0600), never in git.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from typing import Any

import boto3
import yaml

from fleetyard import onboarding
from fleetyard.devenv import customer_account, environment
from fleetyard.kube import apply as kube_apply
from fleetyard.models import kinds

EXTERNAL_IDS_DIR = "sample-external-ids"


@dataclasses.dataclass(frozen=True)
class SampleAccount:
    """The customer stack an example's Connection names."""

    account_id: str
    region: str
    role_name: str
    stack_name: str
    stack_arn: str
    secret_name: str
    secret_key: str


def organizations(examples: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in examples.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def documents(org: pathlib.Path) -> list[dict[str, Any]]:
    return [d for p in sorted(org.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]


def sample_account(docs: list[dict[str, Any]]) -> SampleAccount:
    config = next(d for d in docs if d.get("kind") == kinds.CONNECTION.kind)["spec"]["providerConfig"]
    region, account, stack_name = onboarding.check_stack_arn(config["stackArn"])
    role = re.fullmatch(r"arn:aws[a-z-]*:iam::([0-9]{12}):role/(.+)", config["roleArn"])
    if role is None or role.group(1) != account or config["accountId"] != account:
        raise ValueError(f"the sample Connection's accountId, roleArn and stackArn name different accounts: {config}")
    ref = config["externalIdSecretRef"]
    return SampleAccount(account, region, role.group(2), stack_name, config["stackArn"], ref["name"],
                         ref.get("key", onboarding.SECRET_KEY))


def _external_id(env: environment.Environment, stack_name: str) -> str:
    path = env.state_dir / EXTERNAL_IDS_DIR / stack_name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(onboarding.new_external_id())
    return path.read_text().strip()


def _existing_stack_arn(env: environment.Environment, account: SampleAccount) -> str | None:
    aws = env.aws_env()
    cfn = boto3.client("cloudformation", endpoint_url=aws["AWS_ENDPOINT_URL"], region_name=account.region,
                       aws_access_key_id=aws["AWS_ACCESS_KEY_ID"], aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"])
    stacks = cfn.list_stacks(StackStatusFilter=["CREATE_COMPLETE", "UPDATE_COMPLETE"])["StackSummaries"]
    return next((s["StackId"] for s in stacks if s["StackName"] == account.stack_name), None)


def ensure_customer_stack(env: environment.Environment, account: SampleAccount) -> str:
    """Deploys the connection template as the sample's stack unless it is there; returns the external id."""
    if account.account_id != env.moto.account_id:
        raise ValueError(f"the sample Connection is in account {account.account_id}; moto's is {env.moto.account_id}")
    external_id = _external_id(env, account.stack_name)
    stack_arn = _existing_stack_arn(env, account)
    if stack_arn is None:
        stack_arn = customer_account.deploy_connection_stack(
            {**env.aws_env(), "AWS_REGION": account.region}, env.moto.operator_user_arn, external_id,
            account.role_name, stack_name=account.stack_name).stack_arn
    if stack_arn != account.stack_arn:
        raise RuntimeError(f"moto created {stack_arn}, but the sample names {account.stack_arn}: the sample's stack "
                           "id must be the one the test bed derives from the stack name (devenv/moto_main.py)")
    return external_id


def prepare_organization(env: environment.Environment, org: pathlib.Path, namespace: str | None = None) -> str:
    """The namespace, the customer's stack and the external-id Secret: all the org's manifests need."""
    namespace = namespace or org.name
    account = sample_account(documents(org))
    external_id = ensure_customer_stack(env, account)
    kube_apply.ensure_namespace(env.api, namespace, {"fleetyard.io/organization": org.name})
    kube_apply.apply(env.api, [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": account.secret_name},
                                "stringData": {account.secret_key: external_id}}], namespace)
    return namespace


def apply_organization(env: environment.Environment, org: pathlib.Path, namespace: str | None = None) -> str:
    namespace = prepare_organization(env, org, namespace)
    kube_apply.apply(env.api, documents(org), namespace)
    return namespace
