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
    kind: Literal["Connection", "Network", "ProvisionedCluster", "Cluster"]
    name: str = pydantic.Field(min_length=1, max_length=253)


class TargetSpec(common.Model):
    """The part of the target's spec a Pulumi run applies, copied when the Operation is created: the run
    builds exactly this, whatever the target's spec says by the time a worker is free."""

    region: str = pydantic.Field(description="The target's spec.region.")
    config: dict[str, typing.Any] = pydantic.Field(
        description="The target's spec.config as it was at targetGeneration (defaults filled in).")


class OperationSpec(common.Model):
    operation: OperationType = pydantic.Field(json_schema_extra={"x-kubernetes-validations": [
        {"rule": "self == oldSelf", "message": "operation is immutable"}]})
    resourceType: Literal["connection", "network", "externalCluster", "cluster"]
    resourceRef: ResourceRef = pydantic.Field(json_schema_extra={"x-kubernetes-validations": [
        {"rule": "self == oldSelf", "message": "resourceRef is immutable"}]})
    resourceId: str | None = None
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
    urn: str
    type: str
    name: str
    operation: str
    status: str
    duration: float | None = None


class ProgressSummary(common.Model):
    total: int = 0
    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    unchanged: int = 0


class Progress(common.Model):
    stage: str | None = None
    message: str | None = None
    resources: list[ResourceProgress] = pydantic.Field(default_factory=list)
    summary: ProgressSummary | None = None


class InstanceTypeItem(common.Model):
    provider: str
    instanceType: str
    vCpus: int
    memoryMiB: int
    architecture: str
    gpuCount: int
    instanceFamily: str
    maxPods: int
    group: str
    allocatableMilliCpu: int


class InstanceTypeMetadata(common.Model):
    provider: str
    systemPodsPerNode: int
    systemPodsPerSystemNode: int
    systemPodsFixed: int
    systemPodsPerNodeMargin: int
    systemPodsFixedMargin: int
    systemMilliCPUPerNode: int
    systemMilliCPUFixed: int
    karpenterMilliCPUPerReplica: int
    karpenterReplicas: int


class OperationResult(common.Model):
    items: list[InstanceTypeItem] = pydantic.Field(default_factory=list)
    metadata: InstanceTypeMetadata | None = None
    outputs: dict[str, str] | None = pydantic.Field(None, description="Stack outputs of a finished Pulumi run.")


class OperationStatus(common.StatusBase):
    status: OperationPhase | None = None
    progress: Progress | None = None
    result: OperationResult | None = None
    error: common.ErrorObject | None = None
    startedAt: str | None = None
    completedAt: str | None = None
    heartbeatAt: str | None = None
    operatorInstance: str | None = None
    supersededBy: str | None = pydantic.Field(
        None, description="The Operation that applies a newer spec instead of this one (status cancelled).")


Operation = common.Resource[OperationSpec, OperationStatus]
