"""Turns a failed Pulumi run into the seed's error object: a code, a safe short message, retryability.

Called by the worker (`from_exception`, on whatever the run raised) and by the progress tracker
(`describe`, for the engine's error diagnostics). Works on text only: the Automation API's `CommandError` carries
the CLI's stdout/stderr, AWS failures appear there in the aws provider's Go SDK wording
(`StatusCode: 403, RequestID: ..., api error AccessDenied: ...`), the older v1 wording
(`AccessDeniedException: ...\\n\\tstatus code: 403, request id: ...`) or botocore's
(`An error occurred (AccessDenied) when calling the X operation: ...`). Every message passes
through `redact` so keys, tokens, external ids and kubeconfig data never reach a status.
"""

from __future__ import annotations

import dataclasses
import random
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import botocore.exceptions

if TYPE_CHECKING:
    import pulumi.automation.errors as pulumi_errors

from fleetyard.cloud import errors as cloud_errors
from fleetyard.models import common

ErrorType = Literal["cloud", "program", "engine", "conflict"]
MAX_MESSAGE = 512
REDACTED = "<redacted>"


@dataclasses.dataclass(frozen=True)
class Category:
    code: str
    error_type: ErrorType
    retryable: bool


ACCESS_DENIED = Category("AccessDenied", "cloud", False)
EXPIRED_TOKEN = Category("ExpiredToken", "cloud", True)  # the worker assumes the role again next run
VALIDATION = Category("ValidationError", "cloud", False)
LIMIT_EXCEEDED = Category("LimitExceeded", "cloud", False)
ALREADY_EXISTS = Category("AlreadyExists", "conflict", False)
NOT_FOUND = Category("NotFound", "cloud", False)
RESOURCE_IN_USE = Category("ResourceInUseException", "conflict", True)
THROTTLING = Category("ThrottlingException", "cloud", True)
SERVICE_UNAVAILABLE = Category("ServiceUnavailable", "cloud", True)
CLOUD_OTHER = Category("CloudError", "cloud", True)
NO_CREDENTIALS = Category("NoCredentials", "cloud", False)
NETWORK = Category("NetworkError", "cloud", True)
TIMEOUT = Category("Timeout", "cloud", True)
CONCURRENT_UPDATE = Category("ConcurrentUpdate", "conflict", True)
STACK_NOT_FOUND = Category("StackNotFound", "engine", False)
STACK_EXISTS = Category("StackAlreadyExists", "conflict", False)
PENDING_OPERATIONS = Category("PendingOperations", "engine", False)
PROGRAM = Category("ProgramError", "program", False)
ENGINE = Category("EngineError", "engine", False)
INTERNAL = Category("InternalError", "engine", True)

# AWS error codes, matched whole, in table order (the first that fits wins: RequestLimitExceeded is
# throttling before it is a limit, InvalidVpcID.NotFound is missing before it is invalid).
_CODE_TABLE: list[tuple[re.Pattern[str], Category]] = [(re.compile(p), c) for p, c in [
    (r"ExpiredToken(Exception)?|RequestExpired|TokenRefreshRequired", EXPIRED_TOKEN),
    (r"Throttl\w*|\w*Throttled\w*|RequestLimitExceeded|TooManyRequests(Exception)?|SlowDown|"
     r"ProvisionedThroughputExceeded(Exception)?|PriorRequestNotComplete|BandwidthLimitExceeded", THROTTLING),
    (r"AccessDenied(Exception)?|UnauthorizedOperation|Unauthorized(Exception|Access)?|AuthFailure|"
     r"InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient(Exception)?|MissingAuthenticationToken|"
     r"IncompleteSignature|OptInRequired|Forbidden(Exception)?|NotAuthorized(Exception)?", ACCESS_DENIED),
    (r"\w*AlreadyExists\w*|[\w.]+\.Duplicate|BucketAlreadyOwnedByYou", ALREADY_EXISTS),
    (r"\w*LimitExceeded(Exception)?|\w*QuotaExceeded\w*", LIMIT_EXCEEDED),
    (r"[\w.]+\.NotFound|\w*NotFound(Exception|Fault)?|NoSuch\w+", NOT_FOUND),
    (r"ResourceInUse(Exception)?|DependencyViolation|DeleteConflict|\w*Conflict(Exception)?|"
     r"ConcurrentModification(Exception)?|IncorrectState(Exception)?|IncorrectInstanceState|"
     r"InvalidState(Exception)?|OperationAborted|[\w.]+\.InUse|ResourceNotReady", RESOURCE_IN_USE),
    (r"InternalError|InternalFailure|Internal(Server|Service)(Error|Exception)?|ServiceUnavailable(Exception)?|"
     r"Unavailable|Server(Error|Exception)|Service(Exception|Failure)|RequestTimeout(Exception)?|"
     r"InsufficientInstanceCapacity", SERVICE_UNAVAILABLE),
    (r"Validation(Exception|Error)?|InvalidParameter\w*|MalformedPolicyDocument(Exception)?|"
     r"InvalidRequest(Exception)?|InvalidInput(Exception)?|Missing\w*Parameter|Unsupported\w*|"
     r"InvalidArgument(Exception)?|Invalid[A-Z][\w.]*|[\w.]+\.Malformed|SerializationException", VALIDATION),
]]

# When several AWS errors appear in one run, the one that needs a person wins over a transient one.
_PRIORITY = [ACCESS_DENIED, VALIDATION, LIMIT_EXCEEDED, ALREADY_EXISTS, NOT_FOUND, EXPIRED_TOKEN,
             RESOURCE_IN_USE, THROTTLING, SERVICE_UNAVAILABLE, CLOUD_OTHER]

# Where an AWS error code sits in the SDKs' wording (and in raw XML error bodies).
# Every pattern starts with a literal and bounds its repeats, so a huge stdout stays linear.
_AWS_ERROR_PATTERNS = [re.compile(p) for p in [
    r"An error occurred \((?P<code>[\w.]{1,100})\) when calling the \w{1,100} operation[^:\n]{0,100}: ?"
    r"(?P<msg>[^\n]{0,500})",
    r"StatusCode: (?P<status>\d{3}), RequestID: (?P<rid>[\w-]{0,100}), (?:api error )?"
    r"(?P<code>[A-Za-z][\w.]{0,100}): ?(?P<msg>[^\n]{0,500})",
    r"api error (?P<code>[A-Za-z][\w.]{0,100}): ?(?P<msg>[^\n]{0,500})",
    r"<Code>(?P<code>[\w.]{1,100})</Code>",
]]
# The v1 SDK puts the code on one line and the status on the next: found from the status line.
_AWS_V1_STATUS = re.compile(r"\n[ \t]*status code: (?P<status>\d{3}), request id: (?P<rid>[\w-]{0,100})")
# A bare `Code: message` with no SDK wording around it (counted only when the code is a known one).
_BARE_CODE = re.compile(r"(?<![\w.])([A-Z][A-Za-z0-9]{2,60}(?:\.[A-Za-z]{2,30})?): ")

_REQUEST_ID = re.compile(
    r"(?i)(?:request[ _-]?id|x-amzn-requestid|x-amz-request-id)\"?\s*[:=]\s*\"?(?P<rid>[A-Za-z0-9][A-Za-z0-9-]{7,})")

# Text without an AWS code: phrases, in order; the first match names the category.
_PHRASE_RULES: list[tuple[re.Pattern[str], Category]] = [(re.compile(p, re.I), c) for p, c in [
    (r"\[409\] Conflict|Another update is currently in progress|the stack is currently locked by",
     CONCURRENT_UPDATE),
    (r"no stack named '?[^'\s]*'? found", STACK_NOT_FOUND),
    (r"error: stack '[^']+' already exists", STACK_EXISTS),
    (r"security token included in the request is expired|token has expired", EXPIRED_TOKEN),
    (r"not authorized to perform|is not authorized|access denied", ACCESS_DENIED),
    (r"rate exceeded|too many requests|StatusCode: 429|status code: 429", THROTTLING),
    (r"StatusCode: 5\d\d|status code: 5\d\d|service unavailable|internal server error", SERVICE_UNAVAILABLE),
    (r"no valid credential sources|NoCredentialProviders|Unable to locate credentials", NO_CREDENTIALS),
    (r"dial tcp|connection refused|connection reset|broken pipe|no such host|i/o timeout|"
     r"TLS handshake timeout|network is unreachable|Could not connect to the endpoint URL|"
     r"EndpointConnectionError|(Read|Connect) timeout on endpoint|ConnectionClosedError|unexpected EOF|"
     r": EOF\b|send request failed|context deadline exceeded", NETWORK),
    (r"timeout while waiting for (state|resource)|waiting for [^\n]{0,300}: timeout", TIMEOUT),
    (r"with pending operations", PENDING_OPERATIONS),
    (r"unhandled exception|Traceback \(most recent call last\)|inline source runtime error|"
     r"an unhandled error occurred|panic: |Build FAILED", PROGRAM),
    (r"could not load plugin|failed to load plugin|no resource plugin|failed to download plugin|"
     r"failed to install plugin|snapshot integrity failure|failed to decrypt|incorrect passphrase|"
     r"passphrase must be set|failed to load checkpoint|could not find (the )?pulumi", ENGINE),
]]

_PY_EXCEPTION_LINE = re.compile(
    r"^[ \t]*(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt))(?:: (?P<msg>.*))?$", re.M)

# Pulumi's raw colour tags (`<{%reset%}>`) and terminal escape sequences.
_COLOUR = re.compile(r"<\{%[^%]*%\}>|\x1b\[[0-9;?]*[A-Za-z]")
# The aws provider's Go SDK prefix between what it was doing and what AWS said.
_GO_SDK_NOISE = re.compile(r"operation error [\w ]+: \w+, (?:exceeded maximum number of attempts, \d+, )?"
                           r"https response error StatusCode: \d{3}, RequestID: [\w-]*, (?:api error )?")
_GENERIC_LINE = re.compile(r"^(error: )?(update|preview|refresh|destroy) failed$|^\d+ errors? occurred:?$|"
                           r"^error:$|^Diagnostics:$|^[\w:/.-]+ \([^)]*\):$|error occurred:$", re.I)

_SECRET_RULES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"-----BEGIN [A-Z ]+-----.*?(-----END [A-Z ]+-----|\Z)", re.S), REDACTED),
    (re.compile(r"(?im)^(\s*-?\s*(?:certificate-authority-data|client-certificate-data|client-key-data|"
                r"token|id-token|refresh-token|password|client-secret)\s*:\s*)\S.*$"), r"\1" + REDACTED),
    (re.compile(r"(?i)(?<![a-z0-9])([\"']?(?:aws_secret_access_key|secret_?access_?key|secretKey|"
                r"aws_session_token|session_?token|security_?token|x-amz-security-token|client-key-data|"
                r"client-certificate-data|certificate-authority-data|(?:sts:)?external_?id|passphrase|password|"
                r"client_?secret|private_?key|token)[\"']?\s*[:=]\s*[\"']?)([^\s\"',;}&]+)"), r"\1" + REDACTED),
    (re.compile(r"(?i)(--(?:external-id|secret-access-key|session-token|passphrase)[= ])(\S+)"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(Bearer|Basic) +[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"k8s-aws-v1\.[A-Za-z0-9_-]+"), REDACTED),
    (re.compile(r"(?<!\w)(\w{1,20}://)[^/\s:@]{1,200}:[^/\s@]{1,500}@"), r"\1" + REDACTED + "@"),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), REDACTED),
    (re.compile(r"[A-Za-z0-9+/_-]{60,}={0,2}"), lambda m: REDACTED if _mixed(m.group(0)) else m.group(0)),
    (re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])"),
     lambda m: REDACTED if _mixed(m.group(0)) else m.group(0)),
]


def _mixed(text: str) -> bool:
    """Looks like key material: upper and lower case letters and digits all present."""
    return any(c.isupper() for c in text) and any(c.islower() for c in text) and any(c.isdigit() for c in text)


def redact(text: str) -> str:
    """Removes anything that looks like a credential, token, external id or kubeconfig data."""
    for pattern, replacement in _SECRET_RULES:
        text = pattern.sub(replacement, text)
    return text


def clean(text: str) -> str:
    """Drops colour tags and escapes, normalises line ends."""
    return _COLOUR.sub("", text).replace("\r\n", "\n")


def _shorten(line: str) -> str:
    """One short, redacted line. Cut generously first (regexes stay cheap), redact, then cut to size."""
    line = redact(" ".join(line.split())[:4 * MAX_MESSAGE])
    line = _GO_SDK_NOISE.sub("", line)
    line = re.sub(r"^(?:\*\s*|error:\s*|Error:\s*)+", "", line).strip()
    # gRPC's wrapper around a Python provider's exception, and the exception's class name
    line = re.sub(r"^(?:Exception calling application: )?(?:[\w.]{0,100}(?:Exception|Error): )?"
                  r"(?=An error occurred \()", "", line)
    return line if len(line) <= MAX_MESSAGE else line[:MAX_MESSAGE - 1].rstrip() + "…"


def _line_at(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start:] if end < 0 else text[start:end]


def summarize(text: str) -> str:
    """A short, safe one-line message for a block of Pulumi/AWS error text (no classification).

    Prefers the first specific `error:` line, then the first specific line of any kind.
    """
    lines = list(dict.fromkeys(line for line in clean(text).split("\n") if line.strip()))
    for wanted in (lambda raw: raw.lstrip(" \t*").lower().startswith("error:"), lambda raw: True):
        for raw in lines:
            if wanted(raw) and (short := _shorten(raw)) and not _GENERIC_LINE.search(short):
                return short
    return _shorten(lines[-1]) if lines else ""


BACKOFF_BASE = 10.0  # the defaults of Settings.retry_base / retry_cap (FLEETYARD_RETRY_BASE / _CAP)
BACKOFF_CAP = 600.0


def backoff(attempt: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP, rng: Callable[[], float] = random.random,
            jitter: Literal["equal", "full"] = "equal") -> int:
    """Seconds to wait before retry `attempt` (1 = first retry): exponential, capped, jittered.

    Equal jitter waits between half and all of `min(cap, base * 2**(attempt-1))`; full jitter
    anywhere from 1 second up to it.
    """
    ceiling = min(float(cap), float(base) * 2 ** (max(attempt, 1) - 1))
    if jitter == "full":
        delay = ceiling * rng()
    else:
        delay = ceiling / 2 + (ceiling / 2) * rng()
    return max(1, min(int(cap), round(delay)))


@dataclasses.dataclass(frozen=True)
class _Finding:
    category: Category
    caused_by: str | None
    line: str
    request_id: str | None = None
    status: int | None = None


def _aws_category(code: str, message: str, status: int | None) -> Category:
    for pattern, category in _CODE_TABLE if len(code) <= 100 else []:
        if pattern.fullmatch(code):
            if category == RESOURCE_IN_USE and "already exists" in message.lower():
                return ALREADY_EXISTS
            return category
    if status == 429:
        return THROTTLING
    if status is not None and status >= 500:
        return SERVICE_UNAVAILABLE
    if status == 403:
        return ACCESS_DENIED
    if status is not None and 400 <= status < 500:
        return dataclasses.replace(CLOUD_OTHER, retryable=False)
    return CLOUD_OTHER


def _aws_findings(text: str) -> list[_Finding]:
    found: list[_Finding] = []
    for pattern in _AWS_ERROR_PATTERNS:
        for match in pattern.finditer(text):
            groups = match.groupdict()
            status = int(groups["status"]) if groups.get("status") else None
            found.append(_Finding(_aws_category(groups["code"], groups.get("msg") or "", status), groups["code"],
                                  _line_at(text, match.start("code")), groups.get("rid") or None, status))
    for match in _AWS_V1_STATUS.finditer(text):
        line = _line_at(text, match.start())
        code = _pick_code(line)
        if code:
            found.append(_Finding(_aws_category(code, line, int(match.group("status"))), code, line,
                                  match.group("rid") or None, int(match.group("status"))))
    return found


def _bare_code_findings(text: str) -> list[_Finding]:
    found = []
    for match in _BARE_CODE.finditer(text):
        code = match.group(1)
        for pattern, category in _CODE_TABLE:
            if pattern.fullmatch(code):
                found.append(_Finding(_aws_category(code, _line_at(text, match.start()), None), code,
                                      _line_at(text, match.start())))
                break
    return found


def _pick_code(line: str) -> str | None:
    """The AWS code in a v1-SDK line such as `creating IAM Role: AccessDeniedException: User: ...`."""
    tokens = re.findall(r"(?<![\w.])([A-Z][\w.]{0,100}): ", line[:4096])
    for token in tokens:
        if any(pattern.fullmatch(token) for pattern, _ in _CODE_TABLE):
            return token
    for token in tokens:
        if token.endswith(("Exception", "Error", "Fault")):
            return token
    return tokens[0] if tokens else None


def _best(findings: list[_Finding]) -> _Finding:
    def rank(finding: _Finding) -> int:
        for i, category in enumerate(_PRIORITY):
            if category.code == finding.category.code:
                return i
        return len(_PRIORITY)
    return min(findings, key=rank)  # min keeps the first of equal rank: the earliest in the text


def _program_finding(text: str, match: re.Match[str]) -> _Finding:
    after = text[match.start():]
    exceptions = list(_PY_EXCEPTION_LINE.finditer(after))
    if exceptions:
        last = exceptions[-1]
        type_name = last.group("type").rsplit(".", 1)[-1]
        return _Finding(PROGRAM, type_name, last.group(0))
    return _Finding(PROGRAM, None, _line_at(text, match.start()))


def _find(text: str) -> _Finding | None:
    conflict = _PHRASE_RULES[0][0].search(text)
    if conflict:  # a locked stack never ran: anything else in the text is older news
        return _Finding(CONCURRENT_UPDATE, "ConcurrentUpdateError", _line_at(text, conflict.start()))
    findings = _aws_findings(text) or _bare_code_findings(text)
    if findings:
        return _best(findings)
    for pattern, category in _PHRASE_RULES[1:]:
        match = pattern.search(text)
        if match:
            if category == PROGRAM:
                return _program_finding(text, match)
            return _Finding(category, None, _line_at(text, match.start()))
    return None


def request_id(text: str) -> str | None:
    """The first AWS request id named in the text, if any."""
    match = _REQUEST_ID.search(text)
    return match.group("rid") if match else None


# Validation messages that point at one spec field, so a UI can show the error next to it.
_FIELD_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"kubernetes (minor )?version|unsupported version", re.I), "spec.config.kubernetesVersion"),
    (re.compile(r"instance ?types?\b", re.I), "spec.config.systemNodeGroup.instanceTypes"),
    (re.compile(r"\bcidr\b|InvalidVpc\.Range|InvalidSubnet\.Range", re.I), "spec.config.cidr"),
    (re.compile(r"public ?access ?cidrs", re.I), "spec.config.publicAccessCidrs"),
]


def _field_errors(category: Category, message: str) -> dict[str, str] | None:
    if category != VALIDATION:
        return None
    for pattern, field in _FIELD_HINTS:
        if pattern.search(message):
            return {field: message}
    return None


@dataclasses.dataclass(frozen=True)
class Retry:
    """When a retryable failure is tried again: attempt (1-based), the backoff's base and cap, its dice."""

    attempt: int = 1
    base: float = BACKOFF_BASE
    cap: float = BACKOFF_CAP
    rng: Callable[[], float] = random.random

    def after(self) -> int:
        return backoff(self.attempt, self.base, self.cap, rng=self.rng)


def _error_object(category: Category, message: str, *, caused_by: str | None, request_id_: str | None,
                  retry: Retry, field_errors: dict[str, str] | None = None) -> common.ErrorObject:
    details = common.ErrorDetails(
        retryable=category.retryable, retryAfter=retry.after() if category.retryable else None,
        requestId=request_id_, causedBy=caused_by, fieldErrors=field_errors)
    return common.ErrorObject(code=category.code, message=message or category.code,
                              errorType=category.error_type, details=details)


def describe(text: str) -> str:
    """The short, safe message `classify` would give: the line naming the error, else a summary."""
    text = clean(text or "")
    finding = _find(text)
    return (_shorten(finding.line) if finding else "") or summarize(text)


def classify(error_text: str, *, aws_request_id: str | None = None, attempt: int = 1,
             rng: Callable[[], float] = random.random, fallback: Category = INTERNAL,
             caused_by: str | None = None, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> common.ErrorObject:
    """Classifies a failed run from its stderr/stdout/diagnostic text.

    `aws_request_id` wins over one found in the text; `attempt` (1-based), `base` and `cap` set
    `retryAfter` for retryable errors; `fallback` is the category when nothing in the text is recognised.
    """
    return _classify(error_text, aws_request_id, fallback, caused_by, Retry(attempt, base, cap, rng))


def _classify(error_text: str, aws_request_id: str | None, fallback: Category, caused_by: str | None,
              retry: Retry) -> common.ErrorObject:
    text = clean(error_text or "")
    finding = _find(text)
    if finding is None:
        return _error_object(fallback, summarize(text), caused_by=caused_by, retry=retry,
                             request_id_=aws_request_id or request_id(text))
    message = describe(text)
    rid = aws_request_id or finding.request_id or request_id(finding.line) or request_id(text)
    return _error_object(finding.category, message, caused_by=finding.caused_by or caused_by, retry=retry,
                         request_id_=rid, field_errors=_field_errors(finding.category, message))


def command_output(exc: pulumi_errors.CommandError) -> tuple[str, str]:
    """(stdout, stderr) of a CommandError: the SDK keeps them only inside the exception's text."""
    text = str(exc)
    head, sep, stderr = text.rpartition("\n stderr: ")
    if not sep:
        return text, ""
    _, sep, stdout = head.partition("\n stdout: ")
    return (stdout if sep else head), stderr


def _pulumi_errors() -> Any:
    """`pulumi.automation.errors` when this process has loaded Pulumi (the worker). The operator never
    imports Pulumi (most of its memory at start), and an exception it holds cannot be one of Pulumi's."""
    return sys.modules.get("pulumi.automation.errors")


def _from_command_error(exc: pulumi_errors.CommandError, retry: Retry) -> common.ErrorObject:
    errors = _pulumi_errors()
    stdout, stderr = command_output(exc)
    text = f"{stderr}\n{stdout}"
    name = getattr(exc, "name", None) or type(exc).__name__
    for exc_type, category in ((errors.ConcurrentUpdateError, CONCURRENT_UPDATE),
                               (errors.StackNotFoundError, STACK_NOT_FOUND),
                               (errors.StackAlreadyExistsError, STACK_EXISTS)):
        if isinstance(exc, exc_type):
            found = _find(clean(stderr)) or _find(clean(text))
            line = found.line if found and found.category == category else summarize(stderr) or name
            return _error_object(category, _shorten(line), caused_by=name, request_id_=None, retry=retry)
    program_errors = (errors.InlineSourceRuntimeError, errors.RuntimeError, errors.CompilationError)
    fallback = PROGRAM if isinstance(exc, program_errors) else INTERNAL
    return _classify(text, None, fallback, name, retry)


def _from_cloud_error(exc: cloud_errors.CloudError, retry: Retry) -> common.ErrorObject:
    if exc.code in ("NetworkError", "NoCredentials"):
        category = NETWORK if exc.code == "NetworkError" else NO_CREDENTIALS
    else:
        category = _aws_category(exc.code, exc.message, exc.status)
    if exc.retryable and not category.retryable:
        category = dataclasses.replace(category, retryable=True)
    message = _shorten(f"{exc.code}: {exc.message}" if exc.message and exc.message != exc.code else exc.code)
    return _error_object(category, message, caused_by=exc.code, request_id_=exc.request_id, retry=retry,
                         field_errors=_field_errors(category, message))


def from_exception(exc: BaseException, attempt: int = 1, *, rng: Callable[[], float] = random.random,
                   base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> common.ErrorObject:
    """The error object for whatever a run raised; `attempt` (1-based), `base` and `cap` set the retry delay."""
    retry = Retry(attempt, base, cap, rng)
    errors = _pulumi_errors()
    if errors is not None and isinstance(exc, errors.CommandError):
        return _from_command_error(exc, retry)
    if isinstance(exc, (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)):
        exc = cloud_errors.translate(exc)
    if isinstance(exc, cloud_errors.CloudError):
        return _from_cloud_error(exc, retry)
    name = type(exc).__name__
    detail = _shorten(str(exc))
    message = f"{name}: {detail}" if detail else name
    if isinstance(exc, TimeoutError):
        category = TIMEOUT
    elif isinstance(exc, ConnectionError):
        category = NETWORK
    else:
        category = INTERNAL
    return _error_object(category, message, caused_by=name, request_id_=None, retry=retry)
