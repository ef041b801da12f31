"""Fixtures of the e2e tests."""

from __future__ import annotations

import pytest

from fleetyard.devenv import customer_account
from tests.e2e import connections


@pytest.fixture()
def role(env) -> customer_account.ConnectionRole:
    """A Connection role in moto, created from fleetyard's template the way a customer would."""
    return connections.deploy_role(env)
