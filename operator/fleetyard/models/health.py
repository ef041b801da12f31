"""The seed's health shape, kept in the status of ProvisionedClusters and Clusters."""

from __future__ import annotations

import pydantic

from fleetyard.models import common


class ProviderHealth(common.Model):
    status: str | None = None


class NodeGroupHealth(common.Model):
    name: str
    status: str | None = None
    desiredSize: int | None = None
    readyNodes: int | None = None
    message: str | None = None


class SystemPodHealth(common.Model):
    name: str
    namespace: str
    ready: bool
    phase: str | None = None
    restartCount: int | None = None
    message: str | None = None


class Health(common.Model):
    status: str | None = None
    providerMetadata: ProviderHealth | None = None
    nodeGroups: list[NodeGroupHealth] = pydantic.Field(default_factory=list)
    systemPods: list[SystemPodHealth] = pydantic.Field(default_factory=list)
    totalNodes: int | None = None
    readyNodes: int | None = None
    lastCheckedAt: str | None = None
