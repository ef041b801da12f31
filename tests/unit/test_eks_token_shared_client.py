"""A token signs exactly one cluster name, however many tokens the shared STS client made before
(botocore's headers append on assignment: a handler left behind by an earlier call made the signed
value "a,b" and every token after the first was refused by the cluster)."""

from __future__ import annotations

from fleetyard.cloud import eks_token, session as sessions


def test_each_token_signs_only_its_own_cluster_name() -> None:
    sess = sessions.session_from_credentials("AKIAEXAMPLE", "secret", None, "us-east-1")
    sts = sessions.client(sess, "sts", "us-east-1")
    signed: list[list[str]] = []
    sts.meta.events.register_last(eks_token.EVENT, lambda request, **_: signed.append(
        request.headers.get_all(eks_token.CLUSTER_HEADER)))
    for name in ("fy-a", "fy-b", "fy-a"):
        eks_token.get_token(sess, name, "us-east-1")
    assert signed == [["fy-a"], ["fy-b"], ["fy-a"]]
