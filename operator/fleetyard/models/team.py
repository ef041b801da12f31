"""The Team kind: who may use which clusters (matched by username or group)."""

from __future__ import annotations

import pydantic

from fleetyard.models import common


class TeamSpec(common.Model):
    displayName: common.DisplayName
    members: list[str] = pydantic.Field(default_factory=list, max_length=1000,
                                        description="Usernames as the management cluster authenticates them.")
    groups: list[str] = pydantic.Field(default_factory=list, max_length=100,
                                       description="Groups whose members belong to the team.")


class TeamStatus(common.StatusBase):
    pass


Team = common.Resource[TeamSpec, TeamStatus]
