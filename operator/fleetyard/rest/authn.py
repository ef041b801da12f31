"""Who is calling: Bearer tokens checked by TokenReview against the management cluster.

Whatever the cluster trusts (ServiceAccount tokens, OIDC, webhook authenticators) works. Answers
are cached by the token's digest for `api_token_cache_ttl` seconds, so a busy client costs one
review per period; the token itself is never stored or logged.
"""

from __future__ import annotations

import dataclasses
import hashlib

from kubernetes_asyncio import client as aclient

from fleetyard.kube import impersonation, reviews
from fleetyard.rest import errors, ttl_cache

SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclasses.dataclass(frozen=True)
class Caller:
    username: str
    uid: str | None
    groups: tuple[str, ...]
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def service_account_namespace(self) -> str | None:
        if not self.username.startswith(SERVICE_ACCOUNT_PREFIX):
            return None
        parts = self.username.split(":")
        return parts[2] if len(parts) == 4 else None

    def identity(self) -> impersonation.Identity:
        return impersonation.Identity(self.username, self.uid, self.groups, self.extra)


class Authenticator:
    def __init__(self, api: aclient.ApiClient, ttl: float, extras: frozenset[str] | None = None) -> None:
        """`extras`: the user-extra keys kept from a TokenReview (None: all). The API may impersonate only
        those (its RBAC lists each), so SubjectAccessReviews ask about the same identity the writes carry."""
        self._api = api
        self._extras = extras
        self._cache: ttl_cache.TtlCache[Caller | None] = ttl_cache.TtlCache(ttl)

    async def caller(self, authorization: str | None) -> Caller:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.ApiError(401, "a Bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        token = token.strip()
        digest = hashlib.sha256(token.encode()).hexdigest()
        caller = await self._cache.get_or_load(digest, lambda: self._review(token))
        if caller is None:
            raise errors.ApiError(401, "the token is not valid", headers={"WWW-Authenticate": "Bearer"})
        return caller

    async def _review(self, token: str) -> Caller | None:
        try:
            user = await reviews.token_review(self._api, token)
        except reviews.ReviewUnavailable as exc:
            raise errors.ApiError(503, "could not check the token with the Kubernetes API", retryable=True,
                                  retry_after=1, caused_by=str(exc)) from None
        if user is None:
            return None
        extra = tuple(sorted((k, tuple(v)) for k, v in user.extra.items() if self._extras is None or k in self._extras))
        return Caller(user.username, user.uid, user.groups, extra)
