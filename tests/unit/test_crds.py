"""The checked-in CRDs are exactly what the models generate, and have what kubectl users need."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from fleetyard import crdgen
from fleetyard.models import kinds

CRDS = pathlib.Path(__file__).resolve().parents[2] / "crds"


@pytest.mark.parametrize("doc", crdgen.all_crds(), ids=crdgen.file_name)
def test_checked_in_crd_matches_the_models(doc: dict) -> None:
    path = CRDS / crdgen.file_name(doc)
    assert path.exists(), f"{path} is missing: run `fleetyard crds`"
    assert path.read_text() == crdgen.render(doc), f"{path} drifted from the models: run `fleetyard crds`"


def test_no_stray_files_in_crds() -> None:
    expected = {crdgen.file_name(d) for d in crdgen.all_crds()}
    assert {p.name for p in CRDS.glob("*.yaml")} == expected


@pytest.mark.parametrize("kind", kinds.ALL, ids=lambda k: k.kind)
def test_crd_shape(kind: kinds.Kind) -> None:
    version = crdgen.crd(kind)["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    assert version["subresources"] == {"status": {}}
    assert "fleetyard" in crdgen.crd(kind)["spec"]["names"]["categories"]
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns[0] == "ID" and "Age" in columns
    status = schema["properties"]["status"]["properties"]
    assert {"id", "observedGeneration", "conditions"} <= set(status)
    assert status["conditions"]["x-kubernetes-list-map-keys"] == ["type"]
    assert status["kopf"]["x-kubernetes-preserve-unknown-fields"] is True
    text = yaml.safe_dump(schema)
    assert "$ref" not in text and "anyOf" not in text and "title" not in text


def test_instance_types_is_a_flat_list_of_strings() -> None:
    spec = crdgen.crd(kinds.PROVISIONED_CLUSTER)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    field = spec["properties"]["config"]["properties"]["systemNodeGroup"]["properties"]["instanceTypes"]
    assert field["type"] == "array" and field["items"]["type"] == "string" and field["minItems"] == 1


def _undescribed(node: dict, path: str) -> list[str]:
    """Every property under `node` (through objects, list items and typed maps) without a description."""
    out = []
    for name, prop in (node.get("properties") or {}).items():
        here = f"{path}.{name}"
        if not (prop.get("description") or "").strip():
            out.append(here)
        out += _undescribed(prop, here)
    if isinstance(node.get("items"), dict):
        out += _undescribed(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        out += _undescribed(node["additionalProperties"], f"{path}{{}}")
    return out


@pytest.mark.parametrize("kind", kinds.ALL, ids=lambda k: k.kind)
def test_kubectl_explain_describes_every_field(kind: kinds.Kind) -> None:
    """`kubectl explain` prints each field's description: none may say <no description>."""
    schema = crdgen.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    # metadata is ObjectMeta, documented by the apiserver itself
    assert _undescribed(schema, kind.kind) == [f"{kind.kind}.metadata"]
