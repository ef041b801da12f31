"""Each fleetyard process of the test bed runs as its chart ServiceAccount, with exactly the chart's
RBAC: what a platform team gets from `helm install`. (Every other e2e test therefore proves the chart
grants enough; this one proves it grants no more than the review allows.)"""

from __future__ import annotations

import kubernetes
import pytest

from fleetyard.devenv import chart
from fleetyard.kube import service_accounts


def _client(kubeconfig: str) -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(config_file=kubeconfig)


def _may(api: kubernetes.client.ApiClient, verb: str, resource: str, group: str = "", namespace: str = "default",
         subresource: str | None = None) -> bool:
    review = kubernetes.client.V1SelfSubjectAccessReview(spec=kubernetes.client.V1SelfSubjectAccessReviewSpec(
        resource_attributes=kubernetes.client.V1ResourceAttributes(
            verb=verb, resource=resource, group=group, namespace=namespace, subresource=subresource)))
    return bool(kubernetes.client.AuthorizationV1Api(api).create_self_subject_access_review(review).status.allowed)


@pytest.fixture()
def processes(env) -> dict[str, kubernetes.client.ApiClient]:
    running = {"operator": env.operator, "webhooks": env.webhooks, "api": env.api_server}
    assert all(p is not None and p.alive() for p in running.values())
    return {name: _client(p.env["KUBECONFIG"]) for name, p in running.items()}


def test_each_process_authenticates_as_its_chart_serviceaccount(processes) -> None:
    for component, api in processes.items():
        who = kubernetes.client.AuthenticationV1Api(api).create_self_subject_review(
            kubernetes.client.V1SelfSubjectReview()).status.user_info
        assert who.username == service_accounts.username(chart.NAMESPACE, chart.component_account(component))
        assert "system:masters" not in (who.groups or [])


def test_no_process_can_list_secrets_or_grant_itself_more(processes) -> None:
    for component, api in processes.items():
        assert not _may(api, "list", "secrets"), component
        assert not _may(api, "watch", "secrets"), component
        assert not _may(api, "create", "clusterrolebindings", "rbac.authorization.k8s.io", ""), component
        assert not _may(api, "escalate", "clusterroles", "rbac.authorization.k8s.io", ""), component
        assert not _may(api, "create", "pods"), component


def test_the_webhooks_only_read_and_only_the_api_impersonates(processes) -> None:
    assert _may(processes["webhooks"], "list", "provisionedclusters", "fleetyard.io")
    assert not _may(processes["webhooks"], "patch", "provisionedclusters", "fleetyard.io")
    assert not _may(processes["webhooks"], "get", "secrets")
    assert _may(processes["api"], "impersonate", "users", namespace="")
    assert not _may(processes["operator"], "impersonate", "users", namespace="")
    assert not _may(processes["api"], "patch", "provisionedclusters", "fleetyard.io")
    assert _may(processes["operator"], "patch", "provisionedclusters", "fleetyard.io", subresource="status")
    assert _may(processes["operator"], "create", "secrets")  # kubeconfig Secrets
