"""Secret reads of the REST API, through its one asyncio client (`async_client`).

Called by the API's kubeconfig and metrics endpoints for a Connection's external id (the chart
grants the API `get` on Secrets by name). Same answers as `secrets.value`, same `secret_data.SecretProblem`.
"""

from __future__ import annotations

from kubernetes_asyncio import client as aclient

from fleetyard.kube import secret_data


async def value(api: aclient.ApiClient, namespace: str, name: str, key: str) -> str:
    try:
        secret = await aclient.CoreV1Api(api).read_namespaced_secret(name, namespace)
    except aclient.ApiException as exc:
        if exc.status == 404:
            raise secret_data.not_found(namespace, name) from None
        raise
    return secret_data.decoded(namespace, name, secret.data, key)
