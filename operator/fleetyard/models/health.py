"""The seed's health shape, kept in the status of ProvisionedClusters and Clusters."""

from __future__ import annotations

import pydantic

from fleetyard.models import common


class ProviderHealth(common.Model):
    """What the cloud provider says about the cluster."""

    status: str | None = pydantic.Field(None, description="EKS's cluster status, e.g. ACTIVE.")


class NodeGroupHealth(common.Model):
    """One node group as EKS and the cluster's Nodes report it."""

    name: str = pydantic.Field(description="Name of the EKS node group.")
    status: str | None = pydantic.Field(None, description="EKS's node group status, e.g. ACTIVE.")
    desiredSize: int | None = pydantic.Field(None, description="Nodes EKS is asked to run.")
    readyNodes: int | None = pydantic.Field(None, description="Nodes of the group that are Ready.")
    message: str | None = pydantic.Field(None, description="What is wrong, if anything.")


class SystemPodHealth(common.Model):
    """One kube-system Pod."""

    name: str = pydantic.Field(description="Name of the Pod.")
    namespace: str = pydantic.Field(description="Namespace of the Pod (kube-system).")
    ready: bool = pydantic.Field(description="Whether all its containers are ready.")
    phase: str | None = pydantic.Field(None, description="The Pod's phase, e.g. Running.")
    restartCount: int | None = pydantic.Field(None, description="Container restarts so far.")
    message: str | None = pydantic.Field(None, description="Why it is not ready, if it is not.")


class Health(common.Model):
    """The seed's health object: the last check of the cluster."""

    status: str | None = pydantic.Field(None, description="healthy, degraded, unhealthy or unknown.")
    providerMetadata: ProviderHealth | None = None
    nodeGroups: list[NodeGroupHealth] = pydantic.Field(default_factory=list, description="Each node group.")
    systemPods: list[SystemPodHealth] = pydantic.Field(default_factory=list, description="The kube-system Pods.")
    totalNodes: int | None = pydantic.Field(None, description="Nodes the cluster's API lists.")
    readyNodes: int | None = pydantic.Field(None, description="Of those, the Ready ones.")
    lastCheckedAt: str | None = pydantic.Field(None, description="When the check ran.")
