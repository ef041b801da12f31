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
