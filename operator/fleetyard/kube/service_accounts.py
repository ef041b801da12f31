"""ServiceAccounts as API callers: create one, bind it to a ClusterRole in a namespace, mint its token.

Called by the dev environment (`devenv.sample_users`: the sample organizations' users of the REST
API) and the tests. Tokens come from the TokenRequest API (`serviceaccounts/token`), which the
kube-apiserver serves on its own with its service-account signing key: no controller-manager and
no token Secrets. A token is a credential: nothing here logs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import kubernetes

from fleetyard.kube import apply as kube_apply

USERNAME_PREFIX = "system:serviceaccount:"


def username(namespace: str, name: str) -> str:
    """The username Kubernetes authenticates a ServiceAccount's tokens as."""
    return f"{USERNAME_PREFIX}{namespace}:{name}"


def parse_username(user: str) -> tuple[str, str] | None:
    """(namespace, name) of a ServiceAccount username, None for any other user."""
    if not user.startswith(USERNAME_PREFIX):
        return None
    namespace, _, name = user[len(USERNAME_PREFIX):].partition(":")
    return (namespace, name) if namespace and name and ":" not in name else None


def ensure_service_account(api: kubernetes.client.ApiClient, namespace: str, name: str) -> None:
    kube_apply.apply(api, [{"apiVersion": "v1", "kind": "ServiceAccount",
                            "metadata": {"name": name, "namespace": namespace}}])


def token(api: kubernetes.client.ApiClient, namespace: str, name: str, seconds: int = 86400,
          audiences: Sequence[str] | None = None) -> str:
    """A token of the ServiceAccount valid `seconds`, for `audiences` (None: the apiserver's own)."""
    request = kubernetes.client.AuthenticationV1TokenRequest(
        spec=kubernetes.client.V1TokenRequestSpec(audiences=list(audiences or []), expiration_seconds=seconds))
    response = kubernetes.client.CoreV1Api(api).create_namespaced_service_account_token(name, namespace, request)
    return str(response.status.token)


def bind(api: kubernetes.client.ApiClient, namespace: str, cluster_role: str,
         service_account_namespace: str, service_account_name: str) -> str:
    """A RoleBinding in `namespace` granting `cluster_role` to the ServiceAccount; returns its name."""
    name = f"{cluster_role}-{service_account_namespace}-{service_account_name}"
    kube_apply.apply(api, [{
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": service_account_name,
                      "namespace": service_account_namespace}],
    }])
    return name
