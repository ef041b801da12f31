"""Integration tests of `fleetyard.devenv.moto_server`: moto as the AWS endpoint with IAM on.

They check that the bootstrap spends exactly the unauthenticated calls moto allows (the very
next call with bad credentials is refused), that the operator's key works, and that
sts:AssumeRole refuses what AWS refuses (`fleetyard.devenv.moto_sts`): a role that does not
exist, a trust policy that does not name the caller, a wrong or missing external id where the
trust policy requires one, a trust policy that names only the caller's account while the
caller's own policies do not allow it; and allows what AWS allows (a person the trust policy
names, a session of a role it names). The Connection verification depends on it. boto3 refuses
external ids shorter than two characters, so the ids here are longer than the one-letter
examples of the design notes.
"""

from __future__ import annotations

import collections.abc
import json
import os
import pathlib
import uuid

import boto3
import botocore.client
import botocore.exceptions
import pytest

from fleetyard.devenv import moto_server, people

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto(
    tmp_path_factory: pytest.TempPathFactory,
) -> collections.abc.Iterator[moto_server.MotoServer]:
    with moto_server.MotoServer(tmp_path_factory.mktemp("moto")) as server:
        yield server


def _client(
    server: moto_server.MotoServer,
    service: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
) -> botocore.client.BaseClient:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
    )


def _operator(server: moto_server.MotoServer, service: str) -> botocore.client.BaseClient:
    return _client(server, service, server.access_key_id, server.secret_access_key)


def _error_code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def test_bootstrap_used_up_the_unauthenticated_calls(moto: moto_server.MotoServer) -> None:
    unknown = _client(moto, "iam", "AKIAUNKNOWN000000000", "not-a-secret")
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        unknown.list_users()
    assert _error_code(denied.value) == "InvalidClientTokenId"

    wrong_secret = _client(moto, "sts", moto.access_key_id, "wrong-secret")
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        wrong_secret.get_caller_identity()
    assert _error_code(denied.value) == "SignatureDoesNotMatch"


def test_operator_credentials(moto: moto_server.MotoServer) -> None:
    assert moto.operator_user_arn == "arn:aws:iam::123456789012:user/fleetyard-operator"
    assert moto.account_id == "123456789012"
    identity = _operator(moto, "sts").get_caller_identity()
    assert identity["Arn"] == moto.operator_user_arn
    assert identity["Account"] == moto.account_id
    assert _operator(moto, "iam").list_users()["Users"][0]["UserName"] == "fleetyard-operator"


def test_env_points_boto3_at_the_server(
    moto: moto_server.MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = moto.env()
    assert set(env) == {
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
    }
    assert env["AWS_ENDPOINT_URL"] == moto.endpoint
    assert moto.endpoint.startswith("http://127.0.0.1:")
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    arn = boto3.session.Session().client("sts").get_caller_identity()["Arn"]
    assert arn == moto.operator_user_arn


def test_assume_role_enforces_external_id(moto: moto_server.MotoServer) -> None:
    role_name = f"fleetyard-connection-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": moto.operator_user_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "ext-right"}},
            }
        ],
    }
    role = _operator(moto, "iam").create_role(
        RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]
    sts = _operator(moto, "sts")

    assumed = sts.assume_role(
        RoleArn=role["Arn"], RoleSessionName="fleetyard", ExternalId="ext-right"
    )
    creds = assumed["Credentials"]
    as_role = _client(
        moto, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    assert as_role.get_caller_identity()["Arn"] == (
        f"arn:aws:sts::{moto.account_id}:assumed-role/{role_name}/fleetyard"
    )

    with pytest.raises(botocore.exceptions.ClientError) as denied:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="fleetyard", ExternalId="ext-wrong")
    assert _error_code(denied.value) == "AccessDenied"


def _statement(principal: object, condition: dict | None = None, effect: str = "Allow") -> dict:
    statement = {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}
    return {**statement, "Condition": condition} if condition else statement


EXTERNAL_ID = {"StringEquals": {"sts:ExternalId": "ext-right"}}
ACCOUNT_ROOT = "arn:aws:iam::123456789012:root"


@pytest.mark.parametrize(
    ("case", "statements", "caller", "kwargs", "refusal"),
    [
        ("no such role", None, "operator", {}, "AccessDenied"),
        ("trust names someone else", [_statement({"AWS": "{person}"})], "operator", {}, "AccessDenied"),
        ("external id required, none sent", [_statement({"AWS": "{operator}"}, EXTERNAL_ID)], "operator",
         {}, "AccessDenied"),
        ("external id required, a wrong one sent", [_statement({"AWS": "{operator}"}, EXTERNAL_ID)],
         "operator", {"ExternalId": "ext-wrong"}, "AccessDenied"),
        ("external id required and sent", [_statement({"AWS": "{operator}"}, EXTERNAL_ID)], "operator",
         {"ExternalId": "ext-right"}, None),
        ("a service may assume it, not users", [_statement({"Service": "eks.amazonaws.com"})], "operator",
         {}, "AccessDenied"),
        ("an explicit Deny of the caller", [_statement("*"), _statement({"AWS": "{operator}"}, effect="Deny")],
         "operator", {}, "AccessDenied"),
        ("trust names the person, who has no policy for it", [_statement({"AWS": "{person}"})], "person", {},
         None),
        ("trust names the account, the person's policies do not allow it", [_statement({"AWS": ACCOUNT_ROOT})],
         "person", {}, "AccessDenied"),
        ("trust names the account, the operator's policies allow it", [_statement({"AWS": ACCOUNT_ROOT})],
         "operator", {}, None),
        ("a session name AWS refuses", [_statement({"AWS": "{operator}"})], "operator",
         {"RoleSessionName": "has space"}, "ValidationError"),
        ("longer than the role's MaxSessionDuration", [_statement({"AWS": "{operator}"})], "operator",
         {"DurationSeconds": 7200}, "ValidationError"),
    ],
)
def test_assume_role_refuses_what_aws_refuses(
    moto: moto_server.MotoServer, case: str, statements: list | None, caller: str, kwargs: dict,
    refusal: str | None,
) -> None:
    person = people.create_person(moto.env(), f"person-{uuid.uuid4().hex[:8]}")
    names = {"operator": moto.operator_user_arn, "person": person.arn}
    role_arn = f"arn:aws:iam::{moto.account_id}:role/missing-{uuid.uuid4().hex[:8]}"
    if statements is not None:
        trust = json.dumps({"Version": "2012-10-17", "Statement": statements}).replace(
            '"{operator}"', json.dumps(names["operator"])).replace('"{person}"', json.dumps(names["person"]))
        role_arn = _operator(moto, "iam").create_role(
            RoleName=f"assumed-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    sts = _operator(moto, "sts") if caller == "operator" else _client(
        moto, "sts", person.access_key_id, person.secret_access_key)
    call = {"RoleArn": role_arn, "RoleSessionName": "fleetyard", **kwargs}
    if refusal is None:
        assert sts.assume_role(**call)["AssumedRoleUser"]["Arn"].endswith("/fleetyard")
        return
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sts.assume_role(**call)
    assert _error_code(refused.value) == refusal
    if refusal == "AccessDenied":  # the same answer whether or not the role exists, as on AWS
        assert refused.value.response["Error"]["Message"] == (
            f"User: {names[caller]} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")


def test_a_session_of_a_role_the_trust_policy_names_may_assume_it(moto: moto_server.MotoServer) -> None:
    iam = _operator(moto, "iam")
    first = iam.create_role(RoleName=f"first-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [_statement({"AWS": moto.operator_user_arn})]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=first.rsplit("/", 1)[1], PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    second = iam.create_role(RoleName=f"second-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [_statement({"AWS": first})]}))["Role"]["Arn"]
    creds = _operator(moto, "sts").assume_role(RoleArn=first, RoleSessionName="hop")["Credentials"]
    as_first = _client(moto, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert as_first.assume_role(RoleArn=second, RoleSessionName="hop2")["AssumedRoleUser"]["Arn"].endswith(
        "/hop2")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        as_first.assume_role(RoleArn=second, RoleSessionName="hop2", DurationSeconds=3601)
    assert _error_code(refused.value) == "ValidationError"  # role chaining: at most an hour


def test_without_access_control_any_key_works_and_stop_ends_it(tmp_path: pathlib.Path) -> None:
    server = moto_server.MotoServer(tmp_path, access_control=False)
    server.start()
    try:
        anyone = _client(server, "iam", "anything", "goes")
        assert anyone.get_user(UserName="fleetyard-operator")["User"]["Arn"] == (
            server.operator_user_arn
        )
        with pytest.raises(botocore.exceptions.ClientError) as refused:  # AWS never assumes a missing role
            _client(server, "sts", "anything", "goes").assume_role(
                RoleArn=f"arn:aws:iam::{server.account_id}:role/missing", RoleSessionName="s1")
        assert _error_code(refused.value) == "AccessDenied"
        process = server.process
        assert process is not None and process.alive()
    finally:
        server.stop()
    assert not process.alive()
    assert process.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
    assert (tmp_path / "moto.log").stat().st_size > 0
