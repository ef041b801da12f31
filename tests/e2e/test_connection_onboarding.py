"""Onboarding an account with the documented commands only: `fleetyard connection template`, the
customer deploys what it prints (here into moto), `fleetyard connection manifest` reads the stack,
the platform engineer creates the Secret it asks for and applies the manifest; the Connection
becomes active with its template in sync."""

from __future__ import annotations

import base64
import shlex
import time
import uuid

import pytest
import yaml

from fleetyard import cli
from fleetyard.connections import template as connection_template
from fleetyard.kube import apply as kube_apply
from fleetyard.models import kinds
from tests.conftest import get, wait_for
from tests.e2e import infra

pytestmark = pytest.mark.timeout(120)


def _printed_command(text: str, starts: str) -> list[str]:
    block = text[text.index(starts):].split("\n\n")[0]
    return shlex.split(block.replace("\\\n", " "))


def _deploy_as_printed(env, argv: list[str], template: str) -> str:
    """What `aws cloudformation deploy` does with the printed arguments, through boto3 against moto."""
    options = {argv[i]: argv[i + 1] for i in range(3, len(argv) - 1) if argv[i].startswith("--")}
    start = argv.index("--parameter-overrides") + 1
    overrides = [w for w in argv[start:] if not w.startswith("--")]
    cfn = infra.aws(env, "cloudformation")
    stack_id = cfn.create_stack(StackName=options["--stack-name"], TemplateBody=template,
                                Capabilities=[options["--capabilities"]],
                                Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                            for k, v in (o.split("=", 1) for o in overrides)])["StackId"]
    deadline = time.monotonic() + 30
    while cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] != "CREATE_COMPLETE":
        assert time.monotonic() < deadline, "the stack did not complete"
        time.sleep(0.2)
    return stack_id


def test_template_deploy_manifest_apply_brings_the_connection_up(env, custom, core, namespace, capsys) -> None:
    suffix = uuid.uuid4().hex[:8]
    assert cli.main(["connection", "template", "--principal-arn", env.moto.operator_user_arn,
                     "--role-name", f"FleetyardConnection-{suffix}", "--stack-name", f"fleetyard-{suffix}"]) == 0
    template, notes = capsys.readouterr()
    assert template == connection_template.body()
    deploy = _printed_command(notes, "aws cloudformation deploy")
    external_id = dict(o.split("=", 1) for o in deploy if o.startswith("ExternalId="))["ExternalId"]
    assert f"External id (generated, shown only now): {external_id}" in notes
    stack_id = _deploy_as_printed(env, deploy, template)

    assert cli.main(["connection", "manifest", "--name", "prod", "--namespace", namespace, "--stack-arn", stack_id]) == 0
    manifest, warnings = capsys.readouterr()
    assert warnings == ""
    assert external_id not in manifest
    secret_line = next(line for line in manifest.splitlines() if "kubectl create secret generic" in line)
    secret_name = shlex.split(secret_line.lstrip("# "))[4]
    core.create_namespaced_secret(namespace, {"metadata": {"name": secret_name},
                                              "data": {"value": base64.b64encode(external_id.encode()).decode()}})
    kube_apply.apply(env.api, [d for d in yaml.safe_load_all(manifest) if d])

    def verified():
        status = get(custom, namespace, kinds.CONNECTION, "prod").get("status") or {}
        return status if status.get("status") in ("active", "failed") else None
    status = wait_for(verified, 30, "the onboarded Connection to be verified")
    assert status["status"] == "active", status.get("statusMessage")
    synced = next(c for c in status["conditions"] if c["type"] == "TemplateSynced")
    assert synced["status"] == "True", synced
