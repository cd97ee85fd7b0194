"""hub.load/pull/list/info/publish/promote with ZOOHUB_REMOTE set, against a real server process."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import hub
import tests.hub.tiny_model  # noqa: F401  (registers the test architecture in this process)
from hub import remote as remote_client
from hub.cli import main
from hub.errors import BlobCollected, HubError, ModelNotFound, RegistryUnavailable
from registry.blobstore import BlobStore
from registry.db import zoohub_home
from tests.hub.tiny_model import write_folder
from tests.mounts import read_only, small_disk
from tests.permissions import as_bound_by_permissions
from tests.server.conftest import ROOT, zoohub


@pytest.fixture(autouse=True)
def _fresh_clients(monkeypatch):
    monkeypatch.setattr(remote_client, "_clients", {})


def test_publish_promote_list_info_and_load_through_the_server(remote, tmp_path):
    folder = write_folder(tmp_path / "m", seed=3)
    first = hub.publish(folder, "test/tiny", description="through the server")
    assert (first.ref, first.created, first.created_by) == ("test/tiny@1", True, "alice")
    assert hub.publish(folder, "test/tiny").created is False
    second = hub.publish(write_folder(tmp_path / "m2", seed=4), "test/tiny")
    assert second.version == 2
    change = hub.promote("test/tiny@1", "production", reason="first release")
    assert (change.to_version, change.actor, change.reason) == (1, "alice", "first release")
    assert [(c.alias, c.to_version, c.actor) for c in hub.history("test/tiny")] == [("production", 1, "alice")]
    with pytest.raises(ModelNotFound, match="unknown model 'test/nothing'"):
        hub.history("test/nothing")
    assert [(m.name, m.latest_version, m.aliases) for m in hub.list()] == [("test/tiny", 2, {"production": 1})]
    info = hub.info("test/tiny")
    assert info.version == 1 and info.description == "through the server"
    assert {f.path for f in info.files} == {"README.md", "config.json", "model.safetensors"}

    model = hub.load("test/tiny")
    x = np.arange(4, dtype=np.float32)
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((3, 4)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    np.testing.assert_allclose(model(x), x @ weight.T + bias, rtol=1e-6)
    store = BlobStore(zoohub_home() / "blobs")
    assert {f.sha256 for f in info.files} <= set(store.stored())
    assert not (zoohub_home() / "registry.db").exists()  # the client keeps blobs, not a registry of its own
    pulled = hub.pull("test/tiny@2")
    assert pulled.version == 2 and (pulled.folder / "model.safetensors").is_file()


def test_unknown_model_through_the_server_is_model_not_found(remote):
    with pytest.raises(ModelNotFound, match="unknown model 'test/nothing'"):
        hub.info("test/nothing")


def test_publish_without_a_token_is_refused_with_the_servers_message(remote, monkeypatch, tmp_path):
    monkeypatch.delenv("ZOOHUB_TOKEN")
    with pytest.raises(HubError, match="401.*token"):
        hub.publish(write_folder(tmp_path / "m"), "test/tiny")
    monkeypatch.setenv("ZOOHUB_TOKEN", "zh_wrong")
    with pytest.raises(HubError, match="401.*unknown or revoked"):
        hub.promote("test/tiny@1", "production")


def test_unreachable_server_still_loads_what_is_cached_with_one_warning(remote, monkeypatch, tmp_path, capsys):
    hub.publish(write_folder(tmp_path / "m", seed=5), "test/tiny")
    hub.promote("test/tiny@1", "production")
    expected = hub.load("test/tiny")(np.ones(4, dtype=np.float32))
    capsys.readouterr()
    remote.stop()
    monkeypatch.setenv("ZOOHUB_REMOTE_RETRIES", "1")
    monkeypatch.setattr(remote_client, "_clients", {})
    model = hub.load("test/tiny")
    np.testing.assert_array_equal(model(np.ones(4, dtype=np.float32)), expected)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("zoohub: warning:") and "unreachable" in err[0]
    assert "test/tiny@1" in err[0]
    with pytest.raises(remote_client.RemoteUnavailable, match="never fully downloaded"):
        hub.load("test/tiny@7")


@pytest.mark.parametrize("url", ["ftp://host", "not a url", "http://127.0.0.1:99999", "http://[::1", "http://:8765"])
def test_zoohub_remote_that_is_not_a_server_url_is_refused(monkeypatch, url):
    monkeypatch.setenv("ZOOHUB_REMOTE", url)
    with pytest.raises(HubError, match="is not a server URL: expected http://host:port"):
        hub.list()


@pytest.mark.parametrize("name, value", [("ZOOHUB_REMOTE_RETRIES", "x"), ("ZOOHUB_REMOTE_RETRIES", "-1"),
                                         ("ZOOHUB_REMOTE_RETRIES", "1.5"), ("ZOOHUB_REMOTE_BACKOFF", "fast"),
                                         ("ZOOHUB_REMOTE_BACKOFF", "nan")])
def test_retry_settings_that_are_not_numbers_are_refused(monkeypatch, name, value):
    monkeypatch.setenv("ZOOHUB_REMOTE", "http://127.0.0.1:1")
    monkeypatch.setenv(name, value)
    with pytest.raises(HubError, match=f"{name}='{value}': expected"):
        hub.list()


def test_a_download_onto_a_full_disk_is_one_line_and_keeps_its_partial_file_for_the_next_pull_to_resume(
        remote, tmp_path, capsys, caplog):
    # the partial file was deleted, so the pull after freeing some space downloaded everything again
    hub.publish(write_folder(tmp_path / "big", seed=6, n_in=256, n_out=256), "test/big")  # 256 KiB of weights
    weights = next(f for f in hub.info("test/big@1").files if f.path == "model.safetensors")
    with small_disk(zoohub_home() / "downloads", 512 * 1024) as downloads:
        ballast = downloads / "ballast"
        ballast.write_bytes(bytes(400 * 1024))  # 112 KiB stay free: the weights do not fit
        partial = downloads / f"{weights.sha256}.partial"
        with pytest.raises(RegistryUnavailable, match=rf"^cannot write {partial}: no space left on the device \(free "
                                                      rf"some space and run the command again\); the \d+ bytes "
                                                      rf"downloaded so far stay in it for the next pull to resume "
                                                      rf"from \(delete it to free them\)$"):
            hub.pull("test/big@1", progress=False)
        assert 0 < partial.stat().st_size < weights.size
        assert main(["pull", "test/big@1"]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"zoohub: error: cannot write {partial}: no space left") and err.count("\n") == 1
        kept = partial.stat().st_size
        assert kept < weights.size
        ballast.unlink()  # some space freed
        caplog.set_level(logging.INFO, logger="zoohub.remote")
        assert hub.pull("test/big@1", progress=False).version == 1
        assert f"resuming blob sha256:{weights.sha256[:12]} at byte {kept} of {weights.size}" in caplog.messages
        assert list(downloads.iterdir()) == []
    assert weights.sha256 in BlobStore(zoohub_home() / "blobs").stored()


@pytest.mark.parametrize("closed", ["downloads", "blobs"])
def test_a_download_into_a_folder_this_user_cannot_search_is_one_line_not_a_traceback(remote, tmp_path, closed):
    # a closed downloads folder: the error handler's own look for a partial file to keep raised PermissionError;
    # a closed blob store: the look for an intact copy did
    hub.publish(write_folder(tmp_path / "m", seed=3), "test/tiny")
    first = hub.info("test/tiny@1").files[0]  # a pull fetches the files in this order
    downloads = zoohub_home() / "downloads"
    blobs = BlobStore(zoohub_home() / "blobs")
    blamed = {"downloads": downloads / f"{first.sha256}.partial", "blobs": blobs.path(first.sha256)}[closed]
    (zoohub_home() / closed).mkdir()
    (zoohub_home() / closed).chmod(0o000)  # as another user's 0700 folder is to this one
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOOHUB_HOME": str(zoohub_home()), "ZOOHUB_REMOTE": remote.url}
    try:
        proc = subprocess.run(as_bound_by_permissions([sys.executable, "-m", "hub.cli", "pull", "test/tiny@1"]),
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    finally:
        (zoohub_home() / closed).chmod(0o755)
    assert (proc.returncode, proc.stderr) == (1, f"zoohub: error: cannot write {blamed}: permission denied\n")
    assert not list(downloads.glob("*.partial")) and not list(blobs.root.rglob("*.partial"))


def test_a_publish_whose_uploads_gc_removed_before_the_manifest_arrived_is_blob_collected(remote, tmp_path,
                                                                                            monkeypatch):
    # the server answered 400 "was never uploaded: PUT ... first" and the client raised InvalidModel, though it had
    folder = write_folder(tmp_path / "m", seed=7)
    upload = remote_client.RemoteClient.upload

    def upload_then_gc(self, path, sha256):  # the real upload, then a gc with no grace period on the server
        upload(self, path, sha256)
        zoohub("gc", "--older-than", "0", home=remote.home)
    monkeypatch.setattr(remote_client.RemoteClient, "upload", upload_then_gc)
    with pytest.raises(BlobCollected, match=r"answered 409: README\.md: its blob sha256:\w{12} was removed from the "
                                            r"store by `zoohub gc` after it was uploaded, before this publish "
                                            r"committed; nothing was published, publish again$"):
        hub.publish(folder, "test/tiny", progress=False)
    monkeypatch.setattr(remote_client.RemoteClient, "upload", upload)
    assert hub.publish(folder, "test/tiny", progress=False).ref == "test/tiny@1"  # it uploads again
    # gc forgets a removal after a day: the notes of them do not pile up
    notes = remote.home / "blobs" / "collected"
    assert len(list(notes.iterdir())) == 3
    for note in notes.iterdir():
        os.utime(note, (time.time() - 86400 - 60,) * 2)
    zoohub("gc", "--older-than", "0", home=remote.home)
    assert list(notes.iterdir()) == []


def test_promote_through_the_server_to_the_current_version_writes_nothing(remote, tmp_path):
    hub.publish(write_folder(tmp_path / "m", seed=3), "test/tiny")
    assert hub.promote("test/tiny@1", "production", reason="first release").moved
    again = hub.promote("test/tiny@1", "production", reason="again")
    assert not again.moved and (again.from_version, again.to_version, again.reason) == (1, 1, "first release")
    assert [c.reason for c in hub.history("test/tiny")] == ["first release"]
    with pytest.raises(HubError, match="invalid reason: it has the control character U\\+0007"):
        hub.promote("test/tiny@1", "staging", reason="bell\x07")


def test_a_publish_to_a_server_whose_store_is_read_only_fails_at_once_with_the_servers_reason(remote, tmp_path,
                                                                                              capsys):
    # the server's 503 says retrying will not help: one try, its message, not "unreachable after 6 attempts"
    folder = write_folder(tmp_path / "m", seed=5)
    (remote.home / "blobs" / "tmp").mkdir(parents=True, exist_ok=True)
    with read_only(remote.home / "blobs"):
        sent = len(remote_client.client().latencies)
        with pytest.raises(remote_client.RemoteUnavailable,
                           match=r"answered 503: cannot write .*: the file system is read-only$"):
            hub.publish(folder, "test/ro-remote", progress=False)
        assert len(remote_client.client().latencies) - sent < 6  # a retried upload alone would be 6 requests
        assert main(["publish", str(folder), "test/ro-remote"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "unreachable" not in err and "read-only" in err
