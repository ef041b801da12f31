"""Applies the sample organizations in `examples/` to a local environment, one namespace each.

Used by `fleetyard dev up` and by the examples e2e test. For each organization it first plays the
customer: deploys fleetyard's connection template into moto with the external id from the
sample Secret, then fills ${ROLE_ARN}, ${STACK_ARN} and ${ACCOUNT_ID} in the manifests.
"""

from __future__ import annotations

import pathlib
import string
from typing import Any

import yaml

from fleetyard.devenv import customer_account, environment
from fleetyard.kube import apply as kube_apply


def organizations(examples: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in examples.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def _text(org: pathlib.Path) -> str:
    return "\n---\n".join(p.read_text() for p in sorted(org.glob("*.yaml")))


def _external_id(docs: list[dict[str, Any]]) -> str:
    connection = next(d for d in docs if d.get("kind") == "Connection")
    ref = connection["spec"]["providerConfig"]["externalIdSecretRef"]
    secret = next(d for d in docs if d.get("kind") == "Secret" and d["metadata"]["name"] == ref["name"])
    return str(secret["stringData"][ref.get("key", "value")])


def apply_organization(env: environment.Environment, org: pathlib.Path, namespace: str | None = None) -> str:
    namespace = namespace or org.name
    raw = _text(org)
    docs = [d for d in yaml.safe_load_all(raw) if d]
    role = customer_account.deploy_connection_stack(
        env.aws_env(), env.moto.operator_user_arn, _external_id(docs), f"Fleetyard-{namespace}")
    filled = string.Template(raw).substitute(ROLE_ARN=role.role_arn, STACK_ARN=role.stack_arn,
                                             ACCOUNT_ID=role.account_id)
    kube_apply.ensure_namespace(env.api, namespace, {"fleetyard.io/organization": org.name})
    kube_apply.apply(env.api, [d for d in yaml.safe_load_all(filled) if d], namespace)
    return namespace
