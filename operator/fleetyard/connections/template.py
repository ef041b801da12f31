"""The CloudFormation template customers deploy to create a Connection's role, and its version.

Read by the Connection verification (to compare a stack's TemplateVersion output), by
`fleetyard connection template` (onboarding), the dev environment and the tests (to create the role
the way a customer would).
"""

from __future__ import annotations

import importlib.resources

VERSION = "2026-11-27.2"
VERSION_OUTPUT = "TemplateVersion"


def body() -> str:
    return importlib.resources.files("fleetyard").joinpath("templates/connection-role.yaml").read_text()
