"""Builds boto3 sessions and clients; the only place that does.

Called by the other `fleetyard.cloud` modules. Endpoints come from the standard AWS settings
(botocore reads AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> itself). A client is made once per
session, service, region and config and then reused (making one loads the service's model: tens
of milliseconds of CPU, the biggest cost of a health check when it was made per call); the
operator's own session is made once per region. boto3 clients are thread-safe; making them from
one session is not, hence the lock. All sessions share one botocore data loader, so a service's
model (EC2's is tens of MB once parsed) is loaded once per process, not once per session: measured,
a session with EC2, EKS and STS clients costs ~26 MiB on its own loader and ~2 MiB on the shared one.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import boto3
import botocore.config
import botocore.loaders
import botocore.session

_lock = threading.Lock()
_base_sessions: dict[str | None, boto3.Session] = {}
_loader = botocore.loaders.create_loader()
_clients: weakref.WeakKeyDictionary[boto3.Session, dict[tuple[str, str, int], Any]] = weakref.WeakKeyDictionary()

_CONFIG = botocore.config.Config(
    connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3},
    user_agent_extra="fleetyard")


def base_session(region: str | None = None) -> boto3.Session:
    """The process's own identity, from the environment or the pod's role (its credentials refresh
    themselves: IRSA / Pod Identity)."""
    with _lock:
        sess = _base_sessions.get(region)
        if sess is None:
            sess = _base_sessions[region] = boto3.Session(region_name=region, botocore_session=_botocore_session())
        return sess


def _botocore_session() -> botocore.session.Session:
    made = botocore.session.get_session()
    made.register_component("data_loader", _loader)
    return made


def session_from_credentials(access_key_id: str, secret_access_key: str, session_token: str | None,
                             region: str | None) -> boto3.Session:
    return boto3.Session(aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                         aws_session_token=session_token, region_name=region, botocore_session=_botocore_session())


# for a call an admission answer waits on: one attempt, short timeouts (the caller has a fallback)
QUICK = botocore.config.Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 1},
                               user_agent_extra="fleetyard")


def client(session: boto3.Session, service: str, region: str | None = None,
           config: botocore.config.Config | None = None) -> Any:
    config = config or _CONFIG
    region = region or session.region_name or "us-east-1"
    key = (service, region, id(config))  # the configs are this module's constants
    with _lock:
        made = _clients.setdefault(session, {})
        if key not in made:
            made[key] = session.client(service, region_name=region, config=config)
        return made[key]


def region_of_arn(arn: str) -> str:
    return arn.split(":")[3]
