"""EKS reads for day-2 work: the cluster (endpoint, CA, status) and its node groups.

Called by the health probe and the kubeconfig code with a session of the Connection's assumed role.
"""

from __future__ import annotations

from typing import Any

import boto3

from fleetyard.cloud import errors, session as sessions


def describe_cluster(sess: boto3.Session, name: str) -> dict[str, Any]:
    try:
        return dict(sessions.client(sess, "eks").describe_cluster(name=name)["cluster"])
    except Exception as exc:  # noqa: BLE001 - translated into a CloudError
        raise errors.translate(exc) from None


def nodegroups(sess: boto3.Session, cluster: str) -> list[dict[str, Any]]:
    eks = sessions.client(sess, "eks")
    try:
        names = [n for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster)
                 for n in page.get("nodegroups", [])]
        return [dict(eks.describe_nodegroup(clusterName=cluster, nodegroupName=n)["nodegroup"]) for n in names]
    except Exception as exc:  # noqa: BLE001 - translated into a CloudError
        raise errors.translate(exc) from None
