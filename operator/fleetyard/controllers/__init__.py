"""Kopf handlers, one module per kind, each thin; the reconcile logic lives beside them (*_phases.py, infra_*)."""
