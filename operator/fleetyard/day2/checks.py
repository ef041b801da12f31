"""One health check of a ProvisionedCluster or a self-registered Cluster, and what follows from it:
status (the seed's health shape, lastHealth*, the Healthy condition), an Event when health changes,
the kubeconfig Secrets of a provisioned cluster, the samples behind its usage metrics, and the
Prometheus gauge.

Called by the health daemons (`fleetyard.controllers.health_daemon`) from a worker thread. Each
check reads its objects, typed, and hands them to the probe; before writing it reads again and writes
only over that version (a destroy that began during the probe wins: the result is dropped).
"""

from __future__ import annotations

import logging
from typing import Any

from fleetyard import metrics, settings as settings_mod
from fleetyard.cloud import cloudwatch, errors
from fleetyard.day2 import kubeconfig_secrets, probe as probe_mod, retirement, usage_metrics
from fleetyard.kube import events, patching, resources, secrets
from fleetyard.models import cluster as cluster_model, common, conditions, kinds, provisioned_cluster, timestamps

log = logging.getLogger(__name__)
CHECKED_PHASES = ("active", "updating")
WRITE_ATTEMPTS = 3


def health_status(probe: probe_mod.Probe, previous: common.StatusBase, generation: int | None) -> dict[str, Any]:
    a = probe.assessment
    out: dict[str, Any] = {"health": a.health, "lastHealthStatus": a.status, "lastHealthMessage": a.message,
                           "lastHealthCheckAt": a.health.get("lastCheckedAt")}
    previous_conditions = previous.as_stored().get("conditions") or []
    out["conditions"] = conditions.set_condition(previous_conditions, conditions.HEALTHY, a.healthy, a.reason,
                                                 a.message, generation)
    return out


def _transition_event(obj: common.Resource, previous: str | None, probe: probe_mod.Probe) -> None:
    current = probe.assessment.status
    if previous == current or (previous is None and current == "healthy"):
        return
    events.post(obj, "Normal" if current == "healthy" else "Warning", probe.assessment.reason,
                f"health is {current}: {probe.assessment.message}")


def _checkable(obj: provisioned_cluster.ProvisionedCluster | None) -> bool:
    return obj is not None and obj.status.status in CHECKED_PHASES and not obj.deleting


def check_provisioned(namespace: str, name: str, cfg: settings_mod.Settings) -> str | None:
    obj: provisioned_cluster.ProvisionedCluster | None = resources.get(kinds.PROVISIONED_CLUSTER, namespace, name)
    if obj is None or not _checkable(obj):
        return None
    conn = resources.get(kinds.CONNECTION, namespace, obj.spec.connectionRef.name)
    if conn is None:
        return None
    with metrics.HEALTH_CHECK_SECONDS.labels(kinds.PROVISIONED_CLUSTER.kind).time():
        probe = probe_mod.provisioned(obj, conn, secrets.value, timeout=cfg.health_timeout,
                                      job_namespace=cfg.job_namespace, token_lifetime=cfg.token_lifetime)
    written = _write_provisioned(namespace, name, probe, cfg)
    if written is None:
        return None
    _record(written, written.status.lastHealthStatus, probe)
    publish_samples(written, probe)
    return probe.assessment.status


def _write_provisioned(namespace: str, name: str, probe: probe_mod.Probe, cfg: settings_mod.Settings,
                       ) -> provisioned_cluster.ProvisionedCluster | None:
    """Write what the probe found, unless the cluster stopped being checkable meanwhile (a destroy began,
    a delete): then the result is dropped and any Secret it wrote removed. The status patch is computed
    from a fresh read and applies only to that version, so it never overwrites a newer phase or
    conditions; returns the object it was written over."""
    for attempt in range(WRITE_ATTEMPTS):
        # from memory first; after a conflict the memory may still lag: read the API
        obj: provisioned_cluster.ProvisionedCluster | None = resources.get(kinds.PROVISIONED_CLUSTER, namespace, name,
                                                                           fresh=attempt > 0)
        if obj is None or not _checkable(obj):
            if obj is not None and retirement.reason(obj.status.status or "", obj.deleting):
                retirement.clean_up(obj)  # a Secret written just now, after the reconciler removed them
            log.info("health result dropped: the cluster is no longer checked", extra={"object": f"{namespace}/{name}"})
            return None
        patch = health_status(probe, obj.status, obj.metadata.generation)
        if probe.assessment.health.get("providerMetadata"):
            patch["providerMetadata"] = {"status": probe.assessment.health["providerMetadata"]["status"]}
        if probe.endpoint is not None and probe.token is not None:
            patch.update(kubeconfig_secrets.write(obj, probe.endpoint, probe.token,
                                                  cfg.token_refresh_before, cfg.argocd_namespace))
        try:
            patching.patch_status(kinds.PROVISIONED_CLUSTER, namespace, name, patch, obj.metadata.resourceVersion)
        except patching.Conflict:
            continue  # written meanwhile (a phase, a condition): read again and decide again
        return obj
    log.info("health result dropped: the cluster kept changing", extra={"object": f"{namespace}/{name}"})
    return None


def publish_samples(obj: provisioned_cluster.ProvisionedCluster, probe: probe_mod.Probe) -> None:
    """The series fleetyard owns (ready nodes per type, active Jobs) go to CloudWatch in the customer's
    account, so `/metrics` reads every series the same way."""
    if probe.session is None or probe.endpoint is None or probe.assessment.health.get("totalNodes") is None:
        return
    samples = usage_metrics.health_samples(probe.endpoint.name, probe.ready_nodes_by_type, probe.active_jobs or 0,
                                           timestamps.utcnow())
    try:
        cloudwatch.put_samples(probe.session, obj.spec.region, usage_metrics.NAMESPACE, samples)
    except errors.CloudError as exc:
        log.warning("could not publish health samples", extra={"code": exc.code, "object": obj.name})


def check_registered(namespace: str, name: str, cfg: settings_mod.Settings) -> str | None:
    obj: cluster_model.Cluster | None = resources.get(kinds.CLUSTER, namespace, name)
    if obj is None or obj.spec.kubeconfigSecretRef is None or obj.deleting:
        return None
    with metrics.HEALTH_CHECK_SECONDS.labels(kinds.CLUSTER.kind).time():
        probe = probe_mod.registered(obj, secrets.value, timeout=cfg.health_timeout, job_namespace=cfg.job_namespace)
    for attempt in range(WRITE_ATTEMPTS):
        current: cluster_model.Cluster | None = resources.get(kinds.CLUSTER, namespace, name, fresh=attempt > 0)
        if current is None or current.deleting or current.spec.kubeconfigSecretRef != obj.spec.kubeconfigSecretRef:
            return None  # deleted, or pointed at another cluster while this one was checked
        patch = health_status(probe, current.status, current.metadata.generation)
        reachable = probe.assessment.status != "unknown"
        patch["externalStatus"] = "active" if reachable else "pending"
        # Ready: fleetyard reaches the cluster through its kubeconfig (Healthy says how it is doing)
        patch["conditions"] = conditions.set_condition(patch["conditions"], conditions.READY, reachable,
                                                       "Reachable" if reachable else probe.assessment.reason,
                                                       "" if reachable else probe.assessment.message,
                                                       current.metadata.generation)
        patch["observedGeneration"] = current.metadata.generation
        if probe.kubernetes_version:
            patch["kubernetesVersion"] = probe.kubernetes_version
        try:
            patching.patch_status(kinds.CLUSTER, namespace, name, patch, current.metadata.resourceVersion)
        except patching.Conflict:
            continue
        _record(current, current.status.lastHealthStatus, probe)
        return probe.assessment.status
    return None


def _record(obj: common.Resource, previous: str | None, probe: probe_mod.Probe) -> None:
    metrics.CLUSTER_HEALTHY.labels(obj.kind, obj.namespace, obj.name).set(1 if probe.assessment.healthy else 0)
    metrics.HEALTH_CHECKS.labels(obj.kind, probe.assessment.status).inc()
    _transition_event(obj, previous, probe)
