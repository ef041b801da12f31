"""Secrets Manager: read the secret string behind an ARN (the Connection's external id).

Called by the Connection reconciler. The value is returned, never logged.
"""

from __future__ import annotations

import boto3

from fleetyard.cloud import errors, session as sessions


def secret_string(sess: boto3.Session, secret_arn: str) -> str:
    try:
        out = sessions.client(sess, "secretsmanager", sessions.region_of_arn(secret_arn)).get_secret_value(
            SecretId=secret_arn)
    except Exception as exc:
        raise errors.translate(exc) from None
    return str(out.get("SecretString") or "")
