"""Judging a cluster's health from what EKS and the cluster's own API say.

Pure: the health rules. Called by the health probe (`day2.probe`) after it gathered the facts. Produces
the seed's health shape, an overall status (`healthy`, `degraded`, `unhealthy`, `unknown`) and the
reason code of the `Healthy` condition. The worst finding wins, in this order: the control plane
(ControlPlaneUnavailable), the API (ApiUnreachable), node groups (NodeGroupDegraded), system pods
(SystemPodsNotReady).
"""

from __future__ import annotations

import dataclasses
from typing import Any

NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"


@dataclasses.dataclass(frozen=True)
class Facts:
    checked_at: str
    provider_status: str | None = None  # EKS cluster status; None for a self-registered cluster
    nodegroups: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # EKS describe_nodegroup
    nodes: list[dict[str, Any]] | None = None  # {"name", "labels", "ready"}; None when the API failed
    pods: list[dict[str, Any]] | None = None  # kube-system: {"name", "namespace", "ready", "phase", ...}
    api_error: str | None = None


@dataclasses.dataclass(frozen=True)
class Assessment:
    status: str
    reason: str
    message: str
    health: dict[str, Any]

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"


def _nodegroup(group: dict[str, Any], nodes: list[dict[str, Any]] | None) -> dict[str, Any]:
    name = group.get("nodegroupName", "")
    desired = (group.get("scalingConfig") or {}).get("desiredSize")
    ready = None if nodes is None else sum(1 for n in nodes if n["ready"] and (n.get("labels") or {}).get(
        NODEGROUP_LABEL) == name)
    issues = ((group.get("health") or {}).get("issues") or [])
    message = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in issues) or None
    if message is None and ready is not None and desired is not None and ready < desired:
        message = f"{ready} of {desired} nodes ready"
    return {"name": name, "status": group.get("status"), "desiredSize": desired, "readyNodes": ready,
            "message": message}


def _degraded_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [g for g in groups if g["status"] not in (None, "ACTIVE") or (
        g["readyNodes"] is not None and g["desiredSize"] is not None and g["readyNodes"] < g["desiredSize"])]


def assess(f: Facts) -> Assessment:
    groups = [_nodegroup(g, f.nodes) for g in f.nodegroups]
    pods = [{k: p.get(k) for k in ("name", "namespace", "ready", "phase", "restartCount", "message")}
            for p in f.pods or []]
    health: dict[str, Any] = {
        "providerMetadata": {"status": f.provider_status} if f.provider_status else None,
        "nodeGroups": groups, "systemPods": pods,
        "totalNodes": None if f.nodes is None else len(f.nodes),
        "readyNodes": None if f.nodes is None else sum(1 for n in f.nodes if n["ready"]),
        "lastCheckedAt": f.checked_at,
    }
    status, reason, message = _verdict(f, groups, pods)
    health["status"] = status
    return Assessment(status, reason, message, {k: v for k, v in health.items() if v is not None})


def _verdict(f: Facts, groups: list[dict[str, Any]], pods: list[dict[str, Any]]) -> tuple[str, str, str]:
    if f.provider_status is not None and f.provider_status != "ACTIVE":
        return "unhealthy", "ControlPlaneUnavailable", f"the EKS control plane is {f.provider_status}"
    if f.api_error is not None:
        return "unhealthy", "ApiUnreachable", f"the cluster API did not answer: {f.api_error}"
    degraded = _degraded_groups(groups)
    if degraded:
        return "degraded", "NodeGroupDegraded", "; ".join(
            f"node group {g['name']}: {g['message'] or g['status']}" for g in degraded)
    if f.nodes is not None and not groups and f.nodes and not any(n["ready"] for n in f.nodes):
        return "degraded", "NodesNotReady", "no node is ready"
    not_ready = [p for p in pods if not p["ready"] and p.get("phase") != "Succeeded"]
    if not_ready:
        names = ", ".join(p["name"] for p in not_ready[:5]) + (" ..." if len(not_ready) > 5 else "")
        return "degraded", "SystemPodsNotReady", f"{len(not_ready)} kube-system pod(s) not ready: {names}"
    return "healthy", "Healthy", "all checks passed"
