"""Sample users of the REST API for `fleetyard dev up`: ServiceAccounts with a token file each.

Called by `devenv.up` once an organization's samples are applied. In the organization's namespace
`<ns>-admin` is bound to `fleetyard-admin`, and every ServiceAccount of that namespace that a Team
lists in `spec.members` (the examples name `<ns>-platform-dev` in Team `platform` and `<ns>-data-dev`
in Team `data`) is created and bound to `fleetyard-viewer`, so `/me/...` differs between them. Each
gets a TokenRequest token in `<state>/token-<name>` (mode 0600), next to `<state>/api-url`; `up`
prints a curl line using them and `remove_files` deletes them when the environment stops.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable
from typing import Any

import kubernetes

from fleetyard.kube import service_accounts
from fleetyard.models import kinds

ADMIN_ROLE = "fleetyard-admin"
ADMIN_SUFFIX = "-admin"
MEMBER_ROLE = "fleetyard-viewer"
TOKEN_SECONDS = 7 * 86400
API_URL_FILE = "api-url"
TOKEN_PREFIX = "token-"


def users(namespace: str, teams: Iterable[dict[str, Any]]) -> dict[str, str]:
    """ServiceAccount name -> ClusterRole: the organization's admin, then its Team members, sorted."""
    members: set[str] = set()
    for team in teams:
        for member in (team.get("spec") or {}).get("members") or []:
            account = service_accounts.parse_username(member)
            if account is not None and account[0] == namespace:
                members.add(account[1])
    admin = f"{namespace}{ADMIN_SUFFIX}"
    return {admin: ADMIN_ROLE, **{name: MEMBER_ROLE for name in sorted(members - {admin})}}


def create(api: kubernetes.client.ApiClient, namespace: str) -> dict[str, str]:
    """Create and bind the organization's sample users; returns ServiceAccount name -> token."""
    teams = kubernetes.client.CustomObjectsApi(api).list_namespaced_custom_object(
        kinds.GROUP, kinds.VERSION, namespace, kinds.TEAM.plural)["items"]
    tokens = {}
    for name, role in users(namespace, teams).items():
        service_accounts.ensure_service_account(api, namespace, name)
        service_accounts.bind(api, namespace, role, namespace, name)
        tokens[name] = service_accounts.token(api, namespace, name, TOKEN_SECONDS)
    return tokens


def token_file(state: pathlib.Path, name: str) -> pathlib.Path:
    return state / f"{TOKEN_PREFIX}{name}"


def write_files(state: pathlib.Path, api_url: str, tokens: dict[str, str]) -> None:
    _write_private(state / API_URL_FILE, api_url + "\n")
    for name, value in tokens.items():
        _write_private(token_file(state, name), value)


def remove_files(state: pathlib.Path) -> None:
    (state / API_URL_FILE).unlink(missing_ok=True)
    for path in state.glob(f"{TOKEN_PREFIX}*"):
        path.unlink(missing_ok=True)


def written(state: pathlib.Path) -> list[str]:
    """The users with a token file in `state`, sorted."""
    return sorted(p.name.removeprefix(TOKEN_PREFIX) for p in state.glob(f"{TOKEN_PREFIX}*"))


def hint(state: pathlib.Path) -> str:
    """The lines `up` prints on how to call the API as the first organization's admin ("" without users)."""
    names = written(state)
    admin = next((n for n in names if n.endswith(ADMIN_SUFFIX)), None)
    if admin is None:
        return ""
    return (f"REST API as {admin} (tokens of {', '.join(names)} are in {_relative(state)}/):\n"
            f"  {curl_line(state, admin)}\n")


def curl_line(state: pathlib.Path, name: str, path: str = "/infra/clusters") -> str:
    """A ready-to-paste curl of the API as `name`, naming the state dir relative to here when inside it."""
    shown = _relative(state)
    return (f'curl -s -H "Authorization: Bearer $(cat {token_file(shown, name)})" '
            f'$(cat {shown / API_URL_FILE}){path}')


def _relative(path: pathlib.Path) -> pathlib.Path:
    try:
        return path.resolve().relative_to(pathlib.Path.cwd())
    except ValueError:
        return path


def _write_private(path: pathlib.Path, text: str) -> None:
    """Written with mode 0600 from the start (never readable by others, not even for a moment)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
