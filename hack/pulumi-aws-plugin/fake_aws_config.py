"""Provider configuration of the fake `aws` plugin and the boto3 clients built from it.

Configure receives the explicit provider's inputs (camelCase: `region`, `assumeRoles`,
`endpoints`, `skipCredentialsValidation`, `accessKey`, ...). pulumi_aws JSON-encodes every
non-string provider input (`assumeRoles` arrives as the string '[{"roleArn": ...}]', booleans as
"true"), secrets may wrap any of them, and the legacy `variables` map carries the same values as
strings under `aws:config:<key>`/`aws:<key>`; `ProviderConfig.parse` accepts all of these.

Endpoints: the provider's `endpoints` entry for a service if given, else boto3's standard settings
(`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`). Credentials: `accessKey`/`secretKey` if
given, else boto3's default chain (`AWS_ACCESS_KEY_ID`, ...). With `assumeRoles`, each role is
assumed in turn (sts:AssumeRole with ExternalId and RoleSessionName) and every later call uses the
temporary credentials. The session is made on the first AWS call, so a preview that only plans
creates calls nothing. Every client is passed through `fake_aws_trace.instrument` (opt-in call
tracing and emulated latency, off unless FLEETYARD_FAKE_AWS_TRACE/_LATENCY are set).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
from collections.abc import Mapping
from typing import Any

import boto3
import botocore.client
import botocore.config

import fake_aws_trace
from fake_aws_values import is_unknown

_BOOL_KEYS = (
    "skipCredentialsValidation",
    "skipRequestingAccountId",
    "skipMetadataApiCheck",
    "skipRegionValidation",
)


def _snake_to_camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _decode(value: Any) -> Any:
    """A config value that may be JSON-encoded (legacy encoding of objects, lists, booleans)."""
    if isinstance(value, str) and (value[:1] in ("[", "{") or value in ("true", "false")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_snake_to_camel(k): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


def _duration_seconds(text: str | None) -> int | None:
    """'1h', '15m', '900s', '1h30m' -> seconds."""
    if not text:
        return None
    total = 0
    for amount, unit in re.findall(r"(\d+)([hms])", text):
        total += int(amount) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total or None


@dataclasses.dataclass(frozen=True)
class AssumeRole:
    role_arn: str
    external_id: str | None = None
    session_name: str | None = None
    duration_seconds: int | None = None
    policy: str | None = None
    policy_arns: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ProviderConfig:
    region: str
    assume_roles: tuple[AssumeRole, ...] = ()
    endpoints: Mapping[str, str] = dataclasses.field(default_factory=dict)
    access_key: str | None = None
    secret_key: str | None = None
    token: str | None = None
    default_tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    flags: Mapping[str, bool] = dataclasses.field(default_factory=dict)

    @staticmethod
    def parse(args: Mapping[str, Any], variables: Mapping[str, str]) -> ProviderConfig:
        raw: dict[str, Any] = {}
        for name, value in variables.items():
            key = name.split(":")[-1]
            raw[_snake_to_camel(key)] = value
        for name, value in args.items():
            if value is not None:
                raw[_snake_to_camel(name)] = value
        values = {k: _camel_keys(_decode(v)) for k, v in raw.items() if not is_unknown(v)}

        region = (
            values.get("region")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
        )
        if not region:
            raise ValueError("the aws provider needs a region (config `region` or AWS_REGION)")

        roles_value = values.get("assumeRoles") or values.get("assumeRole") or []
        if isinstance(roles_value, dict):
            roles_value = [roles_value]
        roles = tuple(
            AssumeRole(
                role_arn=str(r["roleArn"]),
                external_id=r.get("externalId") or None,
                session_name=r.get("sessionName") or None,
                duration_seconds=_duration_seconds(r.get("duration")),
                policy=r.get("policy") or None,
                policy_arns=tuple(r.get("policyArns") or ()),
            )
            for r in roles_value
            if isinstance(r, dict) and r.get("roleArn")
        )

        endpoints: dict[str, str] = {}
        endpoint_value = values.get("endpoints") or []
        if isinstance(endpoint_value, dict):
            endpoint_value = [endpoint_value]
        for entry in endpoint_value:
            if isinstance(entry, dict):
                endpoints.update({k: str(v) for k, v in entry.items() if v})

        default_tags = values.get("defaultTags") or {}
        tags = default_tags.get("tags") if isinstance(default_tags, dict) else None
        flags = {k: _decode(values.get(k)) in (True, "true") for k in _BOOL_KEYS}
        return ProviderConfig(
            region=str(region),
            assume_roles=roles,
            endpoints=endpoints,
            access_key=values.get("accessKey") or None,
            secret_key=values.get("secretKey") or None,
            token=values.get("token") or None,
            default_tags=dict(tags or {}),
            flags=flags,
        )

    def endpoint(self, service: str) -> str | None:
        """The configured endpoint of `service`, or None to let boto3 apply the standard ones."""
        return self.endpoints.get(service) or None

    def state_key_endpoint(self) -> str | None:
        return (
            self.endpoint("eks")
            or os.environ.get("AWS_ENDPOINT_URL_EKS")
            or os.environ.get("AWS_ENDPOINT_URL")
        )


class Clients:
    """boto3 clients for one configured provider, made lazily, shared between threads."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._session: boto3.session.Session | None = None
        self._clients: dict[tuple[str, str], botocore.client.BaseClient] = {}
        self._account_id: str | None = None
        self._botocore_config = botocore.config.Config(
            retries={"max_attempts": 3, "mode": "standard"}
        )

    def _base_session(self) -> boto3.session.Session:
        cfg = self.config
        if cfg.access_key and cfg.secret_key:
            return boto3.session.Session(
                aws_access_key_id=cfg.access_key,
                aws_secret_access_key=cfg.secret_key,
                aws_session_token=cfg.token,
                region_name=cfg.region,
            )
        return boto3.session.Session(region_name=cfg.region)

    def _make_session(self) -> boto3.session.Session:
        session = self._base_session()
        for role in self.config.assume_roles:
            sts = fake_aws_trace.instrument(session.client(
                "sts",
                region_name=self.config.region,
                endpoint_url=self.config.endpoint("sts"),
                config=self._botocore_config,
            ))
            kwargs: dict[str, Any] = {
                "RoleArn": role.role_arn,
                "RoleSessionName": role.session_name or "pulumi",
            }
            if role.external_id:
                kwargs["ExternalId"] = role.external_id
            if role.duration_seconds:
                kwargs["DurationSeconds"] = role.duration_seconds
            if role.policy:
                kwargs["Policy"] = role.policy
            if role.policy_arns:
                kwargs["PolicyArns"] = [{"arn": arn} for arn in role.policy_arns]
            creds = sts.assume_role(**kwargs)["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=self.config.region,
            )
        return session

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.config.region
        with self._lock:
            if self._session is None:
                self._session = self._make_session()
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = fake_aws_trace.instrument(self._session.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self.config.endpoint(service),
                    config=self._botocore_config,
                ))
            return self._clients[key]

    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = str(self.client("sts").get_caller_identity()["Account"])
        return self._account_id
