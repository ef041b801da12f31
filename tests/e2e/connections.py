"""Connection helpers shared by the e2e tests: a customer role deployed into moto, the external-id
Secret, a Connection pointing at both, and waiting for its phase."""

from __future__ import annotations

import base64
import json
import uuid

from fleetyard.devenv import customer_account
from fleetyard.models import kinds
from tests.conftest import create, get, wait_for
from tests.e2e import infra

EXTERNAL_ID = "fy-ext-" + uuid.uuid4().hex


def deploy_role(env, prefix: str = "FleetyardConnection") -> customer_account.ConnectionRole:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return customer_account.deploy_connection_stack(env.aws_env(), env.moto.operator_user_arn, EXTERNAL_ID, name)


def trusted_role(env, prefix: str) -> tuple[str, customer_account.ConnectionRole]:
    """A role made by hand (not from fleetyard's template) that fleetyard may assume with the external id
    and that may do nothing yet: the caller attaches what it may do. Returns its name and the role."""
    iam = infra.aws(env, "iam")
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": env.moto.operator_user_arn}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return name, customer_account.ConnectionRole(arn, "", env.moto.account_id)


def secret(core, namespace: str, name: str, value: str) -> None:
    core.create_namespaced_secret(namespace, {"metadata": {"name": name},
                                              "data": {"value": base64.b64encode(value.encode()).decode()}})


def connection(custom, namespace, role, name="prod", **provider) -> dict:
    config = {"accountId": role.account_id, "region": "us-east-1", "roleArn": role.role_arn,
              "stackArn": role.stack_arn, **provider}
    if not config["stackArn"]:
        del config["stackArn"]  # a role made by hand, not from fleetyard's template
    if "externalIdSecretArn" not in config and "externalIdSecretRef" not in config:
        config["externalIdSecretRef"] = {"name": "ext-id"}
    return create(custom, namespace, kinds.CONNECTION, {"metadata": {"name": name},
                                                         "spec": {"displayName": "Prod", "providerConfig": config}})


def status_when(custom, namespace, phase, name="prod", timeout=40) -> dict:
    def probe():
        status = get(custom, namespace, kinds.CONNECTION, name).get("status") or {}
        return status if status.get("status") == phase else None
    return wait_for(probe, timeout, f"Connection {name} to be {phase}")


def organization(env, prefix: str) -> str:
    """A fresh namespace with an active Connection `prod` (role in moto, external-id Secret)."""
    import kubernetes

    from fleetyard.kube import apply as kube_apply

    namespace = f"{prefix}-{uuid.uuid4().hex[:6]}"
    kube_apply.ensure_namespace(env.api, namespace)
    custom = kubernetes.client.CustomObjectsApi(env.api)
    secret(kubernetes.client.CoreV1Api(env.api), namespace, "ext-id", EXTERNAL_ID)
    connection(custom, namespace, deploy_role(env))
    status_when(custom, namespace, "active")
    return namespace
