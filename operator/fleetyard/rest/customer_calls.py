"""The REST API's calls into a customer's account (a cluster's kubeconfig, its usage metrics).

Called by the connection-clusters router. The work (`fleetyard.day2.access`: STS, EKS, CloudWatch
through boto3) runs off the event loop; the Connection's external-id Secret it needs is read back on
the loop with the API's own asyncio client (`kube.async_secrets`), so the process keeps one Kubernetes
client. Failures become the seed's errors: 409 for a cluster not built yet, 502 for the cloud.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio import client as aclient

from fleetyard.cloud import errors as cloud_errors
from fleetyard.kube import async_secrets
from fleetyard.rest import errors

SECRET_TIMEOUT = 30.0


def _secret_reader(api: aclient.ApiClient, loop: asyncio.AbstractEventLoop) -> Callable[[str, str, str], str]:
    """A blocking Secret reader for the worker thread, answered by the loop's client."""
    def read(namespace: str, name: str, key: str) -> str:
        future = asyncio.run_coroutine_threadsafe(async_secrets.value(api, namespace, name, key), loop)
        return future.result(SECRET_TIMEOUT)
    return read


async def run(api: aclient.ApiClient, call: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """`call(*args, read_secret=..., **kwargs)` in a worker thread; its failures as the seed's errors."""
    reader = _secret_reader(api, asyncio.get_running_loop())
    try:
        return await asyncio.to_thread(functools.partial(call, *args, read_secret=reader, **kwargs))
    except LookupError as exc:
        raise errors.ApiError(409, str(exc)) from None
    except cloud_errors.CloudError as exc:
        raise errors.ApiError(502, f"the cloud provider refused: {exc.code}", retryable=exc.retryable,
                              retry_after=5 if exc.retryable else None, caused_by=exc.code) from None
