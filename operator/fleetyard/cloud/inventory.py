"""What the cloud says still exists: the checks behind "destroyed means gone".

Called by the provisioning worker after a destroy, with a session for the customer's account.
Each function answers from the service itself (EC2, EKS), not from Pulumi's state.
"""

from __future__ import annotations

import boto3
import botocore.exceptions

from fleetyard.cloud import errors, session as sessions

_GONE_CODES = {"InvalidVpcID.NotFound", "ResourceNotFoundException", "NotFoundException"}


def vpc_exists(sess: boto3.Session, vpc_id: str) -> bool:
    try:
        vpcs = sessions.client(sess, "ec2").describe_vpcs(VpcIds=[vpc_id]).get("Vpcs", [])
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE_CODES:
            return False
        raise errors.translate(exc) from None
    return bool(vpcs)


def eks_cluster_status(sess: boto3.Session, name: str) -> str | None:
    """The cluster's EKS status (ACTIVE, DELETING, ...), or None when EKS no longer knows it."""
    try:
        return str(sessions.client(sess, "eks").describe_cluster(name=name)["cluster"]["status"])
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE_CODES:
            return None
        raise errors.translate(exc) from None
