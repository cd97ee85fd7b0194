"""A publisher SIGKILLed in the middle of a publish leaves no visible half version and no corrupt blob, on SQLite
and on PostgreSQL; the next publish of the same folder gets version 1."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hub
from registry.blobstore import BlobStore
from registry.db import zoohub_home
from tests.hub.tiny_model import write_folder

ROOT = Path(__file__).resolve().parents[2]


def _publish_until_paused(folder: Path, stage: str, pause_file: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOOHUB_TEST_PAUSE": stage, "ZOOHUB_TEST_PAUSE_FILE": str(pause_file)}
    proc = subprocess.Popen([sys.executable, "-c", "import sys, hub; hub.publish(sys.argv[1], 'test/crash')",
                             str(folder)], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not pause_file.exists():
        if proc.poll() is not None:
            pytest.fail(f"the publisher exited before pausing at {stage}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the publisher never reached {stage}")
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize("stage", ["blob-write", "before-commit"])
def test_sigkill_mid_publish_leaves_no_half_version_and_no_corrupt_blob(registry_url, tmp_path, stage):
    folder = write_folder(tmp_path / "model", seed=5, n_in=512, n_out=1024)  # 2 MiB of weights: several chunks
    proc = _publish_until_paused(folder, stage, tmp_path / "paused")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with pytest.raises(hub.errors.ModelNotFound, match="unknown model 'test/crash'"):
        hub.info("test/crash")
    assert "test/crash" not in [m.name for m in hub.list() if m.in_registry]
    store = BlobStore(zoohub_home() / "blobs")
    for sha in store.stored():  # whatever reached the store is whole
        assert store.check(sha, trust_record=False) is None
    if stage == "blob-write":
        assert len(store.stale_temp_files(older_than=-1)) == 1  # the half-written file stays out of sha256/

    info = hub.publish(folder, "test/crash", progress=False)
    assert (info.version, info.created) == (1, True)
    assert hub.verify().ok
