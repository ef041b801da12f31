"""Kubeconfig documents for a cluster: one with a short-lived token for machines (the Connection's
role: fleetyard and tools in the management cluster), one with an `aws eks get-token` exec entry
for people, which authenticates as the person.

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


def with_exec(endpoint: Endpoint) -> str:
    """For people: `aws eks get-token --cluster-name <name> --region <region>` with the person's own AWS
    credentials (their default chain: `AWS_PROFILE`, SSO, environment), so the cluster sees the person
    and the access entry of their IAM principal decides what they may do. No `--role-arn`, no
    external id, no profile baked in: nothing in it names or can assume the Connection's role, and the
    document is the same for everyone (it carries no credential)."""
    args = ["eks", "get-token", "--cluster-name", endpoint.name, "--output", "json"]
    if endpoint.region:
        args += ["--region", endpoint.region]
    return _document(endpoint, {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                         "command": "aws", "args": args, "interactiveMode": "Never",
                                         "provideClusterInfo": False}})


def response(endpoint: Endpoint, kubeconfig: str) -> dict[str, str]:
    """The seed's kubeconfig response body."""
    return {"kubeconfig": kubeconfig, "clusterEndpoint": endpoint.server,
            "clusterCertificateAuthority": endpoint.ca_data}
