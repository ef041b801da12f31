"""`fleetyard connection template | manifest` without AWS: what the person onboarding an account sees."""

from __future__ import annotations

import io
import logging
import shlex

import pytest
import yaml

from fleetyard import cli, onboarding
from fleetyard.connections import template as connection_template
from fleetyard.cloud import cloudformation
from fleetyard.models import connection

PRINCIPAL = "arn:aws:iam::111122223333:role/fleetyard-operator"
STACK_ARN = "arn:aws:cloudformation:eu-west-1:444455556666:stack/fleetyard-connection/6f1c2e0a-8d4b-4c1e-9a6f-0b9d2c3e4f5a"
ROLE_ARN = "arn:aws:iam::444455556666:role/FleetyardConnection"


def _stack(status: str = "CREATE_COMPLETE", **outputs: str) -> cloudformation.Stack:
    return cloudformation.Stack("fleetyard-connection", status, {
        "RoleArn": ROLE_ARN, "TemplateVersion": connection_template.VERSION, **outputs})


def _parameters(command: str) -> dict[str, str]:
    block = command[command.index("aws cloudformation deploy"):].split("\n\n")[0]
    words = shlex.split(block.replace("\\\n", " "))
    start = words.index("--parameter-overrides") + 1
    end = next((i for i in range(start, len(words)) if words[i].startswith("--")), len(words))
    return dict(w.split("=", 1) for w in words[start:end])


def test_template_prints_the_template_and_the_deploy_command_with_a_new_external_id(capsys, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    assert cli.main(["connection", "template", "--principal-arn", PRINCIPAL]) == 0
    out, err = capsys.readouterr()
    assert out == connection_template.body()
    params = _parameters(err)
    assert params["FleetyardPrincipalArn"] == PRINCIPAL and params["RoleName"] == "FleetyardConnection"
    external_id = params["ExternalId"]
    assert len(external_id) >= 8 and external_id in err.splitlines()[0]  # shown once, up front
    assert "CAPABILITY_NAMED_IAM" in err and "--template-file fleetyard-connection-role.yaml" in err
    assert external_id not in out and not any(external_id in r.getMessage() for r in caplog.records)


def test_every_template_run_generates_a_different_external_id(capsys) -> None:
    ids = set()
    for _ in range(3):
        cli.main(["connection", "template", "--principal-arn", PRINCIPAL, "--print-command"])
        ids.add(_parameters(capsys.readouterr().out)["ExternalId"])
    assert len(ids) == 3


def test_a_given_external_id_is_used_and_not_announced_as_generated(capsys) -> None:
    cli.main(["connection", "template", "--principal-arn", PRINCIPAL, "--external-id", "given-id-1234",
              "--role-name", "Fleetyard", "--stack-name", "fy", "--region", "eu-west-1", "--print-command"])
    out, _ = capsys.readouterr()
    assert _parameters(out) == {"FleetyardPrincipalArn": PRINCIPAL, "ExternalId": "given-id-1234",
                                "RoleName": "Fleetyard"}
    assert "generated" not in out and "--stack-name fy" in out and "--region eu-west-1" in out


def test_template_without_a_principal_says_what_to_put_there(capsys) -> None:
    cli.main(["connection", "template", "--print-command"])
    out, _ = capsys.readouterr()
    assert _parameters(out)["FleetyardPrincipalArn"] == onboarding.PRINCIPAL_PLACEHOLDER
    assert "--principal-arn" in out


@pytest.mark.parametrize("arn, hint", [
    ("arn:aws:sts::111122223333:assumed-role/fleetyard-operator/botocore-session-1",
     "arn:aws:iam::111122223333:role/fleetyard-operator"),
    ("fleetyard-operator", "is not an IAM role or user ARN"),
])
def test_template_refuses_a_principal_a_trust_policy_cannot_name(capsys, arn: str, hint: str) -> None:
    assert cli.main(["connection", "template", "--principal-arn", arn]) == 2
    out, err = capsys.readouterr()
    assert out == "" and hint in err


def test_template_refuses_an_external_id_the_template_would_reject(capsys) -> None:
    assert cli.main(["connection", "template", "--external-id", "short"]) == 2
    assert "at least 8" in capsys.readouterr().err


def test_quick_create_link_carries_the_parameters() -> None:
    url = onboarding.quick_create_url("https://s3.amazonaws.com/b/t.yaml",
                                      onboarding.stack_parameters(PRINCIPAL, "ext-12345678"), region="eu-west-1")
    assert url.startswith("https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1"
                          "#/stacks/quickcreate?templateURL=https%3A%2F%2Fs3.amazonaws.com%2Fb%2Ft.yaml")
    assert "param_ExternalId=ext-12345678" in url and "param_RoleName=FleetyardConnection" in url


def test_manifest_names_the_stack_role_and_account_and_refers_to_a_secret() -> None:
    facts = onboarding.facts_from_stack(STACK_ARN, _stack())
    doc = onboarding.connection_manifest("acme-prod", "acme", facts)
    config = doc["spec"]["providerConfig"]
    assert config == {"accountId": "444455556666", "region": "eu-west-1", "roleArn": ROLE_ARN, "stackArn": STACK_ARN,
                      "externalIdSecretRef": {"name": "acme-prod-external-id", "key": "value"}}
    assert doc["metadata"] == {"name": "acme-prod", "namespace": "acme"}
    connection.ConnectionSpec.model_validate(doc["spec"])
    text = onboarding.render_manifest(doc)
    assert yaml.safe_load(text) == doc
    assert "kubectl create secret generic acme-prod-external-id -n acme --from-literal=value=" in text
    assert "kind: Secret" not in text and "stringData" not in text


def test_manifest_with_a_secrets_manager_arn_and_another_home_region() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:fleetyard/acme-AbCdEf"
    doc = onboarding.connection_manifest("acme-prod", "acme", onboarding.facts_from_stack(STACK_ARN, _stack()),
                                         region="eu-central-1", external_id_secret=arn, display_name="ACME prod")
    config = doc["spec"]["providerConfig"]
    assert config["externalIdSecretArn"] == arn and "externalIdSecretRef" not in config
    assert config["region"] == "eu-central-1" and doc["spec"]["displayName"] == "ACME prod"
    assert arn in onboarding.render_manifest(doc)


@pytest.mark.parametrize("stack, message", [
    (None, "does not exist in account 444455556666"),
    (_stack("ROLLBACK_COMPLETE"), "is ROLLBACK_COMPLETE"),
    (_stack("CREATE_IN_PROGRESS"), "wait until it is CREATE_COMPLETE"),
    (cloudformation.Stack("other", "CREATE_COMPLETE", {}), "has no RoleArn output"),
])
def test_manifest_explains_a_stack_it_cannot_use(stack, message: str) -> None:
    with pytest.raises(onboarding.OnboardingError, match=message):
        onboarding.facts_from_stack(STACK_ARN, stack)


def test_manifest_refuses_a_role_of_another_account_than_the_stack() -> None:
    facts = onboarding.facts_from_stack(STACK_ARN, _stack(RoleArn="arn:aws:iam::999999999999:role/Other"))
    with pytest.raises(onboarding.OnboardingError, match="roleArn must be a role in providerConfig.accountId"):
        onboarding.connection_manifest("acme-prod", "acme", facts)


@pytest.mark.parametrize("name, namespace", [("Acme_Prod", "acme"), ("acme-prod", "")])
def test_manifest_refuses_names_kubernetes_would_refuse(name: str, namespace: str) -> None:
    with pytest.raises(onboarding.OnboardingError, match="DNS label"):
        onboarding.connection_manifest(name, namespace, onboarding.facts_from_stack(STACK_ARN, _stack()))


def test_manifest_command_refuses_something_that_is_not_a_stack_arn(capsys) -> None:
    assert cli.main(["connection", "manifest", "--name", "a", "--namespace", "b",
                     "--stack-arn", "fleetyard-connection"]) == 2
    assert "describe-stacks" in capsys.readouterr().err


def test_manifest_warns_about_an_outdated_template(monkeypatch) -> None:
    monkeypatch.setattr(onboarding, "read_stack",
                        lambda arn: onboarding.facts_from_stack(arn, _stack(TemplateVersion="2020-01-01.1")))
    out, err = io.StringIO(), io.StringIO()
    args = type("Args", (), {"stack_arn": STACK_ARN, "name": "acme-prod", "namespace": "acme", "region": None,
                             "external_id_secret": None, "display_name": None})()
    assert onboarding._manifest(args, out, err) == 0
    assert "2020-01-01.1" in err.getvalue() and connection_template.VERSION in err.getvalue()
    assert yaml.safe_load(out.getvalue())["kind"] == "Connection"
