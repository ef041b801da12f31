"""Pulumi provisioning: the Operation runner, the Job, the worker process and its programs, progress and failures."""
