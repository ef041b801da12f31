"""Builds the Kubernetes API client once: in-cluster config in a pod, else $KUBECONFIG.

Called by `fleetyard.kube.resources`; nothing else constructs a client.
"""

from __future__ import annotations

import functools
import os

import kubernetes


# Kopf's handler threads, timers and the runner share one client; the default pool (5 x CPUs)
# made bursts discard connections.
POOL_SIZE = 32


@functools.cache
def api_client() -> kubernetes.client.ApiClient:
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_incluster_config(client_configuration=configuration)
    except kubernetes.config.ConfigException:
        # read $KUBECONFIG now: the library's default is fixed when it is imported
        kubernetes.config.load_kube_config(config_file=os.environ.get("KUBECONFIG"),
                                           client_configuration=configuration)
    configuration.connection_pool_maxsize = POOL_SIZE
    return kubernetes.client.ApiClient(configuration)


def custom_objects() -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(api_client())


def core() -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(api_client())


def client_for(kubeconfig: str) -> kubernetes.client.ApiClient:
    """A client for an explicit kubeconfig file (the dev environment and tests use this)."""
    return kubernetes.config.new_client_from_config(config_file=kubeconfig)
