"""The checked-in reference docs are exactly what the code generates, they cover what a reader looks
up (every endpoint, field and rule), and nothing in the repository points outside it."""

from __future__ import annotations

import pathlib
import re

import pytest

from fleetyard import cli, crdgen, docsgen
from fleetyard.rest import errors

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return docsgen.render_all()


@pytest.mark.parametrize("name", docsgen.FILES)
def test_checked_in_doc_matches_the_code(name: str, rendered: dict[str, str]) -> None:
    path = DOCS / name
    assert path.exists(), f"{path} is missing: run `fleetyard docs` (make docs)"
    assert path.read_text() == rendered[name], f"{path} drifted from the code: run `fleetyard docs` (make docs)"


def test_rendering_twice_gives_the_same_bytes(rendered: dict[str, str]) -> None:
    assert docsgen.render_all() == rendered


def test_rest_reference_has_every_endpoint_and_schema(rendered: dict[str, str]) -> None:
    doc = docsgen.openapi_document()
    text = rendered[docsgen.REST_API]
    for path, item in doc["paths"].items():
        for method in item:
            assert f"### {method.upper()} {path}\n" in text
    for name in doc["components"]["schemas"]:
        assert f"### {name}\n" in text
    for needle in ("`X-Fleetyard-Organization`", "`marker`", "`limit`", "`fieldErrors`", "rest-api-guide.md"):
        assert needle in text


def test_rest_body_fields_are_named_as_field_errors_name_them(rendered: dict[str, str]) -> None:
    """A reader who gets `details.fieldErrors` finds the same key in the body's field table."""
    key = errors.field_name(("body", "config", "systemNodeGroup", "desiredSize"))
    assert f"| `{key}` | integer | yes |" in rendered[docsgen.REST_API]


def test_crd_reference_has_every_kind_column_field_and_rule(rendered: dict[str, str]) -> None:
    text = rendered[docsgen.CRD_REFERENCE]
    for crd in crdgen.all_crds():
        names = crd["spec"]["names"]
        assert f"`{names['kind']}`" in text
        for short in names.get("shortNames") or []:
            assert f"`{short}`" in text
        version = crd["spec"]["versions"][0]
        for column in version.get("additionalPrinterColumns") or []:
            assert docsgen.cell(docsgen.code(column["jsonPath"])) in text
        schema = version["schema"]["openAPIV3Schema"]["properties"]
        for part in ("spec", "status"):
            if (schema.get(part) or {}).get("properties"):
                for path, _, _ in docsgen.flatten(schema[part], part):
                    assert f"| `{path}` |" in text, f"{names['kind']} {path} is not documented"
        for rule in _rules(schema):
            assert docsgen.cell(rule["message"]) in text


def _rules(node: object) -> list[dict[str, str]]:
    if isinstance(node, dict):
        return list(node.get("x-kubernetes-validations") or []) + [r for v in node.values() for r in _rules(v)]
    if isinstance(node, list):
        return [r for v in node for r in _rules(v)]
    return []


def test_defaults_and_enums_are_shown(rendered: dict[str, str]) -> None:
    text = rendered[docsgen.CRD_REFERENCE]
    assert "| `spec.desiredState` | string | no | `Provisioned` |" in text
    assert "one of `Provisioned`, `Pending`, `Destroyed`" in text


def test_a_cel_rule_with_pipes_stays_in_its_table_cell() -> None:
    row = docsgen.table(("field", "validation"), [("`a`", docsgen.code("self.x || self.y"))]).splitlines()[2]
    assert len(re.findall(r"(?<!\\)\|", row)) == 3


def test_stale_names_the_files_that_drifted(tmp_path: pathlib.Path, rendered: dict[str, str]) -> None:
    assert docsgen.stale(tmp_path, rendered) == list(docsgen.FILES)
    for name, text in rendered.items():
        (tmp_path / name).write_text(text)
    assert docsgen.stale(tmp_path, rendered) == []
    (tmp_path / docsgen.CRD_REFERENCE).write_text(rendered[docsgen.CRD_REFERENCE] + "edited by hand\n")
    assert docsgen.stale(tmp_path, rendered) == [docsgen.CRD_REFERENCE]


def test_docs_command_writes_then_checks(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["docs", "--check", "--out", str(tmp_path)]) == 1
    assert "run `fleetyard docs`" in capsys.readouterr().err
    assert cli.main(["docs", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(docsgen.FILES)
    assert cli.main(["docs", "--check", "--out", str(tmp_path)]) == 0


def _source(module: str) -> str:
    return (ROOT / "operator" / "fleetyard" / module).read_text()


def test_operations_guide_lists_every_setting() -> None:
    text = (DOCS / "operations.md").read_text()
    names = sorted(set(re.findall(r'"(FLEETYARD_[A-Z_]+)"', _source("settings.py"))))
    assert names, "settings.py reads no FLEETYARD_* variable?"
    assert [n for n in names if f"`{n}`" not in text] == [], "document these in docs/operations.md#settings"


def test_operations_guide_lists_every_metric() -> None:
    text = (DOCS / "operations.md").read_text()
    series = sorted(set(re.findall(r'"(fleetyard_[a-z_]+)"', _source("metrics.py"))))
    assert series, "metrics.py defines no fleetyard_* series?"
    assert [s for s in series if f"`{s}`" not in text] == [], "document these in docs/operations.md#metrics"


# What a clone does not have: the project's planning folder beside the repository.
OUTSIDE = re.compile("|".join(map(re.escape, ("../" + "shared", "shared " + "notes", "notes/" + "toolchain.md",
                                               "seed/" + "clusters-api"))))
SCANNED = ("operator", "tests", "hack", "config", "examples", "docs", "Makefile", "pyproject.toml")


def test_nothing_in_the_repository_points_outside_it() -> None:
    found = []
    for top in SCANNED:
        base = ROOT / top
        for path in [base] if base.is_file() else sorted(base.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".so"):
                continue
            try:
                text = path.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            found += [f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1)
                      if OUTSIDE.search(line)]
    assert found == []
