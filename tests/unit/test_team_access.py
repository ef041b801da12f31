"""From Teams to EKS access entries, and when a change of them alone is an access-entries update."""

from __future__ import annotations

import dataclasses

import pydantic
import pytest

from fleetyard.controllers import infra_phases as p
from fleetyard.models import common, kinds, team_access
from tests.unit.test_infra_phases import facts, op

ROLE = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Data_0a1b"
USER = "arn:aws:iam::123456789012:user/dana"
CONNECTION_ROLE = "arn:aws:iam::123456789012:role/FleetyardConnection"
VIEW, EDIT, ADMIN, CLUSTER_ADMIN = (team_access.policy_arn(level) for level in ("view", "edit", "admin", "cluster-admin"))


def team(name: str, principals: list[str], level: str = "view", namespaces: list[str] = ()) -> object:
    return kinds.TEAM.parse({"metadata": {"name": name, "namespace": "acme"}, "spec": {
        "displayName": name, "principals": principals, "access": {"level": level, "namespaces": list(namespaces)}}})


def grants(teams_field: list, teams: list) -> list[tuple[str, list[tuple[str, tuple[str, ...]]]]]:
    out = team_access.entries(common.Access(teams=teams_field), teams, [CONNECTION_ROLE])
    return [(e.principal_arn, [(g.policy_arn, g.namespaces) for g in e.policies]) for e in out]


@pytest.mark.parametrize(("teams_field", "teams", "expected"), [
    (["data"], [team("data", [USER])], [(USER, [(VIEW, ())])]),
    (["data"], [team("data", [USER], "edit", ["etl", "dev-*"])], [(USER, [(EDIT, ("dev-*", "etl"))])]),
    # the cluster overrides the level, and the scope
    ([{"name": "data", "access": "admin"}], [team("data", [USER], "view", ["etl"])], [(USER, [(ADMIN, ("etl",))])]),
    ([{"name": "data", "namespaces": []}], [team("data", [USER], "view", ["etl"])], [(USER, [(VIEW, ())])]),
    # cluster-admin is always cluster-wide
    ([{"name": "data", "access": "cluster-admin"}], [team("data", [USER], "view", ["etl"])],
     [(USER, [(CLUSTER_ADMIN, ())])]),
    # one entry per principal; one association per policy, cluster-wide wins, namespaces merge
    (["a", "b", "c"], [team("a", [USER, ROLE], "view", ["x"]), team("b", [USER], "view"),
                       team("c", [ROLE], "view", ["y"])],
     [(ROLE, [(VIEW, ("x", "y"))]), (USER, [(VIEW, ())])]),
    (["a", "b"], [team("a", [USER], "view"), team("b", [USER], "edit", ["etl"])],
     [(USER, [(EDIT, ("etl",)), (VIEW, ())])]),
    # Teams not named, missing Teams and the Connection's role give nothing
    (["ghost"], [team("data", [USER])], []),
    (["data"], [team("data", [CONNECTION_ROLE, USER])], [(USER, [(VIEW, ())])]),
    ([], [team("data", [USER])], []),
])
def test_teams_become_access_entries(teams_field: list, teams: list, expected: list) -> None:
    assert grants(teams_field, teams) == expected


def test_the_digest_follows_what_is_granted_not_who_asked() -> None:
    one = team_access.entries(common.Access(teams=["a"]), [team("a", [USER])])
    same = team_access.entries(common.Access(teams=["b"]), [team("b", [USER])])
    more = team_access.entries(common.Access(teams=["a"]), [team("a", [USER, ROLE])])
    assert team_access.digest(one) == team_access.digest(same) != team_access.digest(more)
    assert team_access.digest([]) is None


@pytest.mark.parametrize(("spec", "message"), [
    ({"principals": ["arn:aws:sts::123456789012:assumed-role/Data/dana"]}, "is a session"),
    ({"principals": ["arn:aws:iam::12345:user/dana"]}, "principals[*]"),
    ({"principals": [USER, USER]}, "each ARN once"),
    ({"access": {"level": "cluster-admin", "namespaces": ["etl"]}}, "cluster-admin is cluster-wide"),
    ({"access": {"level": "root"}}, "level"),
])
def test_team_spec_refuses(spec: dict, message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message.replace("[", r"\[").replace("*", r"\*")):
        kinds.TEAM.spec.model_validate({"displayName": "d", **spec})


def test_access_teams_accepts_names_and_objects_and_keeps_names_as_they_were() -> None:
    access = common.Access.model_validate({"teams": ["data", {"name": "ops", "access": "edit", "namespaces": ["a"]}]})
    assert access.team_names() == ["data", "ops"]
    assert access.model_dump(mode="json", exclude_none=True) == {
        "teams": ["data", {"name": "ops", "access": "edit", "namespaces": ["a"]}]}
    with pytest.raises(pydantic.ValidationError, match="each Team once"):
        common.Access.model_validate({"teams": ["data", {"name": "data"}]})


def _built(digest: str | None, gen: int = 1, phase: str = "succeeded", scope: str = "all") -> p.LastOperation:
    return dataclasses.replace(op("update", phase, gen), scope=scope, access_digest=digest)


@pytest.mark.parametrize(("last", "f_kw", "expected"), [
    # converged: nothing to do
    (_built("d1"), {"access_digest": "d1"}, ("active", None, "all")),
    # only the entries changed: an update scoped to them
    (_built("d1"), {"access_digest": "d2"}, ("updating", "update", "accessEntries")),
    (_built(None), {"access_digest": "d2"}, ("updating", "update", "accessEntries")),
    (_built("d1"), {"access_digest": None}, ("updating", "update", "accessEntries")),
    # the spec changed too: a full update carries the entries
    (_built("d1"), {"access_digest": "d2", "generation": 2}, ("updating", "update", "all")),
    # a failed access-entries update is retried as one when it may be
    (dataclasses.replace(_built("d2", phase="failed", scope="accessEntries"),
                         error={"code": "X", "message": "m", "details": {"retryable": True, "retryAfter": 0}}),
     {"access_digest": "d2"}, ("updating", "update", "accessEntries")),
])
def test_access_changes_start_an_access_entries_update(last: p.LastOperation, f_kw: dict,
                                                       expected: tuple[str, str | None, str]) -> None:
    decision = p.decide(facts(provisioned="True", current_phase="active", last=last, **f_kw))
    assert (decision.phase, decision.start, decision.scope) == expected
