"""Who may see a cluster: Team membership (usernames and groups) against `spec.access.teams`.

Pure; called by the REST API's store for `/me` and anything listing clusters for a user. A cluster is
visible to a user who is a member of at least one Team named in its `access.teams`, in the
cluster's own namespace (an organization), either by username or through one of their groups.
Names of Teams that do not exist grant nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def teams_of(username: str, groups: Iterable[str], teams: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    """(namespace, team name) of every Team the user belongs to."""
    user_groups = set(groups)
    found = set()
    for team in teams:
        spec = team.get("spec") or {}
        if username in (spec.get("members") or []) or user_groups & set(spec.get("groups") or []):
            found.add((team["metadata"]["namespace"], team["metadata"]["name"]))
    return found


def names(items: Iterable[Any] | None) -> list[str]:
    """Team names of an `access.teams` list as stored: each item a name or {name, access, namespaces}."""
    out = []
    for item in items or []:
        name = item if isinstance(item, str) else (item or {}).get("name") if isinstance(item, dict) else None
        if name:
            out.append(name)
    return out


def may_see(cluster: dict[str, Any], memberships: set[tuple[str, str]]) -> bool:
    namespace = cluster["metadata"]["namespace"]
    wanted = names(((cluster.get("spec") or {}).get("access") or {}).get("teams"))
    return any((namespace, name) in memberships for name in wanted)


def visible_clusters(username: str, groups: Iterable[str], teams: Iterable[dict[str, Any]],
                     clusters: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The clusters (Cluster or ProvisionedCluster bodies) the user may see, in the given order."""
    memberships = teams_of(username, groups, teams)
    return [c for c in clusters if may_see(c, memberships)]
