"""The asyncio Kubernetes client of the REST API: in-cluster config in a pod, else $KUBECONFIG.

Built once by `fleetyard.rest.main` at start-up and closed at shutdown; the informers, the review
calls and the impersonated writes share its connection pool.
"""

from __future__ import annotations

import os

from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig

POOL_SIZE = 64


async def api_client() -> aclient.ApiClient:
    configuration = aclient.Configuration()
    try:
        aconfig.load_incluster_config(client_configuration=configuration)
    except aconfig.ConfigException:
        await aconfig.load_kube_config(config_file=os.environ.get("KUBECONFIG"),
                                       client_configuration=configuration)
    configuration.connection_pool_maxsize = POOL_SIZE
    return aclient.ApiClient(configuration)
