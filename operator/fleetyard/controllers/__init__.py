"""Kopf handlers, one module per kind, each thin; the reconcile logic lives beside them in *_phases.py."""
