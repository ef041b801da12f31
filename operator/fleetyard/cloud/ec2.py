"""EC2 reads the operator needs outside Pulumi: the instance types a region offers.

Called by the `listInstanceTypes` Operation runner (and so, through its cache, by the admission
webhook), with a session for the customer's account. Returns the raw `DescribeInstanceTypes`
items; turning them into catalog entries is `fleetyard.catalog`'s job.
"""

from __future__ import annotations

from typing import Any

import boto3

from fleetyard.cloud import errors, session as sessions

# DescribeInstanceTypes allows 5..100 results per page; the largest page means the fewest calls
# (a region offers about 800-1,000 types, so about ten pages).
_PAGE_SIZE = 100


def instance_types(sess: boto3.Session, region: str) -> list[dict[str, Any]]:
    """Every instance type offered in `region`, as EC2 describes it (all pages)."""
    try:
        paginator = sessions.client(sess, "ec2", region).get_paginator("describe_instance_types")
        items: list[dict[str, Any]] = []
        for page in paginator.paginate(PaginationConfig={"PageSize": _PAGE_SIZE}):
            items.extend(page.get("InstanceTypes", []))
    except Exception as exc:
        raise errors.translate(exc) from None
    return items
