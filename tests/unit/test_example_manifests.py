"""examples/ can be applied as they are (by kubectl or a GitOps tool): no placeholders, no secrets,
every spec valid, and the customer's values consistent and explained where they stand."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from fleetyard.devenv import samples
from fleetyard.models import kinds

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
ORGS = samples.organizations(EXAMPLES)
BY_KIND = {k.kind: k for k in kinds.ALL}


def test_there_are_sample_organizations() -> None:
    assert len(ORGS) >= 2


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.yaml")), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_file_is_applicable_as_it_is(path: pathlib.Path) -> None:
    text = path.read_text()
    assert "${" not in text, f"{path} has a placeholder"
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        assert doc["kind"] != "Secret", f"{path}: no Secret in git (the external id is created out of band)"
        assert doc["apiVersion"] == kinds.API_VERSION and doc["kind"] in BY_KIND, doc["kind"]
        assert "namespace" not in doc["metadata"], "the folder is the namespace"
        BY_KIND[doc["kind"]].spec.model_validate(doc["spec"])


@pytest.mark.parametrize("org", ORGS, ids=lambda p: p.name)
def test_sample_connection_is_one_customer_stack(org: pathlib.Path) -> None:
    docs = samples.documents(org)
    account = samples.sample_account(docs)  # raises when account, role and stack disagree
    assert account.account_id == "123456789012", "the test bed's moto account"
    assert account.stack_name == f"fleetyard-connection-{org.name}"
    text = (org / "connection.yaml").read_text()
    for said in ("stack's RoleArn output", "stack's ARN (StackId)", "account id", "fleetyard connection manifest",
                 f"kubectl create secret generic {account.secret_name} -n {org.name}"):
        assert said in text, f"{org.name}/connection.yaml does not say where a value comes from: {said!r}"


def test_sample_organizations_use_different_roles() -> None:
    accounts = [samples.sample_account(samples.documents(org)) for org in ORGS]
    assert len({a.role_name for a in accounts}) == len({a.stack_arn for a in accounts}) == len(ORGS)
