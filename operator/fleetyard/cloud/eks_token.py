"""EKS bearer tokens, made the way `aws eks get-token` and aws-iam-authenticator expect them.

Called by the kubeconfig and health code with a session of the Connection's assumed role. A token
is `k8s-aws-v1.` + base64url(presigned STS GetCallerIdentity URL) where the presigned request
carries the header `x-k8s-aws-id: <cluster name>`; the cluster's authenticator calls that URL to
learn who the bearer is. EKS accepts a token for 15 minutes; `expires_at` says 14 to stay clear.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import threading
from typing import Any

import boto3

from fleetyard.cloud import errors, session as sessions

PREFIX = "k8s-aws-v1."
CLUSTER_HEADER = "x-k8s-aws-id"
PRESIGN_SECONDS = 60
LIFETIME = datetime.timedelta(minutes=14)


@dataclasses.dataclass(frozen=True)
class Token:
    value: str = dataclasses.field(repr=False)
    expires_at: datetime.datetime


# the STS client is shared (`cloud.session` makes one per session): this call's cluster-name handler
# is registered on it only while this call presigns
_presigning = threading.Lock()
EVENT = "before-sign.sts.GetCallerIdentity"


def _add_cluster_header(cluster_name: str) -> Any:
    def before_sign(request: Any, **_: Any) -> None:
        # botocore's headers append on assignment: a second value would be signed as "a,b"
        del request.headers[CLUSTER_HEADER]
        request.headers[CLUSTER_HEADER] = cluster_name
    return before_sign


def get_token(sess: boto3.Session, cluster_name: str, region: str, now: datetime.datetime | None = None,
              lifetime: datetime.timedelta = LIFETIME) -> Token:
    """A token for `cluster_name`; `lifetime` only sets `expires_at` (shortened in tests)."""
    sts = sessions.client(sess, "sts", region)
    handler = _add_cluster_header(cluster_name)
    with _presigning:
        sts.meta.events.register(EVENT, handler)
        try:
            url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=PRESIGN_SECONDS,
                                             HttpMethod="GET")
        except Exception as exc:  # noqa: BLE001 - presigning fails only on missing credentials
            raise errors.translate(exc) from None
        finally:
            sts.meta.events.unregister(EVENT, handler)
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return Token(PREFIX + encoded, (now or datetime.datetime.now(datetime.timezone.utc)) + min(lifetime, LIFETIME))


def presigned_url(token: str) -> str:
    """The STS URL inside a token (what an authenticator calls); ValueError if it is not one."""
    if not token.startswith(PREFIX):
        raise ValueError("not an EKS token")
    body = token[len(PREFIX):]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
