"""The Operation kind: one unit of long-running work (a Pulumi run, a catalog query) on a target.

Seed entity `operation`. Owned by its target; the runner fills status.progress/result/error.
"""

from __future__ import annotations

import typing
from typing import Literal

import pydantic

from fleetyard.models import common

OperationType = Literal["provision", "update", "destroy", "refresh", "listInstanceTypes"]
# What an update touches: everything the program declares, or only the cluster's EKS access entries
# (a Team's members or a cluster's access.teams changed, nothing else).
OperationScope = Literal["all", "accessEntries"]
ACCESS_ENTRIES: OperationScope = "accessEntries"
OperationPhase = Literal["queued", "running", "succeeded", "failed", "cancelled"]
OPERATION_TYPES: tuple[OperationType, ...] = typing.get_args(OperationType)
LIST_INSTANCE_TYPES: OperationType = "listInstanceTypes"
# An Operation without a status.status yet counts as queued: the runner has not written it.
IN_FLIGHT: tuple[OperationPhase, ...] = ("queued", "running")
FINISHED: tuple[OperationPhase, ...] = ("succeeded", "failed", "cancelled")


def in_flight(phase: str | None) -> bool:
    """Queued, running, or not looked at by a runner yet (no phase)."""
    return not phase or phase in IN_FLIGHT


def finished(phase: str | None) -> bool:
    return phase in FINISHED


class ResourceRef(common.Model):
    """The object the work is for (same namespace)."""

    kind: Literal["Connection", "Network", "ProvisionedCluster", "Cluster"] = pydantic.Field(
        description="Kind of the target.")
    name: str = pydantic.Field(min_length=1, max_length=253, description="Name of the target.")


class TargetSpec(common.Model):
    """The part of the target's spec a Pulumi run applies, copied when the Operation is created: the run
    builds exactly this, whatever the target's spec says by the time a worker is free."""

    region: str = pydantic.Field(description="The target's spec.region.")
    config: dict[str, typing.Any] = pydantic.Field(
        description="The target's spec.config as it was at targetGeneration (defaults filled in).")


class OperationSpec(common.Model):
    operation: OperationType = pydantic.Field(
        description="What the run does: provision, update, destroy, refresh (pulumi refresh) or "
                    "listInstanceTypes. Immutable.",
        json_schema_extra={"x-kubernetes-validations": [
            {"rule": "self == oldSelf", "message": "operation is immutable"}]})
    resourceType: Literal["connection", "network", "externalCluster", "cluster"] = pydantic.Field(
        description="The seed's name of the target's kind.")
    resourceRef: ResourceRef = pydantic.Field(description="The target. Immutable.",
                                              json_schema_extra={"x-kubernetes-validations": [
                                                  {"rule": "self == oldSelf", "message": "resourceRef is immutable"}]})
    resourceId: str | None = pydantic.Field(None, description="Seed id of the target.")
    memberId: str | None = pydantic.Field(None, description="Who asked for the work.")
    targetGeneration: int | None = pydantic.Field(
        None, description="The target's metadata.generation this run builds; newer specs need a new run.")
    attempt: int = pydantic.Field(1, ge=1, description="1 for the first run of this change, then each retry.")
    targetSpec: TargetSpec | None = pydantic.Field(
        None, description="What this run applies: the target's region and config at targetGeneration. "
                          "Unset on Operations of a catalog query.",
        json_schema_extra={"x-kubernetes-validations": [
            {"rule": "self == oldSelf", "message": "targetSpec is immutable"}]})
    connectionVersion: str | None = pydantic.Field(
        None, description="The Connection's metadata.generation when the run was asked for: a terminal "
                          "failure is retried once the Connection's spec changes.")
    scope: OperationScope = pydantic.Field(
        "all", description="all: the whole program; accessEntries: only the cluster's EKS access entries "
                           "(a Team or access.teams changed).")
    accessDigest: str | None = pydantic.Field(
        None, description="Digest of the access entries the run grants (from the Teams the cluster names).")


class ResourceProgress(common.Model):
    """One cloud resource of the run, from Pulumi's engine events."""

    urn: str = pydantic.Field(description="Pulumi URN of the resource.")
    type: str = pydantic.Field(description="Pulumi type, e.g. aws:eks/cluster:Cluster.")
    name: str = pydantic.Field(description="Logical name in the program.")
    operation: str = pydantic.Field(description="What the engine does to it: create, update, replace, delete, ...")
    status: str = pydantic.Field(description="pending, running, succeeded, failed or unchanged.")
    duration: float | None = pydantic.Field(None, description="Seconds the step took.")


class ProgressSummary(common.Model):
    """Resources of the run by status."""

    total: int = pydantic.Field(0, description="Resources the run touches.")
    pending: int = pydantic.Field(0, description="Not started yet.")
    running: int = pydantic.Field(0, description="Under way.")
    succeeded: int = pydantic.Field(0, description="Created, updated, replaced or deleted.")
    failed: int = pydantic.Field(0, description="Failed.")
    unchanged: int = pydantic.Field(0, description="Already as wanted.")


class Progress(common.Model):
    """Where the run is."""

    stage: str | None = pydantic.Field(None, description="queued, starting, refreshing, updating, destroying, "
                                                         "done, failed, ...")
    message: str | None = pydantic.Field(None, description="The newest step, for people.")
    resources: list[ResourceProgress] = pydantic.Field(default_factory=list, description="One entry per resource.")
    summary: ProgressSummary | None = None


class InstanceTypeItem(common.Model):
    """One EC2 instance type the region offers, with what a node of it leaves for workloads."""

    provider: str = pydantic.Field(description="aws.")
    instanceType: str = pydantic.Field(description="EC2 instance type, e.g. m7g.large.")
    vCpus: int = pydantic.Field(description="Virtual CPUs.")
    memoryMiB: int = pydantic.Field(description="Memory in MiB.")
    architecture: str = pydantic.Field(description="arm64 or x86_64.")
    gpuCount: int = pydantic.Field(description="GPUs.")
    instanceFamily: str = pydantic.Field(description="Family, e.g. m7g.")
    maxPods: int = pydantic.Field(description="Pods a node may run: ENIs x (IPv4 per ENI - 1) + 2, capped.")
    group: str = pydantic.Field(description="general, compute, memory, gpu, ...")
    allocatableMilliCpu: int = pydantic.Field(description="CPU left after kube-reserved and system DaemonSets.")


class InstanceTypeMetadata(common.Model):
    """The constants behind the catalog's figures (connections/catalog.py documents the formulas)."""

    provider: str = pydantic.Field(description="aws.")
    systemPodsPerNode: int = pydantic.Field(description="System Pods on every node (DaemonSets).")
    systemPodsPerSystemNode: int = pydantic.Field(description="Extra system Pods on a system node.")
    systemPodsFixed: int = pydantic.Field(description="System Pods per cluster.")
    systemPodsPerNodeMargin: int = pydantic.Field(description="Margin of Pods per node.")
    systemPodsFixedMargin: int = pydantic.Field(description="Margin of Pods per cluster.")
    systemMilliCPUPerNode: int = pydantic.Field(description="CPU the system DaemonSets take per node.")
    systemMilliCPUFixed: int = pydantic.Field(description="CPU the system Deployments take per cluster.")
    karpenterMilliCPUPerReplica: int = pydantic.Field(description="CPU of one Karpenter replica.")
    karpenterReplicas: int = pydantic.Field(description="Karpenter replicas.")


class OperationResult(common.Model):
    """What a finished run produced."""

    items: list[InstanceTypeItem] = pydantic.Field(default_factory=list,
                                                   description="listInstanceTypes: the region's instance types.")
    metadata: InstanceTypeMetadata | None = None
    outputs: dict[str, str] | None = pydantic.Field(None, description="Stack outputs of a finished Pulumi run.")


class OperationStatus(common.StatusBase):
    status: OperationPhase | None = pydantic.Field(
        None, description="queued, running, succeeded, failed or cancelled.")
    progress: Progress | None = None
    progressCount: str | None = pydantic.Field(
        None, description="Resources done out of those the run touches, e.g. 17/24 (the PROGRESS column).")
    result: OperationResult | None = None
    error: common.ErrorObject | None = pydantic.Field(None, description="Why the run failed (the seed's error object).")
    startedAt: str | None = pydantic.Field(None, description="When the run started.")
    completedAt: str | None = pydantic.Field(None, description="When the run ended.")
    heartbeatAt: str | None = pydantic.Field(None, description="Beaten while the run is alive; a stale one is "
                                                               "taken over by another operator.")
    operatorInstance: str | None = pydantic.Field(None, description="The operator replica running it.")
    supersededBy: str | None = pydantic.Field(
        None, description="The Operation that applies a newer spec instead of this one (status cancelled).")


Operation = common.Resource[OperationSpec, OperationStatus]
