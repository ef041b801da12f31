"""Generates the CustomResourceDefinitions in `crds/` from the pydantic models.

Called by `fleetyard crds` (writes the files), by the dev environment and the tests (installs them),
and by the drift test (compares them with the checked-in YAML). The translation turns pydantic's
JSON schema into a structural OpenAPI v3 schema: `$ref`s inlined, `Optional` unwrapped, titles
and `additionalProperties: false` dropped (structural schemas prune unknown fields anyway),
free-form objects marked `x-kubernetes-preserve-unknown-fields`.
"""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import pydantic
import yaml

from fleetyard.models import kinds

_DROP = {"title", "additionalProperties", "$defs", "discriminator"}
# Kubernetes' own words for the fields every object has (what `kubectl explain` shows for built-in kinds)
_TYPE_META = {
    "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of this representation "
                                                    "of an object: fleetyard.io/v1alpha1."},
    "kind": {"type": "string", "description": "Kind is a string value representing the REST resource this object "
                                              "represents."},
    # the apiserver publishes ObjectMeta's own schema and docs for metadata; the CRD may only say `object`
    "metadata": {"type": "object"},
}


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = copy.deepcopy(defs[node.pop("$ref").split("/")[-1]])
        node = _merge(_resolve(target, defs), _resolve(node, defs))
    if "allOf" in node and len(node["allOf"]) == 1:
        node = _merge(_resolve(node.pop("allOf")[0], defs), node)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) == 1:
            node.pop("anyOf")
            node = _merge(_resolve(options[0], defs), node)
    return _structural(node, defs)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Field-level keywords (description, default, CEL rules) on top of the referenced type."""
    out = dict(base)
    for key, value in extra.items():
        if key == "x-kubernetes-validations":
            out[key] = list(base.get(key, [])) + list(value)
        elif key == "items" and isinstance(value, dict) and isinstance(base.get("items"), dict):
            out[key] = _merge(base["items"], value)
        else:
            out[key] = value
    return out


def _structural(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    free_form = node.get("type") == "object" and "properties" not in node and (
        node.get("additionalProperties") in (True, None, {}))
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "default" and value is None:
            continue
        if key == "properties":
            out[key] = {name: _resolve(prop, defs) for name, prop in value.items()}
        elif key == "items":
            out[key] = _resolve(value, defs)
        elif key == "const":
            out["enum"] = [value]
        else:
            out[key] = value
    typed_map = node.get("additionalProperties")
    if isinstance(typed_map, dict) and typed_map:
        out["additionalProperties"] = _resolve(typed_map, defs)
    if free_form:
        out["x-kubernetes-preserve-unknown-fields"] = True
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


def openapi_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The structural schema of one model (spec or status)."""
    raw = model.model_json_schema(ref_template="#/$defs/{model}")
    return _resolve(raw, raw.get("$defs", {}))


def crd(kind: kinds.Kind) -> dict[str, Any]:
    spec = openapi_schema(kind.spec)
    spec.setdefault("description", f"Desired state of the {kind.kind}.")
    status = openapi_schema(kind.status)
    status["description"] = f"Observed state of the {kind.kind}, written by the operator."
    columns = [{"name": c.name, "type": c.type, "jsonPath": c.json_path, **({"priority": c.priority} if c.priority else {}),
                **({"description": c.description} if c.description else {})} for c in kind.columns]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": kind.crd_name, "labels": {"app.kubernetes.io/part-of": "fleetyard"}},
        "spec": {
            "group": kinds.GROUP,
            "scope": "Namespaced",
            "names": {"kind": kind.kind, "listKind": f"{kind.kind}List", "plural": kind.plural,
                      "singular": kind.singular, "shortNames": list(kind.short_names),
                      "categories": ["fleetyard"]},
            "versions": [{
                "name": kinds.VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": kind.description,
                    "required": ["spec"],
                    "properties": {
                        **copy.deepcopy(_TYPE_META),
                        "spec": spec,
                        "status": status,
                    },
                }},
            }],
        },
    }


def peering_crds() -> list[dict[str, Any]]:
    """Kopf's peering kinds, so a second operator replica stands by instead of acting."""
    out = []
    for scope, kind, plural in (("Cluster", "ClusterKopfPeering", "clusterkopfpeerings"),
                                ("Namespaced", "KopfPeering", "kopfpeerings")):
        out.append({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.kopf.dev", "labels": {"app.kubernetes.io/part-of": "fleetyard"}},
            "spec": {
                "group": "kopf.dev", "scope": scope,
                "names": {"kind": kind, "plural": plural, "singular": plural[:-1]},
                "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                    "type": "object", "properties": {"status": {
                        "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}],
            },
        })
    return out


def all_crds() -> list[dict[str, Any]]:
    return [crd(k) for k in kinds.ALL] + peering_crds()


def file_name(doc: dict[str, Any]) -> str:
    return f"{doc['metadata']['name']}.yaml"


def render(doc: dict[str, Any]) -> str:
    return "# Generated by `fleetyard crds` from operator/fleetyard/models. Do not edit.\n" + yaml.safe_dump(
        doc, sort_keys=False, width=120)


def write(directory: pathlib.Path) -> list[pathlib.Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for doc in all_crds():
        path = directory / file_name(doc)
        path.write_text(render(doc))
        written.append(path)
    return written
