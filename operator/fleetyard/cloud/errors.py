"""Turns botocore failures into `CloudError`: a code, a safe message, the request id, retryability.

Called by every `fleetyard.cloud` function; callers above never see botocore exceptions.
"""

from __future__ import annotations

import botocore.exceptions

RETRYABLE_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
                   "ServiceUnavailable", "InternalError", "InternalFailure", "RequestTimeout"}


class CloudError(Exception):
    def __init__(self, code: str, message: str, request_id: str | None = None, retryable: bool = False,
                 status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retryable = retryable
        self.status = status


def translate(exc: Exception) -> CloudError:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code = str(err.get("Code") or "Unknown")
        status = meta.get("HTTPStatusCode")
        return CloudError(code, str(err.get("Message") or code), meta.get("RequestId"),
                          code in RETRYABLE_CODES or (status or 0) >= 500, status)
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError,
                        botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectionClosedError)):
        return CloudError("NetworkError", "the AWS endpoint could not be reached", retryable=True)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return CloudError("NoCredentials", "the operator has no AWS credentials configured")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return CloudError(type(exc).__name__, "the AWS client failed", retryable=True)
    raise exc
