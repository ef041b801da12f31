"""moto in server mode as the local AWS endpoint, with IAM access control switched on.

`MotoServer` runs `python -m moto.server` on a free 127.0.0.1 port and bootstraps the
operator's identity: IAM user `fleetyard-operator`, an inline policy allowing everything, and
an access key. With `access_control=True` the server starts with `INITIAL_NO_AUTH_ACTION_COUNT`
equal to those bootstrap calls, so from the next call on moto checks signatures and evaluates
IAM policies (role trust policies and `sts:ExternalId` conditions included). moto counts every
AWS API request that reaches a service handler, whatever its outcome, and ignores
`/moto-api/...` requests; the bootstrap therefore disables botocore retries and the readiness
probe uses `/moto-api/config`. `fleetyard dev up` and the e2e fixtures use it. `server_env`
adds settings to the server process's environment only, e.g.
`{"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}` so AWS managed policies
(`arn:aws:iam::aws:policy/...`) exist for role policy attachments.
"""

from __future__ import annotations

import collections.abc
import http.client
import json
import os
import pathlib
import sys

import boto3
import botocore.config

from fleetyard.devenv import processes

OPERATOR_USER = "fleetyard-operator"
OPERATOR_POLICY = "fleetyard-operator-admin"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"

_BOOTSTRAP_CALLS = 3

_SERVER_ENV_DROP = ("INITIAL_NO_AUTH_ACTION_COUNT", "MOTO_ACCOUNT_ID", "MOTO_PORT")


class MotoServer(processes.Service):
    """One moto server process and the operator credentials bootstrapped into it."""

    def __init__(
        self,
        state_dir: pathlib.Path,
        access_control: bool = True,
        server_env: collections.abc.Mapping[str, str] | None = None,
    ) -> None:
        self.state_dir = pathlib.Path(state_dir).resolve()
        self.access_control = access_control
        self.server_env = dict(server_env or {})
        self.region = DEFAULT_REGION
        self.account_id = DEFAULT_ACCOUNT_ID
        self._port: int | None = None
        self._process: processes.ManagedProcess | None = None
        self._access_key_id: str | None = None
        self._secret_access_key: str | None = None
        self._operator_user_arn: str | None = None

    @property
    def endpoint(self) -> str:
        if self._port is None:
            raise RuntimeError("moto server is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def access_key_id(self) -> str:
        return _started(self._access_key_id)

    @property
    def secret_access_key(self) -> str:
        return _started(self._secret_access_key)

    @property
    def operator_user_arn(self) -> str:
        return _started(self._operator_user_arn)

    @property
    def process(self) -> processes.ManagedProcess | None:
        return self._process

    def env(self) -> dict[str, str]:
        """The standard AWS settings that point boto3 (and pulumi_aws) at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def start(self, timeout: float = 60) -> None:
        """Start the server, wait until it answers, and bootstrap the operator user."""
        if self._process is not None and self._process.alive():
            raise RuntimeError(f"moto server in {self.state_dir} is already running")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        port = processes.free_port()
        env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_DROP}
        env.update(self.server_env)
        if self.access_control:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(_BOOTSTRAP_CALLS)
        self._process = processes.ManagedProcess(
            "moto",
            [sys.executable, "-m", "fleetyard.devenv.moto_main", "-H", "127.0.0.1", "-p", str(port)],
            log_dir=self.state_dir,
            env=env,
        )
        self._process.start()
        try:
            self._process.wait_ready(lambda: _answers(port), timeout, "answering")
            self._port = port
            self._bootstrap()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
        self._port = None

    def _bootstrap(self) -> None:
        """Exactly `_BOOTSTRAP_CALLS` AWS requests, each sent once."""
        iam = boto3.client(
            "iam",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
            config=botocore.config.Config(retries={"total_max_attempts": 1}),
        )
        user = iam.create_user(UserName=OPERATOR_USER)["User"]
        iam.put_user_policy(
            UserName=OPERATOR_USER,
            PolicyName=OPERATOR_POLICY,
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName=OPERATOR_USER)["AccessKey"]
        self._operator_user_arn = user["Arn"]
        self.account_id = user["Arn"].split(":")[4]
        self._access_key_id = key["AccessKeyId"]
        self._secret_access_key = key["SecretAccessKey"]


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/moto-api/config")
        response = conn.getresponse()
        response.read()
        return response.status < 500
    finally:
        conn.close()


def _started(value: str | None) -> str:
    if value is None:
        raise RuntimeError("moto server is not started")
    return value
