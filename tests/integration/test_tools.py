"""hack/tools.sh provides the pinned tools, and the Pulumi CLI matches the python `pulumi` pin."""

from __future__ import annotations

import importlib.metadata
import subprocess

import pytest

from fleetyard.devenv import tools


def _run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout


def test_pulumi_cli_version_equals_the_python_sdk_pin() -> None:
    cli = _run(str(tools.tool_path("pulumi")), "version").strip()
    assert cli == "v" + importlib.metadata.version("pulumi")


@pytest.mark.parametrize("tool,argv,expected", [
    ("kube-apiserver", ["--version"], "Kubernetes v1."),
    ("kube-controller-manager", ["--version"], "Kubernetes v1."),
    ("kubectl", ["version", "--client"], "Client Version: v1."),
    ("etcd", ["--version"], "etcd Version: 3."),
    ("helm", ["version", "--short"], "v3."),
])
def test_tool_reports_a_stamped_version(tool: str, argv: list[str], expected: str) -> None:
    assert expected in _run(str(tools.tool_path(tool)), *argv)


def test_unknown_tool_fails_naming_it() -> None:
    with pytest.raises(RuntimeError, match="nosuchtool"):
        tools.tool_path("nosuchtool")
