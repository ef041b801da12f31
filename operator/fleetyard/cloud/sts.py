"""STS: assume a Connection's role with its external id; ask who we are.

Called by the Connection reconciler (and later by every run that acts in a customer account).
"""

from __future__ import annotations

import dataclasses
import datetime

import boto3

from fleetyard.cloud import errors, session as sessions


@dataclasses.dataclass(frozen=True)
class AssumedRole:
    role_arn: str
    assumed_arn: str
    access_key_id: str = dataclasses.field(repr=False)
    secret_access_key: str = dataclasses.field(repr=False)
    session_token: str = dataclasses.field(repr=False)
    expiration: datetime.datetime

    def session(self, region: str | None = None) -> boto3.Session:
        return sessions.session_from_credentials(self.access_key_id, self.secret_access_key,
                                                 self.session_token, region)


def assume_role(base: boto3.Session, role_arn: str, external_id: str, session_name: str,
                duration_seconds: int = 900) -> AssumedRole:
    try:
        out = sessions.client(base, "sts").assume_role(
            RoleArn=role_arn, ExternalId=external_id, RoleSessionName=session_name[:64],
            DurationSeconds=duration_seconds)
    except Exception as exc:
        raise errors.translate(exc) from None
    creds = out["Credentials"]
    return AssumedRole(role_arn, out["AssumedRoleUser"]["Arn"], creds["AccessKeyId"], creds["SecretAccessKey"],
                       creds["SessionToken"], creds["Expiration"])


def caller_account(sess: boto3.Session) -> str:
    try:
        return str(sessions.client(sess, "sts").get_caller_identity()["Account"])
    except Exception as exc:
        raise errors.translate(exc) from None
