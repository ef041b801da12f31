"""EKS reads: the cluster (endpoint, CA, status) and its node groups for day-2 work; the Kubernetes
versions EKS offers in a region.

`describe_cluster` / `nodegroups` are called by the health probe and the kubeconfig code with a session
of the Connection's assumed role; `cluster_versions` by `fleetyard.connections.eks_versions` with the
process's own identity (the list is the same for every account of a region).
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


# DescribeClusterVersions' versionStatus values of versions a cluster can be created on or upgraded to
# (standard and extended support; UNSUPPORTED ones are answered only with includeAll)
OFFERED_STATUSES = frozenset({"STANDARD_SUPPORT", "EXTENDED_SUPPORT"})


def cluster_versions(sess: boto3.Session, region: str) -> list[str]:
    """The Kubernetes minor versions EKS offers for new and upgraded clusters in `region`
    (DescribeClusterVersions, clusterType eks, every page), e.g. ["1.33", "1.34"]. One quick attempt:
    the callers fall back on a maintained list."""
    eks = sessions.client(sess, "eks", region, config=sessions.QUICK)
    try:
        pages = eks.get_paginator("describe_cluster_versions").paginate(clusterType="eks")
        found = [v for page in pages for v in page.get("clusterVersions", [])]
    except Exception as exc:  # noqa: BLE001 - translated into a CloudError
        raise errors.translate(exc) from None
    return [str(v["clusterVersion"]) for v in found if v.get("clusterVersion") and _offered(v)]


def _offered(version: dict[str, Any]) -> bool:
    # versionStatus (STANDARD_SUPPORT), or the older status field (standard-support); neither: offered
    status = version.get("versionStatus") or str(version.get("status") or "").upper().replace("-", "_")
    return not status or status in OFFERED_STATUSES
