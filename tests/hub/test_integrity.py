"""Loads check the blobs they serve: a same-size flipped byte is caught by load and by verify, with a message
naming the model, the file and the repair; repairs work; loads are memory-mapped and open no socket."""
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import hub
from hub.cli import main
from registry import blobstore
from registry.db import zoohub_home
from tests.hub.tiny_model import CATALOG_NAME, write_folder

ROOT = Path(__file__).resolve().parents[2]


def _blob_of(info, path: str) -> Path:
    sha = next(f.sha256 for f in info.files if f.path == path)
    return zoohub_home() / "blobs" / "sha256" / sha[:2] / sha


def _flip_byte(path: Path, offset: int = -1) -> None:
    """Flip one bit in place (same size), then restore the mtime, as silent corruption would look."""
    st = path.stat()
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(offset, os.SEEK_END if offset < 0 else os.SEEK_SET)
        where = f.tell()
        byte = f.read(1)
        f.seek(where)
        f.write(bytes([byte[0] ^ 0x10]))
    os.chmod(path, 0o444)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


def test_load_returns_the_model_in_eval_mode_memory_mapped_from_the_blob_store(tmp_path):
    info = hub.publish(write_folder(tmp_path / "m"), "test/user", progress=False)
    model = hub.load("test/user")
    assert model.training is False
    weights_map = model.weights._map
    assert isinstance(weights_map, np.memmap)
    assert Path(weights_map.filename).resolve() == _blob_of(info, "model.safetensors").resolve()
    assert (model.folder / "model.safetensors").is_symlink()


def test_flipped_byte_is_caught_by_load_and_verify_and_repaired_by_publishing_again(tmp_path, capsys):
    folder = write_folder(tmp_path / "m")
    info = hub.publish(folder, "test/user", progress=False)
    hub.load("test/user")
    _flip_byte(_blob_of(info, "model.safetensors"))

    with pytest.raises(hub.errors.IntegrityError) as caught:
        hub.load("test/user")
    message = str(caught.value)
    assert "test/user@1" in message and "file model.safetensors" in message
    assert "repair: publish the original folder again (`zoohub publish FOLDER test/user`)" in message

    report = hub.verify()
    assert not report.ok and len(report.problems) == 1
    assert "test/user@1: file model.safetensors" in report.problems[0] and "repair" in report.problems[0]
    assert main(["verify"]) == 1
    assert "zoohub: damaged: test/user@1: file model.safetensors" in capsys.readouterr().err

    again = hub.publish(folder, "test/user", progress=False)
    assert (again.version, again.created) == (1, False)
    assert hub.verify().ok
    assert hub.load("test/user")(np.ones((1, 4), np.float32)).shape == (1, 3)


def test_flipped_byte_in_a_catalog_model_is_repaired_by_pull_repair(capsys):
    info = hub.pull(CATALOG_NAME)
    _flip_byte(_blob_of(info, "model.safetensors"), offset=100)
    with pytest.raises(hub.errors.IntegrityError, match=r"`zoohub pull test/tiny --repair` re-imports it"):
        hub.load(CATALOG_NAME)
    assert main(["pull", CATALOG_NAME, "--repair"]) == 0
    assert "test/tiny@1 ready" in capsys.readouterr().out
    assert hub.verify().ok
    hub.load(CATALOG_NAME)


def test_fast_load_path_still_catches_an_in_place_write(tmp_path, monkeypatch):
    monkeypatch.setattr(blobstore, "RACY_SECONDS", 0.0)  # trust records at once; real use waits out the tick
    info = hub.publish(write_folder(tmp_path / "m"), "test/user", progress=False)
    hub.load("test/user")  # records the stat of every verified blob

    def must_not_hash(*args, **kwargs):
        raise AssertionError("a trusted blob was re-hashed")
    with monkeypatch.context() as m:
        m.setattr(blobstore, "hash_file", must_not_hash)
        hub.load("test/user")  # repeated loads are cheap: stat only
    time.sleep(0.05)
    _flip_byte(_blob_of(info, "model.safetensors"))
    with pytest.raises(hub.errors.IntegrityError, match="file model.safetensors"):
        hub.load("test/user")


def test_first_load_of_a_catalog_model_imports_publishes_and_later_loads_reuse_it():
    assert [m.in_registry for m in hub.list(task="test")] == [False]
    first = hub.load(CATALOG_NAME)
    info = hub.info(CATALOG_NAME)
    assert info.version == 1 and info.source == "catalog:test/tiny" and info.card.startswith("# test/tiny")
    second = hub.load(CATALOG_NAME)
    assert hub.info(CATALOG_NAME).versions == (1,)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(first(x), second(x))


NO_NETWORK = textwrap.dedent("""
    import socket, sys

    class NoNetwork(socket.socket):
        def __init__(self, *args, **kwargs):
            raise AssertionError("a socket was opened during hub.load")

    socket.socket = NoNetwork
    socket.create_connection = NoNetwork
    import tests.hub.tiny_model
    import hub
    model = hub.load(sys.argv[1])
    print("loaded", type(model).__name__, model.training)
""")


@pytest.mark.parametrize("registered_first", [True, False])
def test_load_opens_no_socket(registered_first, tmp_path):
    if registered_first:
        hub.publish(write_folder(tmp_path / "m"), "test/user", progress=False)
    name = "test/user" if registered_first else CATALOG_NAME
    env = {k: v for k, v in os.environ.items() if k != "ZOOHUB_DB_URL"}
    result = subprocess.run([sys.executable, "-c", NO_NETWORK, name], capture_output=True, text=True, cwd=ROOT,
                            env={**env, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded TinyLinear False"
