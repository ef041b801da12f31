"""The sample API users of `fleetyard dev up`: who they are (from the Teams), the files they leave
in the state dir, and the ServiceAccount usernames they are known by."""

from __future__ import annotations

import pathlib
import stat

import pytest

from fleetyard.devenv import sample_users
from fleetyard.kube import service_accounts


def _team(*members: str) -> dict:
    return {"metadata": {"name": "t", "namespace": "acme"}, "spec": {"displayName": "T", "members": list(members)}}


@pytest.mark.parametrize(("teams", "expected"), [
    ([], {"acme-admin": "fleetyard-admin"}),
    ([_team("alice", "system:serviceaccount:acme:acme-platform-dev"),
      _team("system:serviceaccount:acme:acme-data-dev")],
     {"acme-admin": "fleetyard-admin", "acme-data-dev": "fleetyard-viewer", "acme-platform-dev": "fleetyard-viewer"}),
    # another organization's ServiceAccount, a malformed one and the admin itself add no viewer
    ([_team("system:serviceaccount:globex:globex-data-dev", "system:serviceaccount:acme",
            "system:serviceaccount:acme:acme-admin")], {"acme-admin": "fleetyard-admin"}),
    ([_team("system:serviceaccount:acme:dev"), _team("system:serviceaccount:acme:dev")],
     {"acme-admin": "fleetyard-admin", "dev": "fleetyard-viewer"}),
    ([{"metadata": {"name": "empty"}, "spec": {"displayName": "E"}}], {"acme-admin": "fleetyard-admin"}),
])
def test_users_are_the_admin_and_the_organizations_service_accounts_in_teams(teams, expected) -> None:
    assert sample_users.users("acme", teams) == expected


@pytest.mark.parametrize(("user", "expected"), [
    ("system:serviceaccount:acme:acme-admin", ("acme", "acme-admin")),
    ("alice", None),
    ("system:serviceaccount:acme", None),
    ("system:serviceaccount::x", None),
    ("system:serviceaccount:acme:a:b", None),
])
def test_service_account_usernames(user, expected) -> None:
    assert service_accounts.parse_username(user) == expected


def test_username_round_trips() -> None:
    assert service_accounts.parse_username(service_accounts.username("acme", "dev")) == ("acme", "dev")


def test_files_are_private_and_removed(tmp_path: pathlib.Path) -> None:
    (tmp_path / "kubeconfig").write_text("keep")

    sample_users.write_files(tmp_path, "http://127.0.0.1:1234", {"acme-admin": "t1", "acme-data-dev": "t2"})

    assert (tmp_path / "api-url").read_text().strip() == "http://127.0.0.1:1234"
    assert sample_users.token_file(tmp_path, "acme-admin").read_text() == "t1"
    for path in (tmp_path / "api-url", *tmp_path.glob("token-*")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sample_users.written(tmp_path) == ["acme-admin", "acme-data-dev"]

    sample_users.remove_files(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["kubeconfig"]


def test_hint_names_an_admin_and_a_pasteable_curl(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / ".fleetyard" / "dev"
    state.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert sample_users.hint(state) == ""

    sample_users.write_files(state, "http://127.0.0.1:1234", {"globex-admin": "g", "acme-admin": "a", "acme-x": "x"})

    hint = sample_users.hint(state)
    assert 'curl -s -H "Authorization: Bearer $(cat .fleetyard/dev/token-acme-admin)" ' \
           "$(cat .fleetyard/dev/api-url)/infra/clusters" in hint
    assert "acme-x" in hint and "globex-admin" in hint
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert f"$(cat {state}/token-acme-admin)" in sample_users.curl_line(state, "acme-admin")
