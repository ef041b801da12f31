"""`python -m fleetyard.devenv.moto_main`: moto's server with one fix to its signature check.

Started by `fleetyard.devenv.moto_server`. With IAM access control on, moto 5.2.5 recomputes the
SigV4 signature of a request without a body (every EKS GET/DELETE such as DescribeCluster or
ListNodegroups) over its parsed parameters instead of the empty payload the client signed, and
answers SignatureDoesNotMatch. Clients do nothing wrong there, so the test bed fixes moto rather
than teaching fleetyard's clients a workaround.
"""

from __future__ import annotations

from typing import Any

from moto.iam import access_control
from moto.server import main

_create_aws_request = access_control.IAMRequest._create_aws_request


def _signed_as_sent(self: Any) -> Any:
    if self._body or self._method not in ("GET", "HEAD", "DELETE"):
        return _create_aws_request(self)
    parsed, self._data = self._data, b""
    try:
        return _create_aws_request(self)
    finally:
        self._data = parsed


access_control.IAMRequest._create_aws_request = _signed_as_sent

if __name__ == "__main__":
    main()
