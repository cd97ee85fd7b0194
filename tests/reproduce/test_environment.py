"""The environment stored with every eval_run: Python, numpy, core's build, CPU, git commit."""
from __future__ import annotations

import importlib
import platform
import subprocess

import numpy as np

from hub.reproduce import REPO_ROOT, environment, git_commit


def test_environment_names_python_numpy_cpu_and_commit():
    env = environment()
    assert env["python"] == f"{platform.python_implementation()} {platform.python_version()}"
    assert env["numpy"] == np.__version__
    assert env["cpu"] and env["cpu_count"] >= 1
    assert isinstance(env["core"], dict)
    head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert env["git_commit"].split("-")[0] == head


def test_core_build_records_the_isa_override(monkeypatch):
    monkeypatch.setenv("ZOOHUB_CPU_ISA", "scalar")
    assert environment()["core"]["isa_override"] == "scalar"


def test_git_commit_outside_a_checkout_is_empty(monkeypatch, tmp_path):
    # hub.reproduce is the function once hub is imported; patch the module it lives in
    monkeypatch.setattr(importlib.import_module("hub.reproduce"), "REPO_ROOT", tmp_path)
    assert git_commit() == ""
