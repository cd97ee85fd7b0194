"""A full disk or a read-only file system under the hub: one line naming the file and the reason, nothing
half-written."""
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import hub
from hub.cli import main
from hub.errors import RegistryUnavailable
from registry.blobstore import BlobStore
from registry.db import zoohub_home
from tests.hub.tiny_model import CATALOG_NAME, write_folder
from tests.mounts import small_disk

ROOT = Path(__file__).resolve().parents[2]


def _registry_models() -> list[str]:
    return [m.name for m in hub.list() if m.in_registry]


def test_publish_onto_a_full_blob_store_is_one_line_and_records_nothing(tmp_path):
    folder = write_folder(tmp_path / "big", n_in=256, n_out=256)  # 256 KiB of weights
    hub.list()  # the registry database exists, outside the small disk
    with small_disk(zoohub_home() / "blobs", 64 * 1024) as blobs:
        with pytest.raises(RegistryUnavailable, match=rf"^cannot write {blobs}/tmp/\w+\.partial: no space left on "
                                                      rf"the device"):
            hub.publish(folder, "test/big", progress=False)
        result = subprocess.run([sys.executable, "-m", "hub.cli", "publish", str(folder), "test/big"],
                                capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"zoohub: error: cannot write {blobs}/tmp/")
        assert "no space left" in result.stderr
        assert list((blobs / "tmp").iterdir()) == []
    assert _registry_models() == []
    assert hub.publish(folder, "test/big", progress=False).ref == "test/big@1"  # with room, the same publish works


def test_a_catalog_import_into_a_full_temp_folder_is_one_line_and_leaves_no_temp_folder(tmp_path, monkeypatch,
                                                                                          capsys):
    with small_disk(tmp_path / "tmp", 4096) as small:
        monkeypatch.setattr(tempfile, "tempdir", str(small))
        with pytest.raises(RegistryUnavailable, match=rf"^cannot write {small}/zoohub-import-\w+.*: no space left"):
            hub.pull(CATALOG_NAME, progress=False)
        assert main(["pull", CATALOG_NAME]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"zoohub: error: cannot write {small}/zoohub-import-") and err.count("\n") == 1
        assert list(small.iterdir()) == []
    assert _registry_models() == [] and BlobStore(zoohub_home() / "blobs").stored() == []


def test_publishing_a_module_with_a_full_temp_folder_is_one_line_and_leaves_nothing(monkeypatch, capsys):
    # the module is written as a folder in the temp directory first; a full one was a raw OSError traceback
    import core.nn as nn
    module = nn.Linear(256, 256)  # 256 KiB of weights
    config = {"architecture": "test-tiny-linear", "in": 256, "out": 256}
    hub.list()  # the registry database exists, outside the small disk
    with small_disk(Path(tempfile.mkdtemp()) / "tmp", 64 * 1024) as small:
        monkeypatch.setattr(tempfile, "tempdir", str(small))
        with pytest.raises(RegistryUnavailable, match=rf"^cannot write {small}/zoohub-publish-\w+\S*: no space left"):
            hub.publish(module, "test/module", config=config, progress=False)
        assert list(small.iterdir()) == []
    assert _registry_models() == []
    assert hub.publish(module, "test/module", config=config, progress=False).ref == "test/module@1"
