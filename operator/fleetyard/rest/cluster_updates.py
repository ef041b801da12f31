"""The update of a provisioned cluster (`POST /infra/connections/{c}/clusters/{k}`): which spec fields a
partial body changes, and whether the result is a valid spec.

Pure; called by the `connection_clusters` router, which sends the patch through `fleetyard.rest.writes`.
The rule, field by field (docs/rest-api-guide.md, "Updates"): a field left out keeps its value; a field
given replaces it; objects (`config`, `config.systemNodeGroup`, `access`) merge field by field; lists
(`instanceTypes`, `publicAccessCidrs`, `access.teams`) are replaced whole. The patch is a JSON merge
patch (RFC 7386) holding only what the body gave, so the apiserver merges it into the object as it is
then, and a field nobody sent cannot be reset by a stale read. The merged spec is checked here with the
spec types (the same rules and messages as admission); the apiserver's CEL rules check it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pydantic

from fleetyard.models import api, provisioned_cluster, validation
from fleetyard.rest import errors

# body field -> spec field
SPEC_FIELDS = {"name": "displayName", "config": "config", "access": "access"}


def patch_of(body: api.ClusterUpdate) -> dict[str, Any]:
    """The spec merge patch of a body: only the fields it gave (an absent field is not in the dump)."""
    given = body.model_dump(mode="json")
    return {SPEC_FIELDS[k]: v for k, v in given.items()}


def merged(current: Any, patch: Any) -> Any:
    """RFC 7386 (no nulls: the body model refuses them): objects merge, anything else replaces."""
    if not isinstance(patch, dict) or not isinstance(current, dict):
        return patch
    out = dict(current)
    for key, value in patch.items():
        out[key] = merged(current.get(key), value)
    return out


def check(spec: dict[str, Any], patch: dict[str, Any], teams: Iterable[str]) -> None:
    """400 naming the field unless `spec` with `patch` merged in is a valid spec; `teams`: the Teams of the
    organization (a Team named in access.teams must exist)."""
    if "config" in patch:
        config = merged(spec.get("config") or {}, patch["config"])
        try:
            provisioned_cluster.ClusterConfig.model_validate(config)
        except pydantic.ValidationError as exc:
            fields = errors.field_errors([{**e, "loc": ("config", *e["loc"])} for e in exc.errors()])
            name, message = next(iter(fields.items()))
            raise errors.ApiError(400, f"{name}: {message}", field_errors=fields) from None
        current = (spec.get("config") or {}).get("kubernetesVersion")
        wanted = patch["config"].get("kubernetesVersion")
        if current and wanted:
            try:
                validation.check_version_transition(current, wanted)
            except ValueError as exc:
                raise errors.invalid("config.kubernetesVersion",
                                     str(exc).removeprefix("config.kubernetesVersion ")) from None
    require_teams((patch.get("access") or {}).get("teams") or [], teams)


def require_teams(names: list[str], teams: Iterable[str]) -> None:
    """400 naming `access.teams[i]` for the first name that is not a Team of the organization (`teams`)."""
    known = set(teams)
    for i, team in enumerate(names):
        if team not in known:
            raise errors.invalid(f"access.teams[{i}]", f"no Team {team} in this organization")
