"""How a cluster's health is judged from EKS and its API, worst finding first."""

from __future__ import annotations

import pytest

from fleetyard.day2 import assessment as ch, retirement

AT = "2026-11-27T12:00:00Z"


def node(name: str, ready: bool = True, group: str = "system-1") -> dict:
    return {"name": name, "ready": ready, "labels": {ch.NODEGROUP_LABEL: group}}


def pod(name: str, ready: bool = True, phase: str = "Running") -> dict:
    return {"name": name, "namespace": "kube-system", "ready": ready, "phase": phase, "restartCount": 0}


GROUP = {"nodegroupName": "system-1", "status": "ACTIVE", "scalingConfig": {"desiredSize": 2}}

CASES = [
    ("all good", ch.Facts(AT, "ACTIVE", [GROUP], [node("a"), node("b")], [pod("coredns-1")]),
     ("healthy", "Healthy")),
    ("control plane updating", ch.Facts(AT, "UPDATING", [GROUP], [node("a"), node("b")], []),
     ("unhealthy", "ControlPlaneUnavailable")),
    ("api unreachable", ch.Facts(AT, "ACTIVE", [GROUP], None, None, "HTTP 401 Unauthorized"),
     ("unhealthy", "ApiUnreachable")),
    ("a node not ready", ch.Facts(AT, "ACTIVE", [GROUP], [node("a"), node("b", ready=False)], []),
     ("degraded", "NodeGroupDegraded")),
    ("node group degraded in EKS", ch.Facts(AT, "ACTIVE", [{**GROUP, "status": "DEGRADED", "health": {"issues": [
        {"code": "Ec2LaunchTemplateNotFound", "message": "gone"}]}}], [node("a"), node("b")], []),
     ("degraded", "NodeGroupDegraded")),
    ("system pod crashing", ch.Facts(AT, "ACTIVE", [GROUP], [node("a"), node("b")],
                                     [pod("coredns-1"), pod("aws-node-x", ready=False)]),
     ("degraded", "SystemPodsNotReady")),
    ("finished pods do not count", ch.Facts(AT, "ACTIVE", [GROUP], [node("a"), node("b")],
                                            [pod("job-x", ready=False, phase="Succeeded")]),
     ("healthy", "Healthy")),
    ("registered cluster, no nodes ready", ch.Facts(AT, None, [], [node("a", ready=False, group="")], []),
     ("degraded", "NodesNotReady")),
]


@pytest.mark.parametrize("name,facts,expected", CASES, ids=[c[0] for c in CASES])
def test_verdict(name: str, facts: ch.Facts, expected: tuple[str, str]) -> None:
    a = ch.assess(facts)
    assert (a.status, a.reason) == expected, a.message
    assert a.health["status"] == a.status and a.health["lastCheckedAt"] == AT


def test_seed_shape_counts_nodes_per_group() -> None:
    a = ch.assess(ch.Facts(AT, "ACTIVE", [GROUP], [node("a"), node("b", ready=False), node("c", group="other")],
                           [pod("coredns-1")]))
    assert a.health["providerMetadata"] == {"status": "ACTIVE"}
    assert a.health["nodeGroups"] == [{"name": "system-1", "status": "ACTIVE", "desiredSize": 2, "readyNodes": 1,
                                       "message": "1 of 2 nodes ready"}]
    assert (a.health["totalNodes"], a.health["readyNodes"]) == (3, 2)
    assert a.message == "node group system-1: 1 of 2 nodes ready"


def test_unreachable_api_leaves_counts_out() -> None:
    a = ch.assess(ch.Facts(AT, "ACTIVE", [GROUP], None, None, "ReadTimeoutError"))
    assert "totalNodes" not in a.health and a.health["nodeGroups"][0]["readyNodes"] is None
    assert "ReadTimeoutError" in a.message


@pytest.mark.parametrize("phase,deleting,reason", [
    ("active", False, None), ("updating", False, None), ("failed", False, None), ("pending", False, None),
    ("destroying", False, "Destroying"), ("destroyed", False, "Destroyed"), ("active", True, "Deleting")])
def test_health_retires_when_the_infrastructure_goes(phase: str, deleting: bool, reason: str | None) -> None:

    assert retirement.reason(phase, deleting) == reason


def test_a_retired_cluster_shows_unknown_and_no_stale_provider_status() -> None:

    fields = retirement.status_fields(retirement.message("destroyed", False))
    assert fields["lastHealthStatus"] == "unknown" and fields["health"] is None
    assert fields["providerMetadata"] == {"status": None} and fields["kubeconfigSecretRef"] is None
    assert fields["lastHealthMessage"] == "not checked: the cluster is destroyed"
    assert retirement.needs_cleanup({"kubeconfigSecretRef": {"name": "x-kubeconfig"}}, False)
    assert not retirement.needs_cleanup({}, False) and retirement.needs_cleanup({}, True)
