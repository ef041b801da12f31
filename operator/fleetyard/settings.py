"""Operator settings: one frozen object, read from the environment once by the CLI and passed down."""

from __future__ import annotations

import dataclasses
import os
import random
import socket


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a number") from None


def _names(raw: str | None) -> frozenset[str] | None:
    """A comma-separated list; None when the variable is unset."""
    if raw is None:
        return None
    return frozenset(n.strip() for n in raw.split(",") if n.strip())


@dataclasses.dataclass(frozen=True)
class Settings:
    connection_verify_interval: float = 600.0
    connection_retry_interval: float = 30.0
    # Nothing ticks: changes arrive by watch. Each object is still looked at again after this long
    # (+-10 %), from memory, as a safety net (controller-runtime's resync); a converged object costs
    # no request then.
    resync_interval: float = 3600.0
    reconcile_workers: int = 8
    listen_address: str = "127.0.0.1"
    health_port: int = 8080
    metrics_port: int = 9090
    # `fleetyard webhooks`: the admission server's port and serving certificate files.
    webhook_port: int = 9443
    webhook_cert: str | None = None
    webhook_key: str | None = None
    peering_name: str = "fleetyard"
    # a standby replica takes over once the active one's peering claim is this old (seconds)
    peering_lifetime: float = 60.0
    standalone: bool = False
    # Shards: the live replicas split the organizations (namespaces) between them instead of one
    # acting and the others standing by; membership through Leases in `shard_namespace`.
    sharded: bool = False
    shard_lease_duration: float = 15.0
    shard_namespace: str = "fleetyard-system"
    # Kopf peering: the replica with the highest priority acts, the others stand by; equal
    # priorities would make all of them pause, so each replica picks its own unless told.
    priority: int = dataclasses.field(default_factory=lambda: random.randint(1, 1_000_000))
    instance: str = dataclasses.field(default_factory=socket.gethostname)
    log_json: bool = True
    # Provisioning: where Pulumi keeps stack state (file:// directory or s3:// bucket), where each
    # run gets its workspace, and the Secret holding the state's secrets passphrase.
    state_backend_url: str = "file:///var/lib/fleetyard/state"
    workspace_root: str = "/var/lib/fleetyard/workspaces"
    passphrase_secret: str = "fleetyard-system/fleetyard-pulumi"
    max_operations: int = 4
    max_operations_per_connection: int = 2
    heartbeat_interval: float = 10.0
    progress_interval: float = 1.0
    operation_history: int = 10
    retry_base: float = 10.0
    retry_cap: float = 600.0
    # Day 2: health checks (jittered per cluster), API timeouts, machine kubeconfig tokens.
    health_interval: float = 60.0
    health_timeout: float = 10.0
    token_lifetime: float = 840.0
    token_refresh_before: float = 300.0
    job_namespace: str = "fleetyard-system"
    # Where Argo CD reads its cluster Secrets (the opt-in `fleetyard.io/argocd` copies of the machine kubeconfig).
    argocd_namespace: str = "argocd"
    # REST API (`fleetyard api`): where it listens, how long it trusts a TokenReview / a
    # SubjectAccessReview answer, and how long a write waits for the watch cache (and for the
    # operator's Operation) before answering.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_token_cache_ttl: float = 10.0
    api_access_cache_ttl: float = 5.0
    api_write_wait: float = 10.0
    # user-extra keys the API forwards when it impersonates a caller (the chart's ClusterRole grants
    # `impersonate` on exactly these `userextras/<key>`); None forwards all
    api_impersonate_extras: frozenset[str] | None = None
    # Admission and the REST API: how long the Kubernetes versions EKS answered for a region are
    # trusted, and how soon EKS is asked again after it could not be (the maintained list meanwhile).
    eks_versions_ttl: float = 3600.0
    eks_versions_failure_ttl: float = 60.0

    @property
    def stale_after(self) -> float:
        """A running Operation whose heartbeat is older than this was left by a dead operator."""
        return 3 * self.heartbeat_interval

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        d = cls()
        return cls(
            connection_verify_interval=_float(env, "FLEETYARD_CONNECTION_VERIFY_INTERVAL", d.connection_verify_interval),
            connection_retry_interval=_float(env, "FLEETYARD_CONNECTION_RETRY_INTERVAL", d.connection_retry_interval),
            resync_interval=_float(env, "FLEETYARD_RESYNC_INTERVAL", d.resync_interval),
            reconcile_workers=int(_float(env, "FLEETYARD_RECONCILE_WORKERS", d.reconcile_workers)),
            listen_address=env.get("FLEETYARD_LISTEN_ADDRESS", d.listen_address),
            health_port=int(_float(env, "FLEETYARD_HEALTH_PORT", d.health_port)),
            metrics_port=int(_float(env, "FLEETYARD_METRICS_PORT", d.metrics_port)),
            webhook_port=int(_float(env, "FLEETYARD_WEBHOOK_PORT", d.webhook_port)),
            webhook_cert=env.get("FLEETYARD_WEBHOOK_CERT") or None,
            webhook_key=env.get("FLEETYARD_WEBHOOK_KEY") or None,
            peering_name=env.get("FLEETYARD_PEERING", d.peering_name),
            peering_lifetime=_float(env, "FLEETYARD_PEERING_LIFETIME", d.peering_lifetime),
            standalone=env.get("FLEETYARD_STANDALONE", "") in ("1", "true", "yes"),
            sharded=env.get("FLEETYARD_SHARDS", "") in ("1", "true", "yes"),
            shard_lease_duration=_float(env, "FLEETYARD_SHARD_LEASE_DURATION", d.shard_lease_duration),
            shard_namespace=env.get("FLEETYARD_SHARD_NAMESPACE") or d.shard_namespace,
            priority=int(_float(env, "FLEETYARD_PRIORITY", d.priority)),
            instance=env.get("FLEETYARD_INSTANCE") or d.instance,
            log_json=env.get("FLEETYARD_LOG_FORMAT", "json") == "json",
            state_backend_url=env.get("FLEETYARD_STATE_BACKEND") or d.state_backend_url,
            workspace_root=env.get("FLEETYARD_WORKSPACE_ROOT") or d.workspace_root,
            passphrase_secret=env.get("FLEETYARD_PASSPHRASE_SECRET") or d.passphrase_secret,
            max_operations=int(_float(env, "FLEETYARD_MAX_OPERATIONS", d.max_operations)),
            max_operations_per_connection=int(_float(env, "FLEETYARD_MAX_OPERATIONS_PER_CONNECTION",
                                                     d.max_operations_per_connection)),
            heartbeat_interval=_float(env, "FLEETYARD_HEARTBEAT_INTERVAL", d.heartbeat_interval),
            progress_interval=_float(env, "FLEETYARD_PROGRESS_INTERVAL", d.progress_interval),
            operation_history=int(_float(env, "FLEETYARD_OPERATION_HISTORY", d.operation_history)),
            retry_base=_float(env, "FLEETYARD_RETRY_BASE", d.retry_base),
            retry_cap=_float(env, "FLEETYARD_RETRY_CAP", d.retry_cap),
            health_interval=_float(env, "FLEETYARD_HEALTH_INTERVAL", d.health_interval),
            health_timeout=_float(env, "FLEETYARD_HEALTH_TIMEOUT", d.health_timeout),
            token_lifetime=_float(env, "FLEETYARD_TOKEN_LIFETIME", d.token_lifetime),
            token_refresh_before=_float(env, "FLEETYARD_TOKEN_REFRESH_BEFORE", d.token_refresh_before),
            job_namespace=env.get("FLEETYARD_JOB_NAMESPACE") or d.job_namespace,
            argocd_namespace=env.get("FLEETYARD_ARGOCD_NAMESPACE") or d.argocd_namespace,
            api_host=env.get("FLEETYARD_API_HOST") or d.api_host,
            api_port=int(_float(env, "FLEETYARD_API_PORT", d.api_port)),
            api_token_cache_ttl=_float(env, "FLEETYARD_API_TOKEN_CACHE_TTL", d.api_token_cache_ttl),
            api_access_cache_ttl=_float(env, "FLEETYARD_API_ACCESS_CACHE_TTL", d.api_access_cache_ttl),
            api_write_wait=_float(env, "FLEETYARD_API_WRITE_WAIT", d.api_write_wait),
            api_impersonate_extras=_names(env.get("FLEETYARD_API_IMPERSONATE_EXTRAS")),
            eks_versions_ttl=_float(env, "FLEETYARD_EKS_VERSIONS_TTL", d.eks_versions_ttl),
            eks_versions_failure_ttl=_float(env, "FLEETYARD_EKS_VERSIONS_FAILURE_TTL", d.eks_versions_failure_ttl),
        )
