"""TokenReview and SubjectAccessReview through the REST API's asyncio client: who a token belongs
to, and whether that caller may do something.

Called by `fleetyard.rest.authn` / `authz`, which cache the answers. A review the apiserver does
not answer is `ReviewUnavailable` (the API answers 503); the token is sent, never logged.
"""

from __future__ import annotations

import dataclasses

from kubernetes_asyncio import client as aclient


class ReviewUnavailable(Exception):
    """The apiserver did not answer a review; `status` is its HTTP status."""

    def __init__(self, review: str, status: int | None) -> None:
        super().__init__(f"{review} {status}")
        self.review = review
        self.status = status


@dataclasses.dataclass(frozen=True)
class User:
    username: str
    uid: str | None
    groups: tuple[str, ...]
    extra: dict[str, list[str]]


@dataclasses.dataclass(frozen=True)
class Attributes:
    """What is asked about: `verb` on `group`/`resource` (`resource/subresource` as kubectl writes it)."""

    verb: str
    group: str
    resource: str
    namespace: str
    name: str | None = None


async def token_review(api: aclient.ApiClient, token: str) -> User | None:
    """The token's user, or None when the cluster does not accept the token."""
    review = aclient.V1TokenReview(spec=aclient.V1TokenReviewSpec(token=token))
    try:
        out = await aclient.AuthenticationV1Api(api).create_token_review(review)
    except aclient.ApiException as exc:
        raise ReviewUnavailable("TokenReview", exc.status) from None
    status = out.status
    if status is None or not status.authenticated or status.user is None:
        return None
    user = status.user
    return User(user.username or "", user.uid, tuple(user.groups or ()),
                {k: list(v) for k, v in (user.extra or {}).items()})


async def access_review(api: aclient.ApiClient, username: str, uid: str | None, groups: tuple[str, ...],
                        extra: dict[str, list[str]] | None, asked: Attributes) -> bool:
    resource, _, subresource = asked.resource.partition("/")
    review = aclient.V1SubjectAccessReview(spec=aclient.V1SubjectAccessReviewSpec(
        user=username, uid=uid, groups=list(groups), extra=extra or None,
        resource_attributes=aclient.V1ResourceAttributes(
            verb=asked.verb, group=asked.group, resource=resource, subresource=subresource or None,
            namespace=asked.namespace, name=asked.name)))
    try:
        out = await aclient.AuthorizationV1Api(api).create_subject_access_review(review)
    except aclient.ApiException as exc:
        raise ReviewUnavailable("SubjectAccessReview", exc.status) from None
    return bool(out.status and out.status.allowed)
