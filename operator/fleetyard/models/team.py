"""The Team kind: who may use which clusters, inside fleetyard (usernames, groups) and on the clusters
themselves (IAM principals, which the cluster program turns into EKS access entries).

The access levels map one to one onto EKS's AWS-managed access policies (`team_access.POLICIES`);
`access` is what the team gets on every cluster that names it in `spec.access.teams`, which a
cluster may override per team.
"""

from __future__ import annotations

import pydantic

from fleetyard.models import common, validation

AccessLevel = common.AccessLevel
CLUSTER_ADMIN_SCOPE_MESSAGE = "access.namespaces: cluster-admin is cluster-wide; leave namespaces empty"


def check_scope(level: str | None, namespaces: list[str] | None, field: str) -> None:
    if level == "cluster-admin" and namespaces:
        raise ValueError(CLUSTER_ADMIN_SCOPE_MESSAGE.replace("access.namespaces", field))


NAMESPACES_FIELD = pydantic.Field(
    default_factory=list, max_length=20,
    json_schema_extra={"items": {"type": "string", "pattern": validation.NAMESPACE_SCOPE_PATTERN, "maxLength": 63}},
    description="Namespaces of the workload cluster the access is limited to (`*` wildcards allowed, as in EKS); "
                "empty: cluster-wide.")


class TeamAccess(common.Model):
    model_config = pydantic.ConfigDict(json_schema_extra=validation.cel(validation.rule(
        "!has(self.level) || self.level != 'cluster-admin' || !has(self.namespaces) || size(self.namespaces) == 0", CLUSTER_ADMIN_SCOPE_MESSAGE, ".namespaces")))

    level: AccessLevel = pydantic.Field(
        "view", description="view, edit, admin or cluster-admin: EKS's AmazonEKSViewPolicy, AmazonEKSEditPolicy, "
                            "AmazonEKSAdminPolicy or AmazonEKSClusterAdminPolicy.")
    namespaces: list[str] = NAMESPACES_FIELD

    @pydantic.field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        return [validation.check_pattern(v, validation.NAMESPACE_SCOPE_PATTERN, "access.namespaces[*]",
                                         "a namespace name (`*` wildcards allowed)") for v in value]

    @pydantic.model_validator(mode="after")
    def _scope(self) -> "TeamAccess":
        check_scope(self.level, self.namespaces, "access.namespaces")
        return self


class TeamSpec(common.Model):
    displayName: common.DisplayName
    members: list[str] = pydantic.Field(default_factory=list, max_length=1000,
                                        description="Usernames as the management cluster authenticates them.")
    groups: list[str] = pydantic.Field(default_factory=list, max_length=100,
                                       description="Groups whose members belong to the team.")
    principals: list[str] = pydantic.Field(
        default_factory=list, max_length=100,
        json_schema_extra={"items": {"type": "string", "pattern": validation.IAM_PRINCIPAL_PATTERN, "maxLength": 2048},
                           "x-kubernetes-list-type": "set"},
        description="IAM role or user ARNs of the members (e.g. an SSO permission-set role): each gets an EKS "
                    "access entry on the clusters that name the team.")
    access: TeamAccess = pydantic.Field(default_factory=TeamAccess,
                                        description="What the principals get on the clusters that name the team.")

    @pydantic.field_validator("principals")
    @classmethod
    def _principals(cls, value: list[str]) -> list[str]:
        for arn in value:
            if ":sts::" in arn or ":assumed-role/" in arn:
                raise ValueError(f"principals: {arn} is a session; name its role (arn:aws:iam::<account>:role/<name>)")
            validation.check_pattern(arn, validation.IAM_PRINCIPAL_PATTERN, "principals[*]",
                                     "an IAM role or user ARN (arn:aws:iam::<account>:role/<name> or :user/<name>)")
        if len(set(value)) != len(value):
            raise ValueError("principals: each ARN once")
        return value


class TeamStatus(common.StatusBase):
    pass


Team = common.Resource[TeamSpec, TeamStatus]
