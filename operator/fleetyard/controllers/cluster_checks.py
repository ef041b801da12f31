"""One health check of a ProvisionedCluster or a self-registered Cluster, and what follows from it:
status (the seed's health shape, lastHealth*, the Healthy condition), an Event when health changes,
the kubeconfig Secrets of a provisioned cluster (machine token rewritten before it expires), and
the Prometheus gauge.

Called by the health daemons in `fleetyard.controllers.health` from a worker thread.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from fleetyard import cluster_metrics, conditions, health_probe, kubeconfigs, metrics, settings as settings_mod
from fleetyard.cloud import cloudwatch, errors
from fleetyard.kube import events, patching, resources, secrets
from fleetyard.models import kinds

log = logging.getLogger(__name__)
HEALTHY = "Healthy"
EXPIRES_AT = "fleetyard.io/expires-at"
SECRET_LABELS = {"app.kubernetes.io/managed-by": "fleetyard", "cluster.x-k8s.io/secret-type": "kubeconfig"}
CHECKED_PHASES = ("active", "updating")


def machine_secret(name: str) -> str:
    return f"{name}-kubeconfig"


def user_secret(name: str) -> str:
    return f"{name}-user-kubeconfig"


def token_due(annotations: dict[str, str] | None, now: datetime.datetime, refresh_before: float) -> bool:
    """Rewrite the machine kubeconfig when it is missing or expires within `refresh_before` seconds."""
    raw = (annotations or {}).get(EXPIRES_AT)
    if not raw:
        return True
    expires = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return (expires - now).total_seconds() <= refresh_before


def health_status(probe: health_probe.Probe, previous: dict[str, Any], generation: int | None) -> dict[str, Any]:
    a = probe.assessment
    out: dict[str, Any] = {"health": a.health, "lastHealthStatus": a.status, "lastHealthMessage": a.message,
                           "lastHealthCheckAt": a.health.get("lastCheckedAt")}
    conds = conditions.set_condition(list(previous.get("conditions") or []), HEALTHY, a.healthy, a.reason,
                                     a.message, generation)
    out["conditions"] = conds
    return out


def _transition_event(obj: dict[str, Any], previous: str | None, probe: health_probe.Probe) -> None:
    current = probe.assessment.status
    if previous == current or (previous is None and current == "healthy"):
        return
    events.post(obj, "Normal" if current == "healthy" else "Warning", probe.assessment.reason,
                f"health is {current}: {probe.assessment.message}")


def check_provisioned(namespace: str, name: str, cfg: settings_mod.Settings) -> str | None:
    obj = resources.get_object(kinds.PROVISIONED_CLUSTER, namespace, name)
    status = (obj or {}).get("status") or {}
    if obj is None or status.get("status") not in CHECKED_PHASES or obj["metadata"].get("deletionTimestamp"):
        return None
    connection = resources.get_object(kinds.CONNECTION, namespace, obj["spec"]["connectionRef"]["name"])
    if connection is None:
        return None
    with metrics.HEALTH_CHECK_SECONDS.labels("ProvisionedCluster").time():
        probe = health_probe.provisioned(obj, connection, timeout=cfg.health_timeout,
                                         job_namespace=cfg.job_namespace, token_lifetime=cfg.token_lifetime)
    patch = health_status(probe, status, obj["metadata"].get("generation"))
    if probe.assessment.health.get("providerMetadata"):
        patch["providerMetadata"] = {"status": probe.assessment.health["providerMetadata"]["status"]}
    if probe.endpoint is not None and probe.token is not None:
        patch.update(write_kubeconfigs(obj, probe, cfg))
    patching.patch_status(kinds.PROVISIONED_CLUSTER, namespace, name, patch)
    _record(obj, "ProvisionedCluster", status.get("lastHealthStatus"), probe)
    publish_samples(obj, probe)
    return probe.assessment.status


def publish_samples(obj: dict[str, Any], probe: health_probe.Probe) -> None:
    """The series fleetyard owns (ready nodes per type, active Jobs) go to CloudWatch in the customer's
    account, so `/metrics` reads every series the same way."""
    if probe.session is None or probe.endpoint is None or probe.assessment.health.get("totalNodes") is None:
        return
    samples = cluster_metrics.health_samples(probe.endpoint.name, probe.ready_nodes_by_type, probe.active_jobs or 0,
                                             datetime.datetime.now(datetime.timezone.utc))
    try:
        cloudwatch.put_samples(probe.session, obj["spec"]["region"], cluster_metrics.NAMESPACE, samples)
    except errors.CloudError as exc:
        log.warning("could not publish health samples", extra={"code": exc.code,
                                                               "object": obj["metadata"]["name"]})


def write_kubeconfigs(obj: dict[str, Any], probe: health_probe.Probe, cfg: settings_mod.Settings) -> dict[str, Any]:
    """Both kubeconfig Secrets (CAPI's `<name>-kubeconfig` convention); returns the status refs."""
    assert probe.endpoint is not None and probe.token is not None
    name, now = obj["metadata"]["name"], datetime.datetime.now(datetime.timezone.utc)
    machine = machine_secret(name)
    if token_due(secrets.read_annotations(obj["metadata"]["namespace"], machine), now, cfg.token_refresh_before):
        expires = probe.token.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        secrets.apply(obj, machine, {"value": kubeconfigs.with_token(probe.endpoint, probe.token.value)},
                      {EXPIRES_AT: expires}, SECRET_LABELS)
        metrics.TOKEN_REFRESHES.inc()
        log.info("machine kubeconfig written", extra={"object": f"{obj['metadata']['namespace']}/{name}",
                                                       "expiresAt": expires})
    user = user_secret(name)
    document = kubeconfigs.with_exec(probe.endpoint, probe.role_arn)
    current = resources.secret_or_none(obj["metadata"]["namespace"], user)
    if current != document:
        secrets.apply(obj, user, {"value": document}, {}, SECRET_LABELS)
    return {"kubeconfigSecretRef": {"name": machine}, "userKubeconfigSecretRef": {"name": user}}


def check_registered(namespace: str, name: str, cfg: settings_mod.Settings) -> str | None:
    obj = resources.get_object(kinds.CLUSTER, namespace, name)
    if obj is None or not (obj.get("spec") or {}).get("kubeconfigSecretRef") or obj["metadata"].get(
            "deletionTimestamp"):
        return None
    status = obj.get("status") or {}
    with metrics.HEALTH_CHECK_SECONDS.labels("Cluster").time():
        probe = health_probe.registered(obj, timeout=cfg.health_timeout, job_namespace=cfg.job_namespace)
    patch = health_status(probe, status, obj["metadata"].get("generation"))
    patch["externalStatus"] = "active" if probe.assessment.status != "unknown" else "pending"
    if probe.kubernetes_version:
        patch["kubernetesVersion"] = probe.kubernetes_version
    patching.patch_status(kinds.CLUSTER, namespace, name, patch)
    _record(obj, "Cluster", status.get("lastHealthStatus"), probe)
    return probe.assessment.status


def _record(obj: dict[str, Any], kind: str, previous: str | None, probe: health_probe.Probe) -> None:
    meta = obj["metadata"]
    metrics.CLUSTER_HEALTHY.labels(kind, meta["namespace"], meta["name"]).set(1 if probe.assessment.healthy else 0)
    metrics.HEALTH_CHECKS.labels(kind, probe.assessment.status).inc()
    _transition_event(obj, previous, probe)
