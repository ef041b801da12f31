"""Failed Pulumi runs turned into the seed's error object: what a user reads on the Operation."""

from __future__ import annotations

import botocore.exceptions
import pytest
from pulumi import automation as auto
from pulumi.automation import errors as pulumi_errors

from fleetyard.cloud import errors as cloud_errors
from fleetyard.models import common
from fleetyard.provisioning import failures

RID = "0b3c4d5e-1111-2222-3333-444455556666"
RID2 = "7f6e5d4c-aaaa-bbbb-cccc-ddddeeeeffff"


def go_v2(status: int, code: str, message: str, *, api_error: bool = False, what: str = "creating EKS Cluster (fleet)",
          call: str = "EKS: CreateCluster") -> str:
    """The aws provider (AWS SDK for Go v2) wording, inside Pulumi's error block."""
    api = "api error " if api_error else ""
    return (f"error: 1 error occurred:\n\t* {what}: operation error {call}, https response error "
            f"StatusCode: {status}, RequestID: {RID}, {api}{code}: {message}\n")


def boto(code: str, message: str, operation: str = "CreateCluster") -> str:
    """A botocore ClientError, as the test plugin (a Python provider over moto) raises it."""
    return (f"error: Exception calling application: An error occurred ({code}) when calling the {operation} "
            f"operation: {message}")


NOT_AUTHORIZED = ("User: arn:aws:sts::123456789012:assumed-role/fleetyard/op is not authorized to perform: "
                  "eks:CreateCluster")

# text -> code, errorType, retryable, requestId, causedBy
CASES = {
    "go: invalid parameter": (
        go_v2(400, "InvalidParameterException", "unsupported Kubernetes version"),
        ("ValidationError", "cloud", False, RID, "InvalidParameterException")),
    "go: access denied": (
        go_v2(403, "AccessDenied", NOT_AUTHORIZED, api_error=True),
        ("AccessDenied", "cloud", False, RID, "AccessDenied")),
    "go: EC2 request limit": (
        go_v2(503, "RequestLimitExceeded", "Request limit exceeded.", api_error=True, what="creating EC2 VPC",
              call="EC2: CreateVpc"),
        ("ThrottlingException", "cloud", True, RID, "RequestLimitExceeded")),
    "go: throttled after retries": (
        "error: creating EKS Node Group: operation error EKS: CreateNodegroup, exceeded maximum number of attempts, "
        f"25, https response error StatusCode: 429, RequestID: {RID}, ThrottlingException: Rate exceeded",
        ("ThrottlingException", "cloud", True, RID, "ThrottlingException")),
    "go: service unavailable": (
        go_v2(503, "ServiceUnavailableException", "Service is unavailable"),
        ("ServiceUnavailable", "cloud", True, RID, "ServiceUnavailableException")),
    "go: unknown code on a 500": (
        go_v2(500, "SomethingBroke", "oops"),
        ("ServiceUnavailable", "cloud", True, RID, "SomethingBroke")),
    "go: cluster name taken": (
        go_v2(409, "ResourceInUseException", "Cluster already exists with name: fleet"),
        ("AlreadyExists", "conflict", False, RID, "ResourceInUseException")),
    "go: vpc still has dependencies": (
        go_v2(400, "DependencyViolation", "The vpc 'vpc-1' has dependencies and cannot be deleted.", api_error=True,
              what="deleting EC2 VPC (vpc-1)", call="EC2: DeleteVpc"),
        ("ResourceInUseException", "conflict", True, RID, "DependencyViolation")),
    "go: vpc quota": (
        go_v2(400, "VpcLimitExceeded", "The maximum number of VPCs has been reached.", api_error=True),
        ("LimitExceeded", "cloud", False, RID, "VpcLimitExceeded")),
    "go: subnet missing": (
        go_v2(400, "InvalidSubnetID.NotFound", "The subnet ID 'subnet-1' does not exist", api_error=True),
        ("NotFound", "cloud", False, RID, "InvalidSubnetID.NotFound")),
    "go: expired token": (
        go_v2(400, "ExpiredToken", "The security token included in the request is expired", api_error=True),
        ("ExpiredToken", "cloud", True, RID, "ExpiredToken")),
    "go v1: invalid client token": (
        "error: creating IAM Role (fleet-role): InvalidClientTokenId: The security token included in the request "
        f"is invalid.\n\tstatus code: 403, request id: {RID2}",
        ("AccessDenied", "cloud", False, RID2, "InvalidClientTokenId")),
    "boto: access denied": (
        boto("AccessDenied", NOT_AUTHORIZED),
        ("AccessDenied", "cloud", False, None, "AccessDenied")),
    "boto: throttled": (
        "An error occurred (ThrottlingException) when calling the DescribeCluster operation (reached max retries: 4): "
        "Rate exceeded",
        ("ThrottlingException", "cloud", True, None, "ThrottlingException")),
    "boto: malformed policy": (
        boto("MalformedPolicyDocument", "Has prohibited field Resource", "CreateRole"),
        ("ValidationError", "cloud", False, None, "MalformedPolicyDocument")),
    "boto: validation": (
        boto("ValidationException", "1 validation error detected", "CreateNodegroup"),
        ("ValidationError", "cloud", False, None, "ValidationException")),
    "boto: in use": (
        boto("ResourceInUseException", "Cluster has nodegroups attached", "DeleteCluster"),
        ("ResourceInUseException", "conflict", True, None, "ResourceInUseException")),
    "boto: slow down": (
        boto("SlowDown", "Please reduce your request rate.", "PutObject"),
        ("ThrottlingException", "cloud", True, None, "SlowDown")),
    "bare code": (
        "error: AccessDenied: nope",
        ("AccessDenied", "cloud", False, None, "AccessDenied")),
    "bare expired token": (
        "error: ExpiredToken: The security token included in the request is expired",
        ("ExpiredToken", "cloud", True, None, "ExpiredToken")),
    "phrase: not authorized": (
        "error: configuring provider: User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole",
        ("AccessDenied", "cloud", False, None, None)),
    "network: dial tcp": (
        "error: reading EKS Cluster: dial tcp: lookup eks.eu-west-1.amazonaws.com: no such host",
        ("NetworkError", "cloud", True, None, None)),
    "network: refused": (
        "Could not connect to the endpoint URL: \"http://127.0.0.1:5000/\"",
        ("NetworkError", "cloud", True, None, None)),
    "network: reset": (
        "error: read tcp 10.0.0.2:1234->52.1.1.1:443: read: connection reset by peer",
        ("NetworkError", "cloud", True, None, None)),
    "wait timed out": (
        "error: waiting for EKS Cluster (fleet) create: timeout while waiting for state to become 'ACTIVE' "
        "(last state: 'CREATING', timeout: 30m0s)",
        ("Timeout", "cloud", True, None, None)),
    "stack locked (service)": (
        "error: [409] Conflict: Another update is currently in progress.",
        ("ConcurrentUpdate", "conflict", True, None, "ConcurrentUpdateError")),
    "stack locked (file/s3 backend)": (
        "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete "
        "the lock file with `pulumi cancel`.\n  s3://state/.pulumi/locks/organization/p/dev/x.json: created by op@h",
        ("ConcurrentUpdate", "conflict", True, None, "ConcurrentUpdateError")),
    "program error": (
        "error: Program failed with an unhandled exception:\nTraceback (most recent call last):\n"
        "  File \"/w/cluster_program.py\", line 40, in cluster_program\n    subnets = args['subnets']\n"
        "KeyError: 'subnets'\n",
        ("ProgramError", "program", False, None, "KeyError")),
    "plugin missing": (
        "error: could not load plugin for aws provider 'default_7_51_1': no resource plugin 'aws' found",
        ("EngineError", "engine", False, None, None)),
    "unrecognised": (
        "error: something nobody has seen before",
        ("InternalError", "engine", True, None, None)),
    # a person has to act on the denial; the throttle alone would have been retried
    "denial beats throttle": (
        boto("ThrottlingException", "Rate exceeded") + "\n" + go_v2(403, "AccessDenied", "no", api_error=True),
        ("AccessDenied", "cloud", False, RID, "AccessDenied")),
}


@pytest.mark.parametrize("text,expected", list(CASES.values()), ids=list(CASES))
def test_classify(text: str, expected: tuple[str, str, bool, str | None, str | None]) -> None:
    error = failures.classify(text, rng=lambda: 0.5)
    details = error.details
    assert details is not None
    assert (error.code, error.errorType, details.retryable, details.requestId, details.causedBy) == expected
    assert (details.retryAfter is not None) == details.retryable
    assert error.message and len(error.message) <= failures.MAX_MESSAGE
    assert "\n" not in error.message
    common.ErrorObject.model_validate(error.model_dump())


@pytest.mark.parametrize("text,message", [
    (go_v2(400, "InvalidParameterException", "unsupported Kubernetes version"),
     "creating EKS Cluster (fleet): InvalidParameterException: unsupported Kubernetes version"),
    (go_v2(403, "AccessDenied", NOT_AUTHORIZED, api_error=True),
     f"creating EKS Cluster (fleet): AccessDenied: {NOT_AUTHORIZED}"),
    (boto("AccessDenied", "denied"),
     "An error occurred (AccessDenied) when calling the CreateCluster operation: denied"),
    (CASES["program error"][0], "KeyError: 'subnets'"),
    ("<{%fg 1%}>error: <{%reset%}>\x1b[31mdial tcp 1.2.3.4:443: i/o timeout\x1b[0m",
     "dial tcp 1.2.3.4:443: i/o timeout"),
])
def test_message_is_the_line_that_names_the_error(text: str, message: str) -> None:
    assert failures.classify(text).message == message


def test_field_error_for_a_spec_field() -> None:
    error = failures.classify(go_v2(400, "InvalidParameterException", "unsupported Kubernetes version 1.10"))
    assert error.details is not None and error.details.fieldErrors is not None
    assert list(error.details.fieldErrors) == ["spec.config.kubernetesVersion"]
    assert failures.classify(boto("AccessDenied", "no")).details.fieldErrors is None  # type: ignore[union-attr]


def test_request_id_argument_wins() -> None:
    error = failures.classify(go_v2(403, "AccessDenied", "no", api_error=True), aws_request_id="given-1234-abcd")
    assert error.details is not None and error.details.requestId == "given-1234-abcd"


@pytest.mark.parametrize("text,rid", [
    (f"error: AccessDeniedException: denied\n\tstatus code: 403, request id: {RID2}", RID2),
    (f'{{"Message": "denied", "RequestId": "{RID}"}}', RID),
    (f"x-amzn-RequestId: {RID2}", RID2),
])
def test_request_id_extraction(text: str, rid: str) -> None:
    assert failures.request_id(text) == rid


SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJGMEQCIBx7dn0UGFkE2Y4V8m1ZpZyNb3J4ZSBhbmQgc2Vzc2lvbg=="


@pytest.mark.parametrize("text,secret", [
    (f"error: AccessDenied: aws_secret_access_key={SECRET_KEY}", SECRET_KEY),
    (f"error: AccessDenied: the key {SECRET_KEY} was rejected", SECRET_KEY),
    (f"error: ExpiredToken: X-Amz-Security-Token: {SESSION_TOKEN}", SESSION_TOKEN),
    (f"error: ExpiredToken: token {SESSION_TOKEN} expired", SESSION_TOKEN),
    ('error: AccessDenied: assume role with "ExternalId": "fy-ext-9f8e7d" refused', "fy-ext-9f8e7d"),
    ("error: AccessDenied: sts:AssumeRole externalId=fy-ext-9f8e7d", "fy-ext-9f8e7d"),
    ('error: MalformedPolicyDocument: {"Condition": {"StringEquals": {"sts:ExternalId": "fy-ext-9f8e7d"}}}',
     "fy-ext-9f8e7d"),
    ("error: Unauthorized: client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NBUUVB",
     "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NBUUVB"),
    ("error: Unauthorized: Authorization: Bearer k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9u",
     "aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9u"),
    ("error: InvalidClientTokenId: key AKIAIOSFODNN7EXAMPLE is not valid", "AKIAIOSFODNN7EXAMPLE"),
    ("error: could not load plugin: PULUMI_CONFIG_PASSPHRASE=hunter2-hunter2 rejected", "hunter2-hunter2"),
])
def test_secrets_never_reach_the_message(text: str, secret: str) -> None:
    error = failures.classify(text)
    assert secret not in error.model_dump_json()
    assert failures.REDACTED in error.message


def test_redact_keeps_what_people_need() -> None:
    text = (f"creating EKS Cluster (fleet): AccessDenied: User: arn:aws:sts::123456789012:assumed-role/fleetyard/op "
            f"is not authorized (RequestID: {RID}, commit 0123456789abcdef0123456789abcdef01234567)")
    assert failures.redact(text) == text


def test_redact_kubeconfig_block() -> None:
    kubeconfig = ("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0tLS1CRUdJTg==\n"
                  "    server: https://ABC.gr7.eu-west-1.eks.amazonaws.com\nusers:\n- name: u\n  user:\n"
                  "    token: abc.def.ghi\n")
    redacted = failures.redact(kubeconfig)
    assert "LS0tLS1CRUdJTg==" not in redacted and "abc.def.ghi" not in redacted
    assert "server: https://ABC.gr7.eu-west-1.eks.amazonaws.com" in redacted


@pytest.mark.parametrize("attempt,rand,jitter,expected", [
    (1, 0.0, "equal", 5), (1, 1.0, "equal", 10), (2, 1.0, "equal", 20), (3, 0.5, "equal", 30),
    (7, 1.0, "equal", 600), (7, 0.0, "equal", 300), (50, 1.0, "equal", 600),
    (0, 1.0, "equal", 10),  # attempts start at 1; anything lower counts as the first
    (4, 0.5, "full", 40), (4, 0.0, "full", 1), (4, 1.0, "full", 80),
])
def test_backoff(attempt: int, rand: float, jitter: str, expected: int) -> None:
    assert failures.backoff(attempt, rng=lambda: rand, jitter=jitter) == expected  # type: ignore[arg-type]


def test_backoff_custom_base_and_cap() -> None:
    assert failures.backoff(3, base=2, cap=5, rng=lambda: 1.0) == 5
    assert failures.backoff(2, base=2, cap=60, rng=lambda: 1.0) == 4


def test_retry_after_grows_with_the_attempt() -> None:
    text = boto("ThrottlingException", "Rate exceeded")
    delays = [failures.classify(text, attempt=n, rng=lambda: 1.0).details.retryAfter  # type: ignore[union-attr]
              for n in (1, 2, 3)]
    assert delays == [10, 20, 40]


# -- from_exception --------------------------------------------------------------------------------


def command_error(stdout: str = "", stderr: str = "", code: int = 255) -> pulumi_errors.CommandError:
    """Built by the SDK's own factory, as `stack.up()` raises it."""
    return pulumi_errors.create_command_error(auto.CommandResult(stdout=stdout, stderr=stderr, code=code))


def client_error(code: str, status: int) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": "Rate exceeded"},
         "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": RID}}, "DescribeCluster")


EXCEPTIONS = {
    "locked stack": (
        command_error(stderr="error: [409] Conflict: Another update is currently in progress.\n"),
        ("ConcurrentUpdate", "conflict", True, None, "ConcurrentUpdateError")),
    "missing stack": (
        command_error(stderr="error: no stack named 'dev' found\n"),
        ("StackNotFound", "engine", False, None, "StackNotFoundError")),
    "existing stack": (
        command_error(stderr="error: stack 'dev' already exists\n"),
        ("StackAlreadyExists", "conflict", False, None, "StackAlreadyExistsError")),
    "program raised": (
        command_error(stdout="Updating (dev)\n error: Program failed with an unhandled exception:\n"
                             "Traceback (most recent call last):\n  File \"p.py\", line 1\nValueError: no subnets\n",
                      stderr="error: an unhandled error occurred: Program exited with non-zero exit code: 1\n"),
        ("ProgramError", "program", False, None, "ValueError")),
    "aws error in the update": (
        command_error(stdout="Updating (dev)\n\n    aws:eks:Cluster (fleet):\n"
                             + go_v2(403, "AccessDenied", NOT_AUTHORIZED, api_error=True),
                      stderr="error: update failed\n"),
        ("AccessDenied", "cloud", False, RID, "AccessDenied")),
    "runtime error with nothing recognisable": (
        command_error(stdout="error: an unhandled error occurred: it broke\n"),
        ("ProgramError", "program", False, None, "RuntimeError")),
    "CloudError throttled": (
        cloud_errors.CloudError("ThrottlingException", "Rate exceeded", RID, True, 400),
        ("ThrottlingException", "cloud", True, RID, "ThrottlingException")),
    "CloudError denied": (
        cloud_errors.CloudError("AccessDenied", NOT_AUTHORIZED, RID, False, 403),
        ("AccessDenied", "cloud", False, RID, "AccessDenied")),
    "CloudError network": (
        cloud_errors.CloudError("NetworkError", "the AWS endpoint could not be reached", retryable=True),
        ("NetworkError", "cloud", True, None, "NetworkError")),
    "CloudError unknown 5xx": (
        cloud_errors.CloudError("Weird", "w", RID, True, 502),
        ("ServiceUnavailable", "cloud", True, RID, "Weird")),
    "CloudError unknown 4xx": (
        cloud_errors.CloudError("Weird", "w", RID, False, 400),
        ("CloudError", "cloud", False, RID, "Weird")),
    "raw botocore error": (
        client_error("Throttling", 400),
        ("ThrottlingException", "cloud", True, RID, "Throttling")),
    "destroy never finished": (
        TimeoutError("still present after destroy: VPC vpc-1"),
        ("Timeout", "cloud", True, None, "TimeoutError")),
    "connection dropped": (
        ConnectionResetError("peer went away"),
        ("NetworkError", "cloud", True, None, "ConnectionResetError")),
    "operator bug": (
        ValueError("unknown operation 'explode'"),
        ("InternalError", "engine", True, None, "ValueError")),
}


@pytest.mark.parametrize("exc,expected", list(EXCEPTIONS.values()), ids=list(EXCEPTIONS))
def test_from_exception(exc: BaseException, expected: tuple[str, str, bool, str | None, str | None]) -> None:
    error = failures.from_exception(exc, 2, rng=lambda: 1.0)
    details = error.details
    assert details is not None
    assert (error.code, error.errorType, details.retryable, details.requestId, details.causedBy) == expected
    assert details.retryAfter == (20 if details.retryable else None)
    assert error.message


def test_from_exception_messages() -> None:
    assert failures.from_exception(EXCEPTIONS["operator bug"][0], 1).message == \
        "ValueError: unknown operation 'explode'"
    assert failures.from_exception(EXCEPTIONS["program raised"][0], 1).message == "ValueError: no subnets"
    assert failures.from_exception(EXCEPTIONS["locked stack"][0], 1).message == \
        "[409] Conflict: Another update is currently in progress."
    denied = failures.from_exception(EXCEPTIONS["CloudError denied"][0], 1)
    assert denied.message == f"AccessDenied: {NOT_AUTHORIZED}"


def test_command_output_splits_the_sdk_text() -> None:
    exc = command_error(stdout="out line\nmore", stderr="err line")
    assert failures.command_output(exc) == ("out line\nmore", "err line")


@pytest.mark.timeout(20)
@pytest.mark.parametrize("text", [
    "A" * 100_000 + ": x",
    "Word: " * 50_000,
    "aB3/" * 50_000,
    "An error occurred (X) when calling the Y operation: " * 10_000,
    "Foo: bar\n\tstatus code: 400, request id: abcdefgh-1\n" * 10_000,
    "http" * 50_000,
    "waiting for " * 25_000,
    "     +  aws:ec2:Subnet private-a creating (3s)\n" * 25_000 + "error: AccessDenied: no\n",
], ids=["word run", "many codes", "base64", "many boto", "many v1", "urls", "waits", "long stdout"])
def test_huge_output_stays_fast(text: str) -> None:
    """A run's stdout can be megabytes; every pattern must stay linear in it."""
    error = failures.classify(text)
    assert len(error.message) <= failures.MAX_MESSAGE
