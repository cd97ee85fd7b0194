"""A blob store (or versions folder) this user may not enter or read, as another user's 0700 one: every command that
looks into it says so in one line naming the path, exit status 1, never a PermissionError traceback."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hub
from hub.records import VersionInfo
from registry.blobstore import BlobStore
from registry.db import zoohub_home
from tests.hub.tiny_model import write_folder
from tests.permissions import as_bound_by_permissions

ROOT = Path(__file__).resolve().parents[2]


def _run_closed(closed: Path, cmd: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOOHUB_HOME": str(zoohub_home())}
    closed.chmod(0o000)
    try:
        return subprocess.run(as_bound_by_permissions(cmd), capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=120)
    finally:
        closed.chmod(0o755)


@pytest.fixture
def pulled(tmp_path) -> VersionInfo:
    hub.publish(write_folder(tmp_path / "m", seed=3), "test/tiny", progress=False)
    return hub.pull("test/tiny@1", progress=False)


@pytest.mark.parametrize("closed, args", [
    ("blobs", ["pull", "test/tiny@1"]),
    ("blobs", ["pull", "test/tiny@1", "--repair"]),
    ("blobs", ["verify"]),
    ("blobs", ["verify", "test/tiny"]),
    ("blobs", ["gc", "--dry-run"]),
    ("blobs", ["gc", "--older-than", "0"]),
    ("blobs/sha256", ["pull", "test/tiny@1"]),
    ("blobs/tmp", ["verify"]),
    ("versions", ["pull", "test/tiny@1"]),
])
def test_a_store_folder_this_user_cannot_enter_is_one_line_naming_the_path(pulled, closed, args):
    # check() and the gc's listing caught only FileNotFoundError: a PermissionError was a traceback
    blobs = BlobStore(zoohub_home() / "blobs")
    if args[0] == "gc":
        blamed = {str(blobs.root / "sha256")}
    elif closed == "blobs/tmp":
        blamed = {str(blobs.root / "tmp")}
    elif closed == "versions":
        blamed = {str(pulled.folder)}
    else:  # the first blob looked at
        blamed = {str(blobs.path(f.sha256)) for f in pulled.files}
    proc = _run_closed(zoohub_home() / closed, [sys.executable, "-m", "hub.cli", *args])
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("zoohub: error: cannot read ") and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.removeprefix("zoohub: error: cannot read ").removesuffix(": permission denied\n") in blamed


def test_hub_load_from_a_blob_store_this_user_cannot_enter_raises_registry_unavailable(pulled):
    load = "import hub, tests.hub.tiny_model; hub.load('test/tiny@1')"
    proc = _run_closed(zoohub_home() / "blobs", [sys.executable, "-c", load])
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 1 and "PermissionError" not in proc.stderr
    assert last.startswith("hub.errors.RegistryUnavailable: cannot read ") and last.endswith(": permission denied")
