"""From Teams to EKS access entries: which IAM principal gets which AWS-managed access policy, with
which scope, on a cluster whose `spec.access.teams` names the Teams.

Pure; called by the infra reconciler (its digest says whether the entries changed, which starts an
update Operation of the access entries alone), by the runner when it builds a cluster job, and by
the cluster program through the job. The mapping, as the README's "Who can reach a cluster" table
shows it:

| level | EKS access policy | scope |
|---|---|---|
| view | AmazonEKSViewPolicy | cluster, or the listed namespaces |
| edit | AmazonEKSEditPolicy | cluster, or the listed namespaces |
| admin | AmazonEKSAdminPolicy | cluster, or the listed namespaces |
| cluster-admin | AmazonEKSClusterAdminPolicy | always the cluster |

A principal named by several Teams gets one access entry with one association per policy; a policy
given both cluster-wide and per namespace is cluster-wide; namespaces of one policy are merged. The
Connection's role is never given an entry here: its own cluster-admin entry is the operator's.
Teams that do not exist give nothing (admission refuses new names of missing Teams).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

import pydantic

from fleetyard.models import common, team as team_model

POLICY_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
POLICIES: dict[str, str] = {
    "view": "AmazonEKSViewPolicy",
    "edit": "AmazonEKSEditPolicy",
    "admin": "AmazonEKSAdminPolicy",
    "cluster-admin": "AmazonEKSClusterAdminPolicy",
}


def policy_arn(level: str) -> str:
    return POLICY_PREFIX + POLICIES[level]


class PolicyGrant(pydantic.BaseModel):
    """One access policy association: cluster scope when `namespaces` is empty."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    policy_arn: str
    namespaces: tuple[str, ...] = ()


class EntryGrant(pydantic.BaseModel):
    """One access entry (type STANDARD) of an IAM principal and its policy associations."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    principal_arn: str
    policies: tuple[PolicyGrant, ...]
    teams: tuple[str, ...] = ()


def _scope(grant: common.TeamGrant, team: team_model.TeamSpec) -> tuple[str, tuple[str, ...]]:
    level = grant.access or team.access.level
    namespaces = grant.namespaces if grant.namespaces is not None else team.access.namespaces
    return level, () if level == "cluster-admin" else tuple(namespaces)


def entries(access: common.Access, teams: Iterable[team_model.Team], exclude: Iterable[str] = ()) -> list[EntryGrant]:
    """The access entries `access` asks for, sorted by principal; `exclude`: principals never given one
    (the Connection's role)."""
    by_name = {t.name: t for t in teams}
    skipped = set(exclude)
    wanted: dict[str, dict[str, set[str] | None]] = {}  # principal -> policy -> namespaces (None: cluster)
    named: dict[str, set[str]] = {}
    for grant in access.grants():
        team = by_name.get(grant.name)
        if team is None:
            continue
        level, namespaces = _scope(grant, team.spec)
        arn = policy_arn(level)
        for principal in team.spec.principals:
            if principal in skipped:
                continue
            policies = wanted.setdefault(principal, {})
            named.setdefault(principal, set()).add(grant.name)
            if not namespaces or (arn in policies and policies[arn] is None):
                policies[arn] = None
            else:
                current = policies.get(arn)
                policies[arn] = (current or set()) | set(namespaces)
    return [EntryGrant(principal_arn=p, teams=tuple(sorted(named[p])), policies=tuple(
        PolicyGrant(policy_arn=arn, namespaces=tuple(sorted(ns or ())))
        for arn, ns in sorted(wanted[p].items()))) for p in sorted(wanted)]


def digest(grants: Iterable[EntryGrant]) -> str | None:
    """A short digest of what the entries grant (not which team asked): None when there are none."""
    items = [[g.principal_arn, [[p.policy_arn, list(p.namespaces)] for p in g.policies]] for g in grants]
    if not items:
        return None
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()[:16]
