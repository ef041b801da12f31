"""Checks of a rendered chart that a security review would make: what its RBAC grants.

`rbac_problems(docs)` lists every rule that grants a wildcard, `escalate`/`bind`, write access to RBAC
objects, `impersonate` outside the REST API's role, or a binding to Kubernetes' superuser roles. Used by
tests/integration/test_chart.py on every documented values file (and unit-tested on bad roles).
"""

from __future__ import annotations

from typing import Any

WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}
SUPERUSER_ROLES = {"cluster-admin", "admin", "edit", "system:masters"}
RBAC_GROUP = "rbac.authorization.k8s.io"


def rbac_problems(docs: list[dict[str, Any]], impersonator_suffix: str = "-api") -> list[str]:
    problems = []
    for doc in docs:
        kind, name = doc.get("kind"), doc.get("metadata", {}).get("name", "")
        if kind in ("ClusterRole", "Role"):
            if doc.get("aggregationRule"):
                problems.append(f"{kind} {name}: aggregationRule (grants whatever gets aggregated)")
            for rule in doc.get("rules") or []:
                verbs, resources = set(rule.get("verbs") or []), set(rule.get("resources") or [])
                groups = set(rule.get("apiGroups") or [])
                where = f"{kind} {name} {sorted(groups)}/{sorted(resources)} {sorted(verbs)}"
                if "*" in verbs or "*" in groups or any("*" in r for r in resources) or rule.get("nonResourceURLs"):
                    problems.append(f"{where}: wildcard or non-resource URL")
                if verbs & {"escalate", "bind"}:
                    problems.append(f"{where}: escalate/bind")
                if RBAC_GROUP in groups and verbs & WRITE_VERBS:
                    problems.append(f"{where}: writes RBAC objects")
                if "impersonate" in verbs and not name.endswith(impersonator_suffix):
                    problems.append(f"{where}: impersonation outside the REST API's role")
                if "secrets" in resources and verbs & {"list", "watch"}:
                    problems.append(f"{where}: lists or watches Secrets")
        if kind in ("ClusterRoleBinding", "RoleBinding") and doc["roleRef"]["name"] in SUPERUSER_ROLES:
            problems.append(f"{kind} {name}: binds {doc['roleRef']['name']}")
    return problems
