"""The Kubernetes versions a region offers (`connections.eks_versions`): EKS's answer kept per region for
a TTL, the maintained list when EKS cannot be asked, and the refusal message that lists what is allowed."""

from __future__ import annotations

import datetime

import pytest

from fleetyard.cloud import eks, errors as cloud_errors
from fleetyard.connections import eks_versions

TODAY = datetime.date(2026, 12, 2)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Fetch:
    """DescribeClusterVersions stand-in: answers `answer` per call, or raises `failure`."""

    def __init__(self, answer: list[str] | None = None, failure: Exception | None = None) -> None:
        self.answer, self.failure, self.calls = answer or [], failure, []

    def __call__(self, region: str) -> list[str]:
        self.calls.append(region)
        if self.failure is not None:
            raise self.failure
        return list(self.answer)


def _versions(fetch: Fetch, clock: Clock) -> eks_versions.Versions:
    return eks_versions.Versions(3600, 60, fetch=fetch, clock=clock, today=lambda: TODAY)


def test_eks_answer_is_used_sorted_and_kept_per_region_for_the_ttl() -> None:
    fetch, clock = Fetch(["1.35", "1.34", "1.36", "1.34"]), Clock()
    versions = _versions(fetch, clock)
    offered = versions.offered("eu-west-1")
    assert offered.versions == ("1.34", "1.35", "1.36")
    assert offered.source == eks_versions.SOURCE_EKS
    clock.now = 3599
    versions.offered("eu-west-1")
    assert fetch.calls == ["eu-west-1"]
    versions.offered("us-east-1")  # another region: asked on its own
    assert fetch.calls == ["eu-west-1", "us-east-1"]
    clock.now = 3600
    versions.offered("eu-west-1")
    assert fetch.calls == ["eu-west-1", "us-east-1", "eu-west-1"]


@pytest.mark.parametrize("failure", [
    cloud_errors.CloudError("NoCredentials", "the operator has no AWS credentials configured"),
    cloud_errors.CloudError("AccessDeniedException", "not allowed eks:DescribeClusterVersions"),
    cloud_errors.CloudError("NetworkError", "the AWS endpoint could not be reached", retryable=True),
])
def test_the_maintained_list_is_used_when_eks_cannot_be_asked_and_eks_asked_again_soon(
        failure: cloud_errors.CloudError) -> None:
    fetch, clock = Fetch(failure=failure), Clock()
    versions = _versions(fetch, clock)
    offered = versions.offered("us-east-1")
    assert offered.source == eks_versions.SOURCE_FALLBACK
    assert offered.versions == eks_versions.fallback_versions(TODAY)
    clock.now = 59
    versions.offered("us-east-1")
    assert len(fetch.calls) == 1
    clock.now = 60  # the failure TTL, not the hour
    fetch.failure, fetch.answer = None, ["1.35", "1.36"]
    assert versions.offered("us-east-1").versions == ("1.35", "1.36")
    assert versions.offered("us-east-1").source == eks_versions.SOURCE_EKS


def test_an_empty_answer_counts_as_no_answer() -> None:
    offered = _versions(Fetch([]), Clock()).offered("us-east-1")
    assert offered.source == eks_versions.SOURCE_FALLBACK and offered.versions


def test_the_maintained_list_drops_versions_past_their_end_of_extended_support() -> None:
    assert eks_versions.fallback_versions(datetime.date(2026, 12, 2)) == ("1.32", "1.33", "1.34", "1.35", "1.36")
    assert "1.31" in eks_versions.fallback_versions(datetime.date(2026, 11, 25))
    assert "1.31" not in eks_versions.fallback_versions(datetime.date(2026, 11, 26))
    # a release without a recorded end stays
    assert eks_versions.fallback_versions(datetime.date(2040, 1, 1)) == ("1.36",)


def test_the_refusal_names_the_version_the_region_and_every_allowed_version_with_their_source() -> None:
    offered = eks_versions.Offered("eu-west-1", ("1.34", "1.35", "1.36"), eks_versions.SOURCE_EKS)
    assert offered.refusal("1.36") is None
    assert offered.refusal("1.99") == ("1.99 is not a Kubernetes version EKS offers in eu-west-1; allowed: "
                                       "1.34, 1.35, 1.36 (from EKS DescribeClusterVersions)")
    assert eks_versions.field_error(offered, "1.31") == (
        "config.kubernetesVersion: 1.31 is not a Kubernetes version EKS offers in eu-west-1; allowed: "
        "1.34, 1.35, 1.36 (from EKS DescribeClusterVersions)")
    fallback = eks_versions.Offered("eu-west-1", ("1.35",), eks_versions.SOURCE_FALLBACK)
    assert "(from fleetyard's maintained list (EKS could not be asked))" in (fallback.refusal("1.99") or "")


@pytest.mark.parametrize(("version", "previous", "checked"), [
    ("1.35", None, True),       # create
    ("1.36", "1.35", True),     # an upgrade
    ("1.31", "1.31", False),    # unchanged: a cluster left on a retired version can still change other fields
    (None, "1.35", False),
])
def test_only_a_new_version_is_checked(version: str | None, previous: str | None, checked: bool) -> None:
    assert eks_versions.is_new(version, previous) is checked


@pytest.mark.parametrize(("item", "offered"), [
    ({"clusterVersion": "1.35", "versionStatus": "STANDARD_SUPPORT"}, True),
    ({"clusterVersion": "1.32", "versionStatus": "EXTENDED_SUPPORT"}, True),
    ({"clusterVersion": "1.31", "versionStatus": "UNSUPPORTED"}, False),
    ({"clusterVersion": "1.33", "status": "extended-support"}, True),  # the older field only
    ({"clusterVersion": "1.30", "status": "unsupported"}, False),
    ({"clusterVersion": "1.36"}, True),
])
def test_only_versions_in_standard_or_extended_support_are_offered(item: dict[str, str], offered: bool) -> None:
    assert eks._offered(item) is offered
