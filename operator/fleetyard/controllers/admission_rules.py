"""Pure admission rules: stamping ids and authorship, and checks the CRD schema cannot express.

Called by `fleetyard.controllers.admission` (the webhook handlers). Each function takes plain
values and returns a patch or an error message; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleetyard.models import ids, kinds


def stamp(operation: str, old: dict[str, Any] | None, new: dict[str, Any], username: str, now: str,
          id_taken: Callable[[str], bool]) -> dict[str, Any]:
    """Metadata to merge into the object: the id label on create, created-by / updated-by annotations."""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    new_meta = new.get("metadata") or {}
    if operation == "CREATE":
        if not ids.is_valid((new_meta.get("labels") or {}).get(kinds.ID_LABEL)):
            labels[kinds.ID_LABEL] = ids.new_id(id_taken)
        annotations[kinds.CREATED_BY_ANNOTATION] = username
        annotations[kinds.UPDATED_BY_ANNOTATION] = username
        annotations[kinds.UPDATED_AT_ANNOTATION] = now
    else:
        old_annotations = ((old or {}).get("metadata") or {}).get("annotations") or {}
        for key in (kinds.CREATED_BY_ANNOTATION, kinds.UPDATED_BY_ANNOTATION, kinds.UPDATED_AT_ANNOTATION):
            if key in old_annotations:
                annotations[key] = old_annotations[key]
        if (old or {}).get("spec") != new.get("spec"):
            annotations[kinds.UPDATED_BY_ANNOTATION] = username
            annotations[kinds.UPDATED_AT_ANNOTATION] = now
    out: dict[str, Any] = {}
    if labels:
        out["labels"] = labels
    current = new_meta.get("annotations") or {}
    changed = {k: v for k, v in annotations.items() if current.get(k) != v}
    if changed:
        out["annotations"] = changed
    return out


def id_label_error(operation: str, old: dict[str, Any] | None, new: dict[str, Any],
                   id_taken: Callable[[str], bool]) -> str | None:
    new_id = ((new.get("metadata") or {}).get("labels") or {}).get(kinds.ID_LABEL)
    if operation == "CREATE":
        if new_id is not None and not ids.is_valid(new_id):
            return f"metadata.labels[{kinds.ID_LABEL}] must be 10 upper-case letters or digits"
        if new_id is not None and id_taken(new_id):
            return f"metadata.labels[{kinds.ID_LABEL}]: id {new_id} is already used in this namespace"
        return None
    old_id = (((old or {}).get("metadata") or {}).get("labels") or {}).get(kinds.ID_LABEL)
    if old_id is not None and new_id != old_id:
        return f"metadata.labels[{kinds.ID_LABEL}] is immutable (was {old_id})"
    return None


def network_connection_error(cluster_spec: dict[str, Any], network: dict[str, Any] | None) -> str | None:
    """A ProvisionedCluster must use its Network's Connection and region (when the Network exists)."""
    if network is None:
        return None
    net_spec = network.get("spec") or {}
    network_name = (cluster_spec.get("networkRef") or {}).get("name")
    cluster_conn = (cluster_spec.get("connectionRef") or {}).get("name")
    net_conn = (net_spec.get("connectionRef") or {}).get("name")
    if cluster_conn != net_conn:
        return (f"spec.networkRef: Network {network_name} belongs to Connection {net_conn}, "
                f"not spec.connectionRef {cluster_conn}")
    if cluster_spec.get("region") != net_spec.get("region"):
        return (f"spec.region: {cluster_spec.get('region')} differs from the region of Network {network_name} "
                f"({net_spec.get('region')})")
    return None
