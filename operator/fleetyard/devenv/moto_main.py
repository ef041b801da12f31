"""`python -m fleetyard.devenv.moto_main`: moto's server with fixes to its signature check and EKS
clusters that point at the test bed's workload cluster.

Started by `fleetyard.devenv.moto_server`. With IAM access control on, moto 5.2.5:

- recomputes the SigV4 signature of a request without a body (every EKS GET/DELETE such as
  DescribeCluster or ListNodegroups) over its parsed parameters instead of the empty payload the
  client signed, and answers SignatureDoesNotMatch;
- knows only the `Authorization` header: a presigned request (query-string SigV4:
  `X-Amz-Credential`, `X-Amz-SignedHeaders`, `X-Amz-Signature`, ... in the URL, no header) fails
  with KeyError 'Authorization' (a 500), and GetCallerIdentity would not see its caller either.
  EKS tokens are such URLs (STS GetCallerIdentity, see `fleetyard.cloud.eks_token`), called by
  the test bed's `eks_authenticator`. Here they are verified like a header-signed request: the
  access key (an assumed role's needs `X-Amz-Security-Token` in the query), then the signature
  over the canonical query string without `X-Amz-Signature` and the headers named in
  `X-Amz-SignedHeaders`; the caller is the URL's access key. Like STS for GetCallerIdentity,
  `X-Amz-Expires` is not enforced (the authenticator bounds a token's age itself).

- checks CloudWatch calls against IAM actions `monitoring:*` (its signing name) where IAM says
  `cloudwatch:*`, so a role allowed `cloudwatch:PutMetricData` is refused.

Clients do nothing wrong there, so the test bed fixes moto rather than teaching fleetyard's
clients a workaround.

With `FLEETYARD_FAKE_EKS_ENDPOINT` and `FLEETYARD_FAKE_EKS_CA_DATA` in the server's environment
(`fleetyard.devenv.workload_cluster`), every EKS cluster created from then on has that `endpoint`
and `certificateAuthority.data` instead of moto's made-up host and random text, so DescribeCluster
agrees with what the fake `aws` Pulumi plugin reports.

sts:AssumeRole is decided as AWS decides it (`fleetyard.devenv.moto_sts`: trust policies with their
principals and conditions, the caller's own policies, a missing role, AWS's parameter checks):
moto's own check hands out credentials for a role that does not exist and without an external id
the trust policy requires.

moto has no EKS DescribeClusterVersions (GET /cluster-versions): here it answers EKS's release calendar
as fleetyard maintains it (`connections.eks_versions.FALLBACK_RELEASES`), each version with the
`versionStatus` of today (STANDARD_SUPPORT for its first 14 months, EXTENDED_SUPPORT until its end of
extended support, then UNSUPPORTED, listed only with includeAll) and the same for every region, so
admission and the REST API can ask it as they ask AWS (their answers then say "from EKS
DescribeClusterVersions"; the maintained list is their fallback when the call fails).

CloudFormation stack ids are derived from account, region and stack name (a version-5 UUID; the
n-th stack of the same name gets its own) instead of a random UUID, so a manifest can name the
stack it expects: examples/ carry the stack ARNs `fleetyard.devenv.samples` deploys them as.
"""

from __future__ import annotations

import collections
import datetime
import os
import threading
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from botocore.awsrequest import AWSRequest
from moto.cloudformation import models as cloudformation_models
from moto.core import responses
from moto.core import exceptions as moto_exceptions
from moto.eks import models as eks_models
from moto.eks import responses as eks_responses
from moto.eks import urls as eks_urls
from moto.iam import access_control
from moto.iam import exceptions as iam_exceptions
from moto.iam import models as iam_models
from moto.moto_server import werkzeug_app
from moto.server import main
from moto.sts import exceptions as sts_exceptions
from moto.sts import models as sts_models
from moto.sts import responses as sts_responses
from moto.utilities import utils as moto_utils

from fleetyard.connections import eks_versions
from fleetyard.devenv import moto_sts

_SIGNATURE = "X-Amz-Signature"
_ALGORITHM = "AWS4-HMAC-SHA256"

_create_aws_request = access_control.IAMRequest._create_aws_request
_iam_request_init = access_control.IAMRequestBase.__init__
_get_access_key = responses.BaseResponse.get_access_key
_infer_service = werkzeug_app.DomainDispatcherApplication.infer_service_region_host
_eks_cluster_init = eks_models.Cluster.__init__
_check_action_permitted = access_control.IAMRequestBase.check_action_permitted
_assume_role = sts_responses.TokenResponse.assume_role

IAM_PREFIXES = {"monitoring": "cloudwatch"}
EKS_ENDPOINT_ENV = "FLEETYARD_FAKE_EKS_ENDPOINT"
EKS_CA_DATA_ENV = "FLEETYARD_FAKE_EKS_CA_DATA"


def _presigned_params(path: str) -> list[tuple[str, str]] | None:
    """The decoded query of a query-string-signed (presigned) SigV4 request, else None."""
    params = urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query, keep_blank_values=True)
    query = dict(params)
    if _SIGNATURE not in query or query.get("X-Amz-Algorithm") != _ALGORITHM:
        return None
    return params


def _credential_scope(params: list[tuple[str, str]]) -> list[str]:
    """`X-Amz-Credential` split: [access key, date, region, service, "aws4_request"] or []."""
    scope = dict(params).get("X-Amz-Credential", "").split("/")
    return scope if len(scope) == 5 else []


def _infer_service_presigned(self: Any, environ: dict[str, Any], path: str) -> str | None:
    """Route a presigned request by its credential scope, as moto does a header-signed one
    (unsigned requests without a hint in the path default to S3)."""
    if not environ.get("HTTP_AUTHORIZATION"):
        params = _presigned_params("?" + environ.get("QUERY_STRING", ""))
        scope = _credential_scope(params) if params else []
        if scope and scope[3] != "s3":
            signed = {**environ, "HTTP_AUTHORIZATION": f"{_ALGORITHM} Credential={'/'.join(scope)}, "}
            return _infer_service(self, signed, path)
    return _infer_service(self, environ, path)


def _iam_request_init_presigned(self: Any, account_id: str, method: str, path: str, data: Any,
                                body: bytes, headers: Mapping[str, str], action: str) -> None:
    params = None if "Authorization" in headers else _presigned_params(path)
    self._presigned = params
    if params is not None:
        # The base class reads credential, signed headers and signature from an Authorization
        # header and an assumed role's session token from a header: say the same from the query.
        query = dict(params)
        headers = dict(headers.items())
        headers["Authorization"] = (
            f"{_ALGORITHM} Credential={query.get('X-Amz-Credential', '')}, "
            f"SignedHeaders={query.get('X-Amz-SignedHeaders', '')}, Signature={query[_SIGNATURE]}")
        if "X-Amz-Security-Token" in query:
            headers["X-Amz-Security-Token"] = query["X-Amz-Security-Token"]
    _iam_request_init(self, account_id, method, path, data, body, headers, action)
    # CloudWatch signs as "monitoring", but IAM policies name its actions "cloudwatch:*".
    prefix, _, name = self._action.partition(":")
    self._action = f"{IAM_PREFIXES.get(prefix, prefix)}:{name}"


def _presigned_request(self: Any) -> AWSRequest:
    params = [(k, v) for k, v in self._presigned if k != _SIGNATURE]
    query = dict(params)
    signed_headers = query.get("X-Amz-SignedHeaders", "").split(";")
    request = AWSRequest(
        method=self._method,
        url=urllib.parse.urlsplit(self._path).path or "/",
        headers=self._create_headers_for_aws_request(signed_headers, self._headers),
        params=params,
    )
    request.context["timestamp"] = query.get("X-Amz-Date", "")
    return request


def _signed_as_sent(self: Any) -> Any:
    if getattr(self, "_presigned", None) is not None:
        return _presigned_request(self)
    if self._body or self._method not in ("GET", "HEAD", "DELETE"):
        return _create_aws_request(self)
    parsed, self._data = self._data, b""
    try:
        return _create_aws_request(self)
    finally:
        self._data = parsed


def _access_key_of_presigned(self: Any) -> str:
    if "Authorization" not in self.headers:
        credential = self.querystring.get("X-Amz-Credential")
        if credential:
            return str(credential[0]).split("/")[0]
    return str(_get_access_key(self))


_stacks_named: collections.Counter[str] = collections.Counter()
_stacks_lock = threading.Lock()


def _stack_id_from_name(stack_name: str, region: str, account: str) -> str:
    prefix = f"arn:{moto_utils.get_partition(region)}:cloudformation:{region}:{account}:stack/{stack_name}"
    with _stacks_lock:
        before = _stacks_named[prefix]
        _stacks_named[prefix] += 1
    return f"{prefix}/{uuid.uuid5(uuid.NAMESPACE_URL, prefix if not before else f'{prefix}#{before}')}"


def _eks_cluster_init_workload(self: Any, *args: Any, **kwargs: Any) -> None:
    _eks_cluster_init(self, *args, **kwargs)
    endpoint, ca_data = os.environ.get(EKS_ENDPOINT_ENV), os.environ.get(EKS_CA_DATA_ENV)
    if endpoint and ca_data:
        self.endpoint = endpoint
        self.certificate_authority = {"data": ca_data}


def _first(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return None if value is None else str(value)


def _role(role_arn: str | None) -> Any | None:
    """The IAM role `role_arn` names, in its own account, or None."""
    parts = str(role_arn or "").split(":", 5)
    if len(parts) != 6 or parts[2] != "iam":
        return None
    try:
        return iam_models.iam_backends[parts[4]][parts[1]].get_role_by_arn(role_arn)
    except iam_exceptions.NotFoundException:
        return None


def _caller(access_key: Any) -> moto_sts.Caller:
    if isinstance(access_key, access_control.AssumedRoleAccessKey):
        sts = sts_models.sts_backends[access_key.account_id][access_key.partition]
        session = sts.get_assumed_role_from_access_key(access_key._access_key_id)
        if session is not None:
            return moto_sts.Caller(session.arn, session.account_id, session.user_id, session.role_arn)
        return moto_sts.Caller(access_key.arn, access_key.account_id)
    user = access_key.backend.get_user(access_key._owner_user_name)
    return moto_sts.Caller(user.arn, user.account_id, user.id)


def _identity_verdict(policies: list[Any], action: str, resource: str) -> moto_sts.Verdict:
    verdict = moto_sts.Verdict.NONE
    for policy in policies:
        result = access_control.IAMPolicy(policy).is_action_permitted(action, resource)
        if result == access_control.PermissionResult.DENIED:
            return moto_sts.Verdict.DENY
        if result == access_control.PermissionResult.PERMITTED:
            verdict = moto_sts.Verdict.ALLOW
    return verdict


def _assume_role_denied(caller_arn: str, role_arn: str) -> moto_exceptions.AccessDeniedError:
    return moto_exceptions.AccessDeniedError(user_arn=caller_arn,
                                             action=f"{moto_sts.ASSUME_ROLE} on resource: {role_arn}")


def _check_action_permitted_sts(self: Any, resource: str) -> None:
    if self._action != moto_sts.ASSUME_ROLE:
        _check_action_permitted(self, resource)
        return
    caller = _caller(self._access_key)
    role = _role(resource)
    if role is None:
        raise _assume_role_denied(caller.arn, resource)
    context = moto_sts.request_context(caller, _first(self._data, "ExternalId"),
                                       _first(self._data, "RoleSessionName"))
    trust = moto_sts.trust_decision(role.assume_role_policy_document, caller, context)
    identity = _identity_verdict(self._access_key.collect_policies(), self._action, resource)
    if not moto_sts.assume_role_allowed(identity, trust, role.account_id == caller.account):
        raise _assume_role_denied(caller.arn, resource)


def _assume_role_checked(self: Any) -> Any:
    for name, param, pattern in (("roleSessionName", "RoleSessionName", moto_sts.SESSION_NAME),
                                 ("externalId", "ExternalId", moto_sts.EXTERNAL_ID)):
        message = moto_sts.parameter_error(name, self._get_param(param), pattern)
        if message:
            raise sts_exceptions.STSValidationError(message)
    role_arn = self._get_param("RoleArn")
    access_key = self.get_access_key()
    role = _role(role_arn)
    if role is None:
        raise _assume_role_denied(self.backend.get_caller_identity(access_key, self.region)[1], role_arn)
    chained = self.backend.get_assumed_role_from_access_key(access_key) is not None
    message = moto_sts.session_duration_error(self._get_int_param("DurationSeconds", 3600),
                                              role.max_session_duration, chained)
    if message:
        raise sts_exceptions.STSValidationError(message)
    return _assume_role(self)


access_control.IAMRequestBase.check_action_permitted = _check_action_permitted_sts
sts_responses.TokenResponse.assume_role = _assume_role_checked


STANDARD_SUPPORT_DAYS = 14 * 30  # "the first 14 months after it's released" (the EKS user guide)


def cluster_versions(today: datetime.date, include_all: bool = False) -> list[dict[str, Any]]:
    """DescribeClusterVersions' clusterVersions on `today`, oldest first."""
    out = []
    for release in eks_versions.FALLBACK_RELEASES:
        end = release.end_of_extended_support
        extended_from = end - datetime.timedelta(days=365) if end else None
        if end is not None and today >= end:
            status = "UNSUPPORTED"
        elif extended_from is not None and today >= extended_from:
            status = "EXTENDED_SUPPORT"
        else:
            status = "STANDARD_SUPPORT"
        if status == "UNSUPPORTED" and not include_all:
            continue
        item: dict[str, Any] = {"clusterVersion": release.version, "clusterType": "eks",
                                "defaultPlatformVersion": "eks.1", "versionStatus": status,
                                "status": status.lower().replace("_", "-"), "defaultVersion": False}
        if end is not None:
            item["endOfExtendedSupportDate"] = datetime.datetime.combine(end, datetime.time(), datetime.timezone.utc)
            item["endOfStandardSupportDate"] = datetime.datetime.combine(
                extended_from, datetime.time(), datetime.timezone.utc)
        out.append(item)
    offered = [i for i in out if i["versionStatus"] == "STANDARD_SUPPORT"]
    if offered:
        offered[-1]["defaultVersion"] = True
    return out


def _describe_cluster_versions(self: Any) -> responses.ActionResult:
    include_all = str(self._get_param("includeAll", False)).lower() == "true"
    wanted = self._get_param("clusterVersions") or []
    found = [v for v in cluster_versions(datetime.datetime.now(datetime.timezone.utc).date(), include_all)
             if not wanted or v["clusterVersion"] in wanted]
    return responses.ActionResult({"clusterVersions": found})


eks_responses.EKSResponse.describe_cluster_versions = _describe_cluster_versions
eks_urls.url_paths["{0}/cluster-versions$"] = eks_urls.response.dispatch
access_control.IAMRequest.__init__ = _iam_request_init_presigned
eks_models.Cluster.__init__ = _eks_cluster_init_workload
cloudformation_models.generate_stack_id = _stack_id_from_name
werkzeug_app.DomainDispatcherApplication.infer_service_region_host = _infer_service_presigned
access_control.IAMRequest._create_aws_request = _signed_as_sent
responses.BaseResponse.get_access_key = _access_key_of_presigned

if __name__ == "__main__":
    main()
