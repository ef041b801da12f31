"""Pulumi provisioning: programs, the worker process, progress and failure reporting."""
