"""The CloudFormation template customers deploy to create a Connection's role, and its version.

Read by the Connection reconciler (to compare a stack's TemplateVersion output), by the dev
environment and by the tests (to create the role the way a customer would).
"""

from __future__ import annotations

import importlib.resources

VERSION = "2026-11-27.2"
VERSION_OUTPUT = "TemplateVersion"


def body() -> str:
    return importlib.resources.files("fleetyard").joinpath("templates/connection-role.yaml").read_text()
