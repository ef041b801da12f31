"""Kubeconfig documents for a cluster: one with a short-lived token for machines, one with an
`aws eks get-token` exec entry for people.

Pure; called by the kubeconfig Secret writer (`day2.kubeconfig_secrets`) and by the REST API's
kubeconfig response (`day2.access`). The documents carry credentials: callers must never log them
or put them in status or Events.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where a cluster's API is and which CA signs it (base64 PEM, as EKS reports it)."""

    name: str
    server: str
    ca_data: str
    region: str | None = None


def _document(endpoint: Endpoint, user: dict[str, Any]) -> str:
    doc = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": endpoint.name, "cluster": {"server": endpoint.server,
                                                        "certificate-authority-data": endpoint.ca_data}}],
        "users": [{"name": endpoint.name, "user": user}],
        "contexts": [{"name": endpoint.name, "context": {"cluster": endpoint.name, "user": endpoint.name}}],
        "current-context": endpoint.name,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def with_token(endpoint: Endpoint, token: str) -> str:
    return _document(endpoint, {"token": token})


def with_exec(endpoint: Endpoint, role_arn: str | None) -> str:
    """For people: `aws eks get-token` assumes the Connection's role (their own credentials must be
    allowed to); the token is never stored."""
    args = ["eks", "get-token", "--cluster-name", endpoint.name, "--output", "json"]
    if endpoint.region:
        args += ["--region", endpoint.region]
    if role_arn:
        args += ["--role-arn", role_arn]
    return _document(endpoint, {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                         "command": "aws", "args": args, "interactiveMode": "Never"}})


def response(endpoint: Endpoint, kubeconfig: str) -> dict[str, str]:
    """The seed's kubeconfig response body."""
    return {"kubeconfig": kubeconfig, "clusterEndpoint": endpoint.server,
            "clusterCertificateAuthority": endpoint.ca_data}
