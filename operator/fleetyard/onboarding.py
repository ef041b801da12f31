"""Onboarding a customer AWS account: `fleetyard connection template` and `fleetyard connection manifest`.

Registered on the `fleetyard` command by `fleetyard.cli`; the functions are also called by the
tests and by the dev environment's samples. `template` prints fleetyard's CloudFormation template
and, on stderr, the `aws cloudformation deploy` command with its three parameters
(FleetyardPrincipalArn, ExternalId, RoleName); an external id generated here is shown there once
and never logged. `manifest` reads the deployed stack's outputs (RoleArn, TemplateVersion) with the
caller's own AWS credentials and prints the Connection to commit; the external id stays out of it
(the output says how to create its Secret), so the manifest can go to git as it is.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import secrets
import shlex
import sys
import urllib.parse
from typing import Any, TextIO

import yaml

from fleetyard.cloud import cloudformation, errors, session as sessions
from fleetyard.connections import template as connection_template
from fleetyard.models import connection, kinds

PRINCIPAL_PARAMETER = "FleetyardPrincipalArn"
EXTERNAL_ID_PARAMETER = "ExternalId"
ROLE_NAME_PARAMETER = "RoleName"
ROLE_ARN_OUTPUT = "RoleArn"
DEFAULT_ROLE_NAME = "FleetyardConnection"
DEFAULT_STACK_NAME = "fleetyard-connection"
DEFAULT_TEMPLATE_FILE = "fleetyard-connection-role.yaml"
SECRET_KEY = "value"
PRINCIPAL_PLACEHOLDER = "<fleetyard-principal-arn>"

_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9_+=,.@/-]{1,512}$")
_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([^/]+)/.+$")
_STACK_ARN = re.compile(r"^arn:aws[a-z-]*:cloudformation:([a-z0-9-]+):([0-9]{12}):stack/([^/]+)/.+$")
_SECRETS_MANAGER_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class OnboardingError(Exception):
    """Something the person onboarding the account has to fix; the message says what."""


@dataclasses.dataclass(frozen=True)
class StackFacts:
    """What `manifest` needs from the customer's stack."""

    stack_arn: str
    account_id: str
    region: str
    role_arn: str
    template_version: str | None


def new_external_id() -> str:
    """A fresh external id: 128 random bits, within the template's and STS's allowed characters."""
    return f"fy-{secrets.token_hex(16)}"


def check_principal_arn(arn: str) -> str:
    """The ARN a trust policy can name; an assumed-role session ARN is refused with the role to use."""
    assumed = _ASSUMED_ROLE.match(arn)
    if assumed:
        partition, account, role = assumed.groups()
        raise OnboardingError(f"{arn} is a session of a role; name the role itself: "
                              f"arn:{partition}:iam::{account}:role/{role}")
    if not _PRINCIPAL.match(arn):
        raise OnboardingError(f"{arn!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)")
    return arn


def stack_parameters(principal_arn: str, external_id: str, role_name: str = DEFAULT_ROLE_NAME) -> dict[str, str]:
    return {PRINCIPAL_PARAMETER: principal_arn, EXTERNAL_ID_PARAMETER: external_id, ROLE_NAME_PARAMETER: role_name}


def deploy_command(parameters: dict[str, str], stack_name: str = DEFAULT_STACK_NAME,
                   template_file: str = DEFAULT_TEMPLATE_FILE, region: str | None = None) -> list[str]:
    """argv of the `aws cloudformation deploy` that creates (or updates) the stack."""
    argv = ["aws", "cloudformation", "deploy", "--stack-name", stack_name, "--template-file", template_file,
            "--capabilities", "CAPABILITY_NAMED_IAM", "--parameter-overrides",
            *[f"{key}={value}" for key, value in parameters.items()]]
    return argv + (["--region", region] if region else [])


def stack_id_command(stack_name: str = DEFAULT_STACK_NAME, region: str | None = None) -> list[str]:
    """argv that prints the stack's ARN, the input of `fleetyard connection manifest`."""
    argv = ["aws", "cloudformation", "describe-stacks", "--stack-name", stack_name,
            "--query", "Stacks[0].StackId", "--output", "text"]
    return argv + (["--region", region] if region else [])


def quick_create_url(template_url: str, parameters: dict[str, str], stack_name: str = DEFAULT_STACK_NAME,
                     region: str = "us-east-1") -> str:
    """The console's quick-create link (the template must be at an S3 URL the customer can read)."""
    query = {"templateURL": template_url, "stackName": stack_name,
             **{f"param_{key}": value for key, value in parameters.items()}}
    return (f"https://{region}.console.aws.amazon.com/cloudformation/home?region={region}"
            f"#/stacks/quickcreate?{urllib.parse.urlencode(query)}")


def render_command(argv: list[str]) -> str:
    """A shell line per option (and per parameter override), ready to paste."""
    lines, current, option = [], shlex.join(argv[:3]), ""
    for word in argv[3:]:
        if word.startswith("--"):
            lines.append(current)
            current, option = "  " + shlex.quote(word), word
        elif option == "--parameter-overrides":
            lines.append(current)
            current = "    " + shlex.quote(word)
        else:
            current += " " + shlex.quote(word)
    return " \\\n".join(lines + [current])


def check_stack_arn(arn: str) -> tuple[str, str, str]:
    """(region, account, stack name) of a stack ARN."""
    match = _STACK_ARN.match(arn)
    if not match:
        raise OnboardingError(f"{arn!r} is not a CloudFormation stack ARN "
                              "(arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>): "
                              f"`{shlex.join(stack_id_command())}` prints it")
    region, account, name = match.groups()
    return region, account, name


def facts_from_stack(stack_arn: str, stack: cloudformation.Stack | None) -> StackFacts:
    region, account, name = check_stack_arn(stack_arn)
    if stack is None:
        raise OnboardingError(f"stack {name} does not exist in account {account} ({region}), or these AWS "
                              "credentials cannot see it: run this with credentials of that account "
                              "(AWS_PROFILE=...)")
    if not stack.status.endswith("_COMPLETE") or "ROLLBACK" in stack.status:
        raise OnboardingError(f"stack {stack.name} is {stack.status}: wait until it is CREATE_COMPLETE "
                              "(or see its events in the CloudFormation console)")
    role_arn = stack.outputs.get(ROLE_ARN_OUTPUT)
    if not role_arn:
        raise OnboardingError(f"stack {stack.name} has no {ROLE_ARN_OUTPUT} output: was it created from "
                              "fleetyard's template (`fleetyard connection template`)?")
    return StackFacts(stack_arn, account, region, role_arn, stack.outputs.get(connection_template.VERSION_OUTPUT))


def read_stack(stack_arn: str) -> StackFacts:
    """The stack's outputs, read with the caller's AWS credentials (the standard AWS settings)."""
    region, _, _ = check_stack_arn(stack_arn)
    try:
        stack = cloudformation.describe_stack(sessions.base_session(region), stack_arn)
    except errors.CloudError as exc:
        raise OnboardingError(f"could not describe {stack_arn} ({exc.code}): {exc.message}") from None
    return facts_from_stack(stack_arn, stack)


def connection_manifest(name: str, namespace: str, facts: StackFacts, region: str | None = None,
                        external_id_secret: str | None = None, display_name: str | None = None) -> dict[str, Any]:
    """The Connection for this stack; `external_id_secret` is a Secret name (default `<name>-external-id`)
    or a Secrets Manager ARN."""
    for label, value in (("--name", name), ("--namespace", namespace)):
        if not _NAME.match(value):
            raise OnboardingError(f"{label} {value!r} must be a DNS label (lower-case letters, digits, '-')")
    secret = external_id_secret or f"{name}-external-id"
    source: dict[str, Any] = ({"externalIdSecretArn": secret} if _SECRETS_MANAGER_ARN.match(secret)
                              else {"externalIdSecretRef": {"name": secret, "key": SECRET_KEY}})
    spec = {"provider": "aws", "displayName": display_name or name, "providerConfig": {
        "accountId": facts.account_id, "region": region or facts.region, "roleArn": facts.role_arn,
        "stackArn": facts.stack_arn, **source}}
    try:
        connection.ConnectionSpec.model_validate(spec)
    except ValueError as exc:
        raise OnboardingError(f"the stack's outputs do not make a valid Connection: {exc}") from None
    return {"apiVersion": kinds.API_VERSION, "kind": kinds.CONNECTION.kind,
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def secret_command(namespace: str, secret_name: str) -> str:
    return (f"kubectl create secret generic {shlex.quote(secret_name)} -n {shlex.quote(namespace)} "
            f'--from-literal={SECRET_KEY}="$EXTERNAL_ID"')


def render_manifest(doc: dict[str, Any]) -> str:
    """The Connection as YAML, headed by how to provide its external id (which is not in the file)."""
    meta, config = doc["metadata"], doc["spec"]["providerConfig"]
    if "externalIdSecretRef" in config:
        how = ["# The external id is not in this file, so the file can go to git. Create its Secret once,",
               "# with the id given to the customer for the stack's ExternalId parameter:",
               f"#   {secret_command(meta['namespace'], config['externalIdSecretRef']['name'])}"]
    else:
        how = ["# The external id is read from Secrets Manager with fleetyard's own identity:",
               f"#   {config['externalIdSecretArn']}"]
    header = [f"# fleetyard Connection for AWS account {config['accountId']}, from the outputs of",
              f"# {config['stackArn']}", *how]
    return "\n".join(header) + "\n" + yaml.safe_dump(doc, sort_keys=False)


def template_notes(parameters: dict[str, str], generated: bool, stack_name: str, template_file: str,
                   region: str | None, template_url: str | None) -> str:
    """What `template` prints on stderr: the external id once (when generated) and how to deploy."""
    lines = []
    if generated:
        lines += [f"External id (generated, shown only now): {parameters[EXTERNAL_ID_PARAMETER]}",
                  "Give it to the customer with the command below, and keep it for the Connection's Secret.", ""]
    if parameters[PRINCIPAL_PARAMETER] == PRINCIPAL_PLACEHOLDER:
        lines += [f"Replace {PRINCIPAL_PLACEHOLDER} with fleetyard's principal (--principal-arn): the IAM role "
                  "the operator runs as.", ""]
    lines += [f"Save the template (stdout) as {template_file}; in the customer's account:",
              render_command(deploy_command(parameters, stack_name, template_file, region)), "",
              "Then give fleetyard the stack's ARN (`fleetyard connection manifest --stack-arn ...`):",
              render_command(stack_id_command(stack_name, region))]
    if template_url:
        lines += ["", "Or open the console's quick-create form:",
                  quick_create_url(template_url, parameters, stack_name, region or "us-east-1")]
    return "\n".join(lines) + "\n"


def _template(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    principal = check_principal_arn(args.principal_arn) if args.principal_arn else PRINCIPAL_PLACEHOLDER
    external_id = args.external_id or new_external_id()
    if len(external_id) < 8:
        raise OnboardingError("--external-id must be at least 8 characters (the template's MinLength)")
    parameters = stack_parameters(principal, external_id, args.role_name)
    notes = template_notes(parameters, not args.external_id, args.stack_name, args.template_file, args.region,
                           args.template_url)
    if args.print_command:
        out.write(notes)
    else:
        out.write(connection_template.body())
        err.write(notes)
    return 0


def _manifest(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    facts = read_stack(args.stack_arn)
    doc = connection_manifest(args.name, args.namespace, facts, args.region, args.external_id_secret,
                              args.display_name)
    if facts.template_version != connection_template.VERSION:
        err.write(f"warning: the stack was made from template version {facts.template_version or 'unknown'}, "
                  f"this fleetyard ships {connection_template.VERSION}: the Connection will report "
                  "TemplateSynced=False until the customer updates the stack (docs/onboarding.md)\n")
    out.write(render_manifest(doc))
    return 0


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.connection_fn(args, sys.stdout, sys.stderr))
    except OnboardingError as exc:
        print(f"fleetyard connection {args.connection_command}: {exc}", file=sys.stderr)
        return 2


def register(commands: Any) -> None:
    """Adds `connection template|manifest` to the `fleetyard` command's subparsers."""
    parser = commands.add_parser("connection", help="onboard a customer AWS account (template, manifest)")
    sub = parser.add_subparsers(dest="connection_command", required=True)
    template = sub.add_parser("template", help="print the CloudFormation template; the deploy command on stderr")
    template.add_argument("--principal-arn", help="fleetyard's own IAM principal (the operator's role) to trust")
    template.add_argument("--external-id", help="the external id to require (default: a new random one)")
    template.add_argument("--role-name", default=DEFAULT_ROLE_NAME, help="the role's name in the customer account")
    template.add_argument("--stack-name", default=DEFAULT_STACK_NAME)
    template.add_argument("--template-file", default=DEFAULT_TEMPLATE_FILE,
                          help="the file name the printed command deploys")
    template.add_argument("--region", help="the customer's region for the printed commands")
    template.add_argument("--template-url", help="an S3 URL of the template: also print a console quick-create link")
    template.add_argument("--print-command", action="store_true",
                          help="print only the commands (to stdout), not the template")
    template.set_defaults(fn=_run, connection_fn=_template)
    manifest = sub.add_parser("manifest", help="print the Connection for a deployed stack (reads its outputs)")
    manifest.add_argument("--name", required=True, help="the Connection's name")
    manifest.add_argument("--namespace", required=True, help="the organization's namespace")
    manifest.add_argument("--stack-arn", required=True, help="the stack's ARN (its StackId)")
    manifest.add_argument("--region", help="the Connection's home region (default: the stack's)")
    manifest.add_argument("--external-id-secret",
                          help="Secret holding the external id (default <name>-external-id), or a Secrets Manager ARN")
    manifest.add_argument("--display-name", help="default: the name")
    manifest.set_defaults(fn=_run, connection_fn=_manifest)
