"""Pure admission rules: stamping ids and authorship, and checks the CRD schema cannot express.

Called by `fleetyard.controllers.admission` (the webhook handlers). Each function takes plain
values and returns a patch or an error message; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic

from fleetyard.models import common, ids, kinds, team as team_model


def stamp(operation: str, old: dict[str, Any] | None, new: dict[str, Any], username: str, now: str,
          id_taken: Callable[[str], bool]) -> dict[str, Any]:
    """Metadata to merge into the object: the id label on create, created-by / updated-by annotations."""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    new_meta = new.get("metadata") or {}
    if operation == "CREATE":
        if not ids.is_valid((new_meta.get("labels") or {}).get(kinds.ID_LABEL)):
            labels[kinds.ID_LABEL] = ids.new_id(id_taken)
        annotations[kinds.CREATED_BY_ANNOTATION] = username
        annotations[kinds.UPDATED_BY_ANNOTATION] = username
        annotations[kinds.UPDATED_AT_ANNOTATION] = now
    else:
        old_annotations = ((old or {}).get("metadata") or {}).get("annotations") or {}
        for key in (kinds.CREATED_BY_ANNOTATION, kinds.UPDATED_BY_ANNOTATION, kinds.UPDATED_AT_ANNOTATION):
            if key in old_annotations:
                annotations[key] = old_annotations[key]
        if (old or {}).get("spec") != new.get("spec"):
            annotations[kinds.UPDATED_BY_ANNOTATION] = username
            annotations[kinds.UPDATED_AT_ANNOTATION] = now
    out: dict[str, Any] = {}
    if labels:
        out["labels"] = labels
    current = new_meta.get("annotations") or {}
    changed = {k: v for k, v in annotations.items() if current.get(k) != v}
    if changed:
        out["annotations"] = changed
    return out


def id_label_error(operation: str, old: dict[str, Any] | None, new: dict[str, Any],
                   id_taken: Callable[[str], bool]) -> str | None:
    new_id = ((new.get("metadata") or {}).get("labels") or {}).get(kinds.ID_LABEL)
    if operation == "CREATE":
        if new_id is not None and not ids.is_valid(new_id):
            return f"metadata.labels[{kinds.ID_LABEL}] must be 10 upper-case letters or digits"
        if new_id is not None and id_taken(new_id):
            return f"metadata.labels[{kinds.ID_LABEL}]: id {new_id} is already used in this namespace"
        return None
    old_id = (((old or {}).get("metadata") or {}).get("labels") or {}).get(kinds.ID_LABEL)
    if old_id is not None and new_id != old_id:
        return f"metadata.labels[{kinds.ID_LABEL}] is immutable (was {old_id})"
    return None


def network_connection_error(cluster_spec: dict[str, Any], network: dict[str, Any] | None) -> str | None:
    """A ProvisionedCluster must use its Network's Connection and region (when the Network exists)."""
    if network is None:
        return None
    net_spec = network.get("spec") or {}
    network_name = (cluster_spec.get("networkRef") or {}).get("name")
    cluster_conn = (cluster_spec.get("connectionRef") or {}).get("name")
    net_conn = (net_spec.get("connectionRef") or {}).get("name")
    if cluster_conn != net_conn:
        return (f"spec.networkRef: Network {network_name} belongs to Connection {net_conn}, "
                f"not spec.connectionRef {cluster_conn}")
    if cluster_spec.get("region") != net_spec.get("region"):
        return (f"spec.region: {cluster_spec.get('region')} differs from the region of Network {network_name} "
                f"({net_spec.get('region')})")
    return None


def _pydantic_message(exc: pydantic.ValidationError, prefix: str) -> str:
    """The first error as `<field path>: <message>`; of a name-or-object item, the object's error."""
    errors = exc.errors()
    def branch(part: object) -> bool:  # pydantic's names of a union's members
        return isinstance(part, str) and (part == "str" or "TeamGrant" in part)
    first = next((e for e in errors if any(isinstance(p, str) and "TeamGrant" in p for p in e.get("loc", ()))),
                 errors[0])
    where = ""
    for part in first.get("loc", ()):
        if branch(part):
            continue
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    if message.split(":")[0].startswith(("access", "principals")):
        return message
    return f"{prefix}{where}: {message}"


def team_access_error(spec: dict[str, Any], old_spec: dict[str, Any] | None,
                      team_exists: Callable[[str], bool]) -> str | None:
    """`spec.access.teams` is well-formed and every Team it newly names exists in the namespace.

    Only names added by this request are looked up: a Team deleted later does not lock the cluster."""
    try:
        access = common.Access.model_validate(spec.get("access") or {})
    except pydantic.ValidationError as exc:
        return "spec." + _pydantic_message(exc, "access.")
    before = set(named_teams(old_spec))
    missing = [n for n in access.team_names() if n not in before and not team_exists(n)]
    if missing:
        return (f"spec.access.teams: no Team {', '.join(missing)} in this namespace "
                "(create the Team first: it says who gets which access)")
    return None


def named_teams(spec: dict[str, Any] | None) -> list[str]:
    """The Team names `spec.access.teams` holds (entries are names or {name, access, namespaces});
    none when the entries are malformed (`team_access_error` refuses those)."""
    try:
        return common.Access.model_validate((spec or {}).get("access") or {}).team_names()
    except pydantic.ValidationError:
        return []


def team_principals_error(spec: dict[str, Any], connection_roles: dict[str, str]) -> str | None:
    """A Team's principals are IAM role or user ARNs, none of them a Connection's role (that role is
    the operator's alone). `connection_roles`: role ARN -> Connection name in the namespace."""
    try:
        parsed = team_model.TeamSpec.model_validate(spec)
    except pydantic.ValidationError as exc:
        return "spec." + _pydantic_message(exc, "")
    for arn in parsed.principals:
        if arn in connection_roles:
            return (f"spec.principals: {arn} is the role of Connection {connection_roles[arn]}; only the operator "
                    "uses it (name the members' own roles or users)")
    return None


def unknown_teams_warning(teams: list[str], old_teams: list[str], team_exists: Callable[[str], bool]) -> str | None:
    """A warning naming the Teams in spec.access.teams that the object named before and that no longer
    exist (deleted since). A newly named Team that does not exist is refused instead
    (`team_access_error`), so it is not warned about twice. Kept apart from the Team rules, which grow
    with the Team kind."""
    kept = set(old_teams)
    missing = [t for t in dict.fromkeys(teams) if t in kept and not team_exists(t)]
    if not missing:
        return None
    names = ", ".join(missing)
    return (f"spec.access.teams: no Team {names} in this namespace (yet); "
            f"nobody gets access through {'it' if len(missing) == 1 else 'them'} until it exists")
