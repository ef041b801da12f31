"""Integration tests of `fleetyard.devenv.moto_server`: moto as the AWS endpoint with IAM on.

They check that the bootstrap spends exactly the unauthenticated calls moto allows (the very
next call with bad credentials is refused), that the operator's key works, and that
sts:AssumeRole enforces the trust policy's `sts:ExternalId` condition, which the Connection
verification depends on. boto3 refuses external ids shorter than two characters, so the ids
here are longer than the one-letter examples of the design notes.
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

from fleetyard.devenv import moto_server

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


def test_without_access_control_any_key_works_and_stop_ends_it(tmp_path: pathlib.Path) -> None:
    server = moto_server.MotoServer(tmp_path, access_control=False)
    server.start()
    try:
        anyone = _client(server, "iam", "anything", "goes")
        assert anyone.get_user(UserName="fleetyard-operator")["User"]["Arn"] == (
            server.operator_user_arn
        )
        process = server.process
        assert process is not None and process.alive()
    finally:
        server.stop()
    assert not process.alive()
    assert process.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
    assert (tmp_path / "moto.log").stat().st_size > 0
