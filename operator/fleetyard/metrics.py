"""Prometheus metrics the operator exposes on /metrics (prometheus-client's default registry)."""

from __future__ import annotations

import prometheus_client

CONNECTION_VERIFICATIONS = prometheus_client.Counter(
    "fleetyard_connection_verifications_total", "Connection verifications by result and reason",
    ["result", "reason"])
CONNECTION_VERIFY_SECONDS = prometheus_client.Histogram(
    "fleetyard_connection_verification_seconds", "Time to verify a Connection against AWS")
ADMISSION_REJECTIONS = prometheus_client.Counter(
    "fleetyard_admission_rejections_total", "Requests refused by fleetyard's admission webhooks", ["kind"])
ADMISSION_REQUESTS = prometheus_client.Counter(
    "fleetyard_admission_requests_total", "Admission requests answered, by webhook (handler id)", ["webhook"])
OPERATIONS = prometheus_client.Counter(
    "fleetyard_operations_total", "Finished Operations by type, kind and result", ["operation", "kind", "result"])
OPERATION_SECONDS = prometheus_client.Histogram(
    "fleetyard_operation_duration_seconds", "Wall time of an Operation's worker run", ["operation", "kind"],
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 2400, 3600))
OPERATIONS_RUNNING = prometheus_client.Gauge("fleetyard_operations_running", "Operations with a worker running")
OPERATIONS_QUEUED = prometheus_client.Gauge("fleetyard_operations_queued", "Operations waiting for a worker slot")
CLUSTER_HEALTHY = prometheus_client.Gauge(
    "fleetyard_cluster_healthy", "1 when the cluster's last health check passed, else 0",
    ["kind", "namespace", "name"])
HEALTH_CHECKS = prometheus_client.Counter(
    "fleetyard_health_checks_total", "Health checks by kind and result status", ["kind", "status"])
HEALTH_CHECK_SECONDS = prometheus_client.Histogram(
    "fleetyard_health_check_duration_seconds", "Time of one health check", ["kind"])
TOKEN_REFRESHES = prometheus_client.Counter(
    "fleetyard_kubeconfig_token_refreshes_total", "Machine kubeconfig Secrets rewritten with a fresh token")
RECONCILES = prometheus_client.Counter(
    "fleetyard_reconciles_total", "Reconciles by kind and result", ["kind", "result"])
ENGINE_SECONDS = prometheus_client.Histogram(
    "fleetyard_pulumi_engine_seconds", "Time inside the Pulumi engine (up/destroy/refresh) per Operation",
    ["operation", "kind"], buckets=(2, 5, 10, 30, 60, 120, 300, 600, 1200, 2400))
