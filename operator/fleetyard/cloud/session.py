"""Builds boto3 sessions and clients; the only place that does.

Called by the other `fleetyard.cloud` modules. Endpoints come from the standard AWS settings
(botocore reads AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> itself).
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.config

_CONFIG = botocore.config.Config(
    connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3},
    user_agent_extra="fleetyard")


def base_session(region: str | None = None) -> boto3.Session:
    """The operator's own identity, from the environment or the pod's role."""
    return boto3.Session(region_name=region)


def session_from_credentials(access_key_id: str, secret_access_key: str, session_token: str | None,
                             region: str | None) -> boto3.Session:
    return boto3.Session(aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                         aws_session_token=session_token, region_name=region)


# for a call an admission answer waits on: one attempt, short timeouts (the caller has a fallback)
QUICK = botocore.config.Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 1},
                               user_agent_extra="fleetyard")


def client(session: boto3.Session, service: str, region: str | None = None,
           config: botocore.config.Config | None = None) -> Any:
    return session.client(service, region_name=region or session.region_name or "us-east-1",
                          config=config or _CONFIG)


def region_of_arn(arn: str) -> str:
    return arn.split(":")[3]
