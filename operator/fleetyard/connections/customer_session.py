"""The one way into a customer's account: assume the Connection's role with its external id.

`for_connection` reads the external id and names the session; `assume` / `session` turn that
`Access` into STS credentials or a boto3 session. The Connection verification, the provisioning
runner (catalog), the worker (adoption, the destroy check), the day-2 checks and the REST API's
kubeconfig and metrics all come through here; the Pulumi programs' `aws.Provider` assumes the same
`Access` (`provisioning.aws_provider`). Session names are `fleetyard-<what>`, cut to STS's 64.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading

import boto3

from fleetyard.cloud import errors, session as sessions, sts
from fleetyard.connections import external_id
from fleetyard.models import connection


@dataclasses.dataclass(frozen=True)
class Access:
    """Which role to assume, with what, under which session name, for which region."""

    role_arn: str
    external_id: str = dataclasses.field(repr=False)
    session_name: str
    region: str


class Unusable(errors.CloudError):
    """The Connection cannot be used (its external id cannot be read): to its callers a cloud failure
    like AWS refusing, code ConnectionUnusable; the message names the Secret."""

    def __init__(self, failure: external_id.Unreadable) -> None:
        super().__init__("ConnectionUnusable", failure.message)
        self.failure = failure


def session_name(purpose: str) -> str:
    return f"fleetyard-{purpose}"[:64]


def for_connection(conn: connection.Connection, purpose: str, read_secret: external_id.SecretReader,
                   region: str | None = None) -> Access:
    """The Access of `conn` for `purpose` (e.g. "health", or an Operation's name); `Unusable` when its
    external id cannot be read. `region` defaults to the Connection's home region."""
    config = conn.spec.providerConfig
    try:
        value = external_id.read(conn.namespace, config, read_secret, sessions.base_session(config.region))
    except external_id.Unreadable as exc:
        raise Unusable(exc) from None
    return Access(config.roleArn, value, session_name(purpose), region or config.region)


def assume(access: Access, base: boto3.Session | None = None) -> sts.AssumedRole:
    """STS credentials of the role; `cloud.errors.CloudError` when STS refuses."""
    return sts.assume_role(base or sessions.base_session(access.region), access.role_arn, access.external_id,
                           access.session_name)


REUSE_MARGIN = datetime.timedelta(minutes=5)  # an assumed session is reused until this long before it expires
_sessions: dict[Access, tuple[boto3.Session, datetime.datetime]] = {}
_sessions_lock = threading.Lock()


def session(access: Access, base: boto3.Session | None = None) -> boto3.Session:
    """A session of the role, reused while its credentials have more than REUSE_MARGIN left (a health
    check every minute per cluster would otherwise assume the role and build its clients every
    time). The key is the whole Access: a new external id or role is a new session. The Connection
    verification does not come here: it assumes afresh (`assume`), since proving that works is its job."""
    now = datetime.datetime.now(datetime.timezone.utc)
    with _sessions_lock:
        held = _sessions.get(access)
        if held is not None and held[1] - REUSE_MARGIN > now:
            return held[0]
    assumed = assume(access, base)
    made = assumed.session(access.region)
    expires = assumed.expiration if assumed.expiration.tzinfo else assumed.expiration.replace(
        tzinfo=datetime.timezone.utc)
    with _sessions_lock:
        for key in [k for k, (_, at) in _sessions.items() if at <= now]:
            del _sessions[key]  # expired: never served again
        _sessions[access] = (made, expires)
    return made
