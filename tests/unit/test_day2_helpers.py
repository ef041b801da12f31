"""Small pure pieces of day-2 work: kubeconfig documents, token refresh timing, team visibility."""

from __future__ import annotations

import datetime

import yaml

from fleetyard.day2 import kubeconfig_secrets, kubeconfigs, teams

EP = kubeconfigs.Endpoint("fy-acme-prod", "https://example.eks:443", "Q0E=", "us-east-1")


def test_machine_kubeconfig_carries_the_token_and_ca() -> None:
    doc = yaml.safe_load(kubeconfigs.with_token(EP, "k8s-aws-v1.abc"))
    assert doc["clusters"][0]["cluster"] == {"server": "https://example.eks:443", "certificate-authority-data": "Q0E="}
    assert doc["users"][0]["user"] == {"token": "k8s-aws-v1.abc"}
    assert doc["current-context"] == "fy-acme-prod"


def test_user_kubeconfig_runs_aws_eks_get_token_as_the_person() -> None:
    doc = yaml.safe_load(kubeconfigs.with_exec(EP))
    exec_ = doc["users"][0]["user"]["exec"]
    assert exec_["command"] == "aws" and exec_["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    # no --role-arn, no external id, no profile: the person's own AWS credentials (AWS_PROFILE etc.)
    assert exec_["args"] == ["eks", "get-token", "--cluster-name", "fy-acme-prod", "--output", "json",
                             "--region", "us-east-1"]
    assert "env" not in exec_
    assert "arn:" not in yaml.safe_dump(doc) and "role" not in yaml.safe_dump(doc)
    assert "token" not in str(doc["users"][0]["user"]).replace("get-token", "")


def test_seed_kubeconfig_response() -> None:
    assert kubeconfigs.response(EP, "doc") == {"kubeconfig": "doc", "clusterEndpoint": "https://example.eks:443",
                                              "clusterCertificateAuthority": "Q0E="}


NOW = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.timezone.utc)


def test_token_refresh_is_due_before_expiry() -> None:
    at = lambda minutes: {kubeconfig_secrets.EXPIRES_AT: (NOW + datetime.timedelta(minutes=minutes)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")}
    assert kubeconfig_secrets.token_due(None, NOW, 300)
    assert kubeconfig_secrets.token_due(at(4), NOW, 300)
    assert not kubeconfig_secrets.token_due(at(10), NOW, 300)


def team(ns: str, name: str, members=(), groups=()) -> dict:
    return {"metadata": {"namespace": ns, "name": name}, "spec": {"members": list(members), "groups": list(groups)}}


def cluster(ns: str, name: str, *team_names: str) -> dict:
    return {"metadata": {"namespace": ns, "name": name}, "spec": {"access": {"teams": list(team_names)}}}


TEAMS = [team("acme", "platform", members=["alice"]), team("acme", "data", groups=["acme:data"]),
         team("globex", "platform", members=["bob", "alice"])]
CLUSTERS = [cluster("acme", "prod", "platform"), cluster("acme", "lake", "data"), cluster("acme", "open"),
            cluster("globex", "prod", "platform"), cluster("globex", "other", "data"),
            cluster("acme", "both", "platform", "data")]


def names(user: str, groups: list[str], teams_=TEAMS) -> list[str]:
    return [f"{c['metadata']['namespace']}/{c['metadata']['name']}"
            for c in teams.visible_clusters(user, groups, teams_, CLUSTERS)]


def test_member_of_several_teams_in_several_organizations() -> None:
    assert names("alice", []) == ["acme/prod", "globex/prod", "acme/both"]


def test_group_membership_counts() -> None:
    assert names("carol", ["acme:data"]) == ["acme/lake", "acme/both"]


def test_team_names_do_not_cross_namespaces() -> None:
    assert "globex/other" not in names("carol", ["acme:data"])  # globex has no team "data"


def test_removal_from_a_team_hides_its_clusters() -> None:
    without = [team("acme", "platform", members=[]), *TEAMS[1:]]
    assert names("alice", [], without) == ["globex/prod"]


def test_nobody_sees_a_cluster_without_teams() -> None:
    assert all("acme/open" not in names(u, ["acme:data"]) for u in ("alice", "bob", "carol"))
