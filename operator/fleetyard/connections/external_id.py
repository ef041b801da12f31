"""The one reader of a Connection's external id: a Kubernetes Secret (`externalIdSecretRef`) or a
Secrets Manager secret (`externalIdSecretArn`).

Called by the Connection verification, the provisioning runner, the day-2 checks and the REST API
(through `customer_session.for_connection`). The Secret reader is passed in (the operator's and the
API's Kubernetes clients differ); a Secrets Manager read uses the operator's own AWS identity. The
value is returned, never logged; `Unreadable` names the Secret to fix, never the value.
"""

from __future__ import annotations

from collections.abc import Callable

import boto3

from fleetyard.cloud import errors, secrets
from fleetyard.kube import secret_data
from fleetyard.models import connection

SecretReader = Callable[[str, str, str], str]  # (namespace, name, key) -> value; raises secret_data.SecretProblem


class Unreadable(Exception):
    """The external id cannot be read; `reason` is the Connection's status reason."""

    def __init__(self, reason: str, message: str, retryable: bool = True, request_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retryable = retryable
        self.request_id = request_id


def read(namespace: str, config: connection.ConnectionProviderConfig, read_secret: SecretReader,
         base: boto3.Session) -> str:
    if config.externalIdSecretRef is not None:
        ref = config.externalIdSecretRef
        try:
            value = read_secret(namespace, ref.name, ref.key)
        except secret_data.SecretProblem as exc:
            raise Unreadable("ExternalIdSecretNotFound",
                             f"{exc}: providerConfig.externalIdSecretRef must name the Secret holding the external id")
        source = f"Secret {namespace}/{ref.name} key {ref.key!r}"
    else:
        arn = config.externalIdSecretArn or ""
        try:
            value = secrets.secret_string(base, arn)
        except errors.CloudError as exc:
            raise Unreadable("ExternalIdSecretNotFound",
                             f"could not read the external id from Secrets Manager secret {arn} "
                             f"(providerConfig.externalIdSecretArn): {exc.code}", exc.retryable,
                             request_id=exc.request_id)
        source = f"Secrets Manager secret {arn}"
    if not value.strip():
        raise Unreadable("ExternalIdEmpty", f"the external id in {source} is empty")
    return value.strip()
