"""Builds the Kubernetes API client once: in-cluster config in a pod, else $KUBECONFIG.

Called by `fleetyard.kube.resources`; nothing else constructs a client.
"""

from __future__ import annotations

import functools

import kubernetes


@functools.cache
def api_client() -> kubernetes.client.ApiClient:
    try:
        kubernetes.config.load_incluster_config()
        return kubernetes.client.ApiClient()
    except kubernetes.config.ConfigException:
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(client_configuration=configuration)
        return kubernetes.client.ApiClient(configuration)


def custom_objects() -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(api_client())


def core() -> kubernetes.client.CoreV1Api:
    return kubernetes.client.CoreV1Api(api_client())


def client_for(kubeconfig: str) -> kubernetes.client.ApiClient:
    """A client for an explicit kubeconfig file (the dev environment and tests use this)."""
    return kubernetes.config.new_client_from_config(config_file=kubeconfig)
