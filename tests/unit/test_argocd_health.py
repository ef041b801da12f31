"""fleetyard's Argo CD health checks (argocd/resource_customizations/fleetyard.io/<Kind>/health.lua) give the
health each state of each kind should show, as Argo CD would compute it; the fixtures are real objects.

Every case of every `health_test.yaml` (Argo CD's own layout: `tests: [{healthStatus: {status, message},
inputPath}]`) runs through the Lua in Lua 5.1 (lupa.lua51; Argo CD runs gopher-lua, a Lua 5.1), called the way
Argo CD calls a script from argocd-cm (util/lua/lua.go, gitops-engine/pkg/health/health.go): the object is the
global `obj`, converted as gopher-lua sees JSON (tables for objects and arrays, nil for what is missing); only
the base, table, package and a two-function os library are there (no string.*: argocd-cm scripts run without
the standard libraries unless an admin sets useOpenLibs); an object with a deletionTimestamp is "Progressing:
Pending deletion" before any script runs; a status outside Argo CD's six is "Unknown". Fixtures must be valid
against the generated CRDs and the pydantic models, and carry the conditions the operator writes for their
phase. The argocd-cm snippet and the Argo CD Helm values must hold exactly the Lua files.
"""

from __future__ import annotations

import pathlib
import typing
from typing import Any

import jsonschema
import lupa.lua51
import pytest
import yaml

from fleetyard.controllers import infra_phases
from fleetyard.models import connection, kinds, network, operation, provisioned_cluster

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARGOCD = ROOT / "argocd"
CHECKS = ARGOCD / "resource_customizations" / kinds.GROUP
CRDS = ROOT / "crds"
HEALTH_CODES = ("Healthy", "Progressing", "Suspended", "Degraded", "Missing", "Unknown")
# what the health check writes in lastHealthStatus (fleetyard.cluster_health.assess, fleetyard.health_probe)
CLUSTER_HEALTH = ("healthy", "degraded", "unhealthy", "unknown")


class _KubeLoader(yaml.SafeLoader):
    """YAML as the apiserver and Argo CD read it: timestamps stay strings."""


_KubeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_yaml(path: pathlib.Path) -> Any:
    return yaml.load(path.read_text(), Loader=_KubeLoader)  # noqa: S506 - a SafeLoader subclass


# Builds the environment of an argocd-cm health script: what gopher-lua opens with SkipOpenLibs plus
# Argo CD's package/base/table/safe-os (util/lua/lua.go runLua); no string library, so strings have no methods.
_SANDBOX = """
local base = {"assert", "collectgarbage", "dofile", "error", "getfenv", "getmetatable", "ipairs", "load",
  "loadfile", "loadstring", "module", "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawset",
  "require", "select", "setfenv", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION"}
return function(source, obj)
  local env = {}
  for _, name in ipairs(base) do env[name] = _G[name] end
  env._G = env
  env.table = {}
  for name, fn in pairs(table) do env.table[name] = fn end
  env.os = {time = os.time, date = os.date}
  env.package = package
  env.obj = obj
  local script, err = loadstring(source, "=health.lua")
  if script == nil then error(err, 0) end
  setfenv(script, env)
  debug.setmetatable("", nil)
  return script()
end
"""


def _to_lua(lua: Any, value: Any) -> Any:
    if isinstance(value, dict):
        table = lua.table()
        for key, item in value.items():
            if item is not None:
                table[key] = _to_lua(lua, item)
        return table
    if isinstance(value, list):
        table = lua.table()
        for index, item in enumerate(value, start=1):
            table[index] = _to_lua(lua, item)
        return table
    return value


def argocd_health(script: str, obj: dict[str, Any]) -> dict[str, str]:
    """{status, message} as Argo CD's GetResourceHealth gives it for `obj` with this health script."""
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return {"status": "Progressing", "message": "Pending deletion"}
    lua = lupa.lua51.LuaRuntime(unpack_returned_tuples=False)
    result = lua.execute(_SANDBOX)(script, _to_lua(lua, obj))
    if result is None:
        return {"status": "", "message": ""}
    assert lupa.lua51.lua_type(result) == "table", f"the script returned a {lupa.lua51.lua_type(result)}, not a table"
    status, message = result["status"], result["message"]
    if status not in HEALTH_CODES:
        return {"status": "Unknown", "message": "Lua returned an invalid health status"}
    assert message is None or isinstance(message, str), f"message is a {type(message).__name__}"
    return {"status": status, "message": message or ""}


def script_of(kind: str) -> str:
    return (CHECKS / kind / "health.lua").read_text()


def cases_of(kind: str) -> list[dict[str, Any]]:
    return list(load_yaml(CHECKS / kind / "health_test.yaml")["tests"])


def fixture(kind: str, case: dict[str, Any]) -> dict[str, Any]:
    return dict(load_yaml(CHECKS / kind / case["inputPath"]))


ALL_CASES = [pytest.param(k.kind, c, id=f"{k.kind}/{c['inputPath']}")
             for k in kinds.ALL if (CHECKS / k.kind / "health_test.yaml").exists() for c in cases_of(k.kind)]


# --- the harness behaves like Argo CD's


def test_scripts_see_no_string_library() -> None:
    """A script that needs string.* or string methods fails here as it does in argocd-cm."""
    obj = {"metadata": {"name": "x"}}
    with pytest.raises(lupa.lua51.LuaError):
        argocd_health('return {status = string.upper("healthy")}', obj)
    with pytest.raises(lupa.lua51.LuaError):
        argocd_health('return {status = obj.metadata.name:upper()}', obj)


def test_obj_is_converted_as_gopher_lua_sees_json() -> None:
    obj = {"metadata": {"name": "n", "generation": 2}, "status": {"conditions": [{"type": "A"}, {"type": "B"}],
                                                                   "ready": False, "gone": None}}
    script = """
      local names = ""
      for _, c in ipairs(obj.status.conditions) do names = names .. c.type end
      local shape = type(obj.status.ready) .. " " .. tostring(obj.status.gone == nil) .. " " .. #obj.status.conditions
      return {status = "Healthy", message = names .. " " .. shape .. " " .. obj.metadata.generation}
    """
    assert argocd_health(script, obj) == {"status": "Healthy", "message": "AB boolean true 2 2"}


def test_invalid_status_and_deletion_are_argo_cds_own() -> None:
    assert argocd_health('return {status = "Fine"}', {}) == {
        "status": "Unknown", "message": "Lua returned an invalid health status"}
    deleting = {"metadata": {"deletionTimestamp": "2026-11-25T10:00:00Z"}}
    assert argocd_health('return {status = "Healthy"}', deleting) == {"status": "Progressing",
                                                                       "message": "Pending deletion"}


# --- every kind has a check, and each state of the kind a case


@pytest.mark.parametrize("kind", kinds.ALL, ids=lambda k: k.kind)
def test_every_kind_has_a_health_check_with_cases(kind: kinds.Kind) -> None:
    folder = CHECKS / kind.kind
    assert (folder / "health.lua").is_file(), f"{folder}/health.lua is missing"
    assert (folder / "health_test.yaml").is_file(), f"{folder}/health_test.yaml is missing"
    cases = cases_of(kind.kind)
    assert cases, f"{folder}/health_test.yaml has no tests"
    used = {c["inputPath"] for c in cases}
    on_disk = {f"testdata/{p.name}" for p in (folder / "testdata").glob("*.yaml")}
    assert used == on_disk, f"testdata files without a case: {sorted(on_disk - used)}; " \
                            f"cases without a file: {sorted(used - on_disk)}"


def _literal(model: type[Any], field: str) -> tuple[str, ...]:
    """The values of a Literal (or Optional Literal) field of a pydantic model."""
    annotation = model.model_fields[field].annotation
    options = typing.get_args(annotation) if typing.get_origin(annotation) is not typing.Literal else (annotation,)
    values: list[str] = []
    for option in options:
        if typing.get_origin(option) is typing.Literal:
            values.extend(typing.get_args(option))
    assert values, f"{model.__name__}.{field} is not a Literal"
    return tuple(values)


def required_states(kind: str) -> set[str]:
    """The states a kind's cases must cover, read from the status models where they are declared."""
    behind = "observedGeneration < generation"
    if kind == "Connection":
        return {"no status", behind, *(f"status={p}" for p in _literal(connection.ConnectionStatus, "status"))}
    if kind == "Network":
        return {"no status", behind, "being deleted",
                *(f"status={p}" for p in _literal(network.NetworkStatus, "status"))}
    if kind == "ProvisionedCluster":
        return {"no status", behind, "being deleted", "active, no health check yet",
                *(f"status={p}" for p in _literal(provisioned_cluster.ProvisionedClusterStatus, "status")),
                *(f"desiredState={d}" for d in _literal(provisioned_cluster.ProvisionedClusterSpec, "desiredState")),
                *(f"active, health={h}" for h in CLUSTER_HEALTH)}
    if kind == "Cluster":
        return {"mirror, no status", "registered, no health check yet", f"registered, {behind}",
                *(f"mirror, externalStatus={p}" for p in _literal(network.NetworkStatus, "status")),
                *(f"mirror, active, health={h}" for h in CLUSTER_HEALTH),
                *(f"registered, health={h}" for h in CLUSTER_HEALTH)}
    if kind == "Operation":
        return {"no status", *(f"status={p}" for p in _literal(operation.OperationStatus, "status"))}
    if kind == "Team":
        return {"no status", "status.id only"}
    raise AssertionError(f"no states listed for {kind}: add them here")


def states_of(kind: str, obj: dict[str, Any]) -> set[str]:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    out: set[str] = set()
    if meta.get("deletionTimestamp"):
        out.add("being deleted")
    if kind == "Cluster":
        side = "mirror" if spec.get("provisionedClusterRef") else "registered"
        health = status.get("lastHealthStatus")
        if side == "mirror":
            if "externalStatus" not in status:
                out.add("mirror, no status")
            else:
                out.add(f"mirror, externalStatus={status['externalStatus']}")
                if status["externalStatus"] == "active" and health:
                    out.add(f"mirror, active, health={health}")
        else:
            out.add(f"registered, health={health}" if health else "registered, no health check yet")
            healthy = next((c for c in status.get("conditions") or [] if c["type"] == "Healthy"), None)
            if healthy and healthy.get("observedGeneration", meta["generation"]) < meta["generation"]:
                out.add("registered, observedGeneration < generation")
        return out
    if "status" not in status:
        out.add("no status")
        if set(status) == {"id"}:
            out.add("status.id only")
    else:
        out.add(f"status={status['status']}")
    if "observedGeneration" in status and status["observedGeneration"] < meta["generation"]:
        out.add("observedGeneration < generation")
    if "desiredState" in spec:
        out.add(f"desiredState={spec['desiredState']}")
    if kind == "ProvisionedCluster" and status.get("status") == "active" and spec.get("desiredState") == "Provisioned":
        health = status.get("lastHealthStatus")
        out.add(f"active, health={health}" if health else "active, no health check yet")
    return out


@pytest.mark.parametrize("kind", kinds.ALL, ids=lambda k: k.kind)
def test_every_state_of_a_kind_has_a_case(kind: kinds.Kind) -> None:
    covered: set[str] = set()
    for case in cases_of(kind.kind):
        covered |= states_of(kind.kind, fixture(kind.kind, case))
    missing = required_states(kind.kind) - covered
    assert not missing, f"{kind.kind}: no health_test.yaml case for {sorted(missing)}"


# --- the health each state shows


@pytest.mark.parametrize(("kind", "case"), ALL_CASES)
def test_health(kind: str, case: dict[str, Any]) -> None:
    expected = case["healthStatus"]
    assert expected["status"] in HEALTH_CODES
    got = argocd_health(script_of(kind), fixture(kind, case))
    assert got == {"status": expected["status"], "message": expected.get("message", "")}


# --- fixtures are objects the apiserver would store and the operator would write


def _crd_schema(kind: kinds.Kind) -> dict[str, Any]:
    crd = load_yaml(CRDS / f"{kind.crd_name}.yaml")
    version = next(v for v in crd["spec"]["versions"] if v["name"] == kinds.VERSION)
    return dict(version["schema"]["openAPIV3Schema"])


@pytest.mark.parametrize(("kind", "case"), ALL_CASES)
def test_fixture_is_valid_against_the_crd_and_models(kind: str, case: dict[str, Any]) -> None:
    obj = fixture(kind, case)
    kind_ = kinds.BY_KIND[kind]
    assert (obj["apiVersion"], obj["kind"]) == (kinds.API_VERSION, kind)
    # types, enums, patterns, required fields (CEL rules are the models' validators, run below)
    jsonschema.Draft4Validator(_crd_schema(kind_)).validate(obj)
    # the models refuse unknown fields, which the apiserver would prune: a fixture cannot hold one
    kind_.spec.model_validate(obj["spec"])
    kind_.status.model_validate(obj.get("status") or {})


# Networks and ProvisionedClusters with a phase: their conditions come from one pure function of the decision
INFRA_CASES = [p for p in ALL_CASES if p.values[0] in ("Network", "ProvisionedCluster")
               and "status" in (fixture(*p.values).get("status") or {})]


@pytest.mark.parametrize(("kind", "case"), INFRA_CASES)
def test_infra_fixture_conditions_are_what_the_reconciler_writes(kind: str, case: dict[str, Any]) -> None:
    status = fixture(kind, case)["status"]
    found = {c["type"]: c for c in status["conditions"]}
    decision = infra_phases.Decision(status["status"], status.get("statusMessage") or "",
                                     stalled=found["Stalled"]["status"] == "True")
    provisioned = (found["Provisioned"]["status"], found["Provisioned"]["reason"])
    for type_, (value, reason, message) in infra_phases.conditions_for(decision, provisioned).items():
        written = (found[type_]["status"], found[type_]["reason"], found[type_]["message"])
        assert written == (value, reason, message), type_


# --- the argocd-cm snippet and the Helm values hold exactly the scripts


def _scripts() -> dict[str, str]:
    return {f"resource.customizations.health.{kinds.GROUP}_{k.kind}": script_of(k.kind) for k in kinds.ALL}


def _health_keys(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k.startswith("resource.customizations.health.")}


def test_argocd_cm_snippet_holds_exactly_the_lua_files() -> None:
    cm = load_yaml(ARGOCD / "argocd-cm.yaml")
    assert (cm["kind"], cm["metadata"]["name"]) == ("ConfigMap", "argocd-cm")
    assert _health_keys(cm["data"]) == _scripts(), "argocd/argocd-cm.yaml drifted from the health.lua files"


def test_argo_cd_helm_values_hold_exactly_the_lua_files() -> None:
    values = load_yaml(ARGOCD / "argo-cd-values.yaml")
    assert _health_keys(values["configs"]["cm"]) == _scripts(), \
        "argocd/argo-cd-values.yaml drifted from the health.lua files"


# --- the Applications name what the repository has


def _keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in tree.items():
        out.add(prefix + key)
        if isinstance(value, dict) and value:
            out |= _keys(value, f"{prefix}{key}.")
    return out


def test_chart_application_points_at_the_chart_with_known_values() -> None:
    app = load_yaml(ARGOCD / "applications" / "fleetyard.yaml")
    assert app["kind"] == "Application"
    source = app["spec"]["source"]
    assert (ROOT / source["path"] / "Chart.yaml").is_file(), f"{source['path']} is not a chart"
    assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]
    chart = ROOT / source["path"]
    known = _keys(load_yaml(chart / "values.yaml"))
    for values_file in source["helm"].get("valueFiles", []):
        assert (chart / values_file).is_file(), f"valueFiles: {values_file} is not in {source['path']}"
        unknown = _keys(load_yaml(chart / values_file)) - known
        assert not unknown, f"{values_file} sets values the chart does not have: {sorted(unknown)}"
    unknown = _keys(source["helm"]["valuesObject"]) - known
    assert not unknown, f"valuesObject sets values the chart does not have: {sorted(unknown)}"


def test_examples_applicationset_makes_one_application_per_organization() -> None:
    appset = load_yaml(ARGOCD / "applications" / "examples.yaml")
    assert appset["kind"] == "ApplicationSet"
    (generator,) = appset["spec"]["generators"]
    (pattern,) = [d["path"] for d in generator["git"]["directories"]]
    folders = sorted(p for p in ROOT.glob(pattern) if p.is_dir())
    assert folders, f"{pattern} matches no folder"
    spec = appset["spec"]["template"]["spec"]
    assert spec["source"]["path"] == "{{.path.path}}" and spec["destination"]["namespace"] == "{{.path.basename}}"
    assert spec["source"]["directory"]["recurse"] is True
    assert "SkipDryRunOnMissingResource=true" in spec["syncPolicy"]["syncOptions"]
    for folder in folders:
        docs = [(path, doc) for path in sorted(folder.rglob("*.yaml"))
                for doc in yaml.load_all(path.read_text(), Loader=_KubeLoader) if doc]  # noqa: S506
        assert {"Connection", "Network", "ProvisionedCluster"} <= {doc["kind"] for _, doc in docs}, folder
        for path, doc in docs:
            # the folder is the namespace: a manifest naming one would land elsewhere
            assert "namespace" not in doc["metadata"], f"{path.relative_to(ROOT)} names a namespace"
