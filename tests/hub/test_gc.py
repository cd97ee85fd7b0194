"""hub.gc / `zoohub gc`: blobs no version references go after a grace period; referenced, recent and re-wanted
blobs stay; the registry still loads and verifies afterwards."""
import os
import time

import pytest

import hub
import tests.hub.tiny_model  # noqa: F401  (registers the test architecture in this process)
from hub.cli import main
from hub.errors import HubError
from registry.blobstore import BlobStore
from registry.db import zoohub_home
from tests.hub.tiny_model import write_folder

DAY = 86400.0


def _orphan(store: BlobStore, tmp_path, content: bytes, age_seconds: float) -> str:
    source = tmp_path / f"orphan-{len(content)}-{age_seconds:g}"
    source.write_bytes(content)
    sha = store.put_file(source).sha256
    then = time.time() - age_seconds
    os.utime(store.path(sha), (then, then))
    return sha


def test_gc_removes_old_unreferenced_blobs_and_keeps_the_rest(tmp_path):
    published = hub.publish(write_folder(tmp_path / "m", seed=1), "test/gc", progress=False)
    store = BlobStore(zoohub_home() / "blobs")
    referenced = {f.sha256 for f in hub.info("test/gc").files}
    old = _orphan(store, tmp_path, b"an upload whose publish never committed", 2 * DAY)
    recent = _orphan(store, tmp_path, b"an upload of a publish still running", 60.0)
    # a referenced blob as old as the orphan stays: age alone never removes anything
    for sha in referenced:
        os.utime(store.path(sha), (time.time() - 3 * DAY,) * 2)

    preview = hub.gc(dry_run=True)
    assert [sha for sha, _ in preview.removed] == [old] and preview.kept_recent == 1
    assert preview.freed_bytes == len(b"an upload whose publish never committed")
    assert store.path(old).is_file()  # a dry run deletes nothing

    report = hub.gc()
    assert [sha for sha, _ in report.removed] == [old] and report.kept_recent == 1 and not report.dry_run
    assert not store.path(old).exists() and not (store.root / "checked" / old).exists()
    assert set(store.stored()) == referenced | {recent}
    assert hub.verify().ok
    assert hub.load("test/gc@1") is not None and published.version == 1

    assert [sha for sha, _ in hub.gc(older_than_hours=0).removed] == [recent]
    assert set(store.stored()) == referenced and hub.gc(older_than_hours=0).removed == ()


def test_a_stored_blob_a_publish_finds_again_is_kept_for_the_grace_period(tmp_path):
    store = BlobStore(zoohub_home() / "blobs")
    content = b"uploaded long ago, wanted again today"
    sha = _orphan(store, tmp_path, content, 5 * DAY)
    assert [s for s, _ in hub.gc(dry_run=True).removed] == [sha]
    again = tmp_path / "again"
    again.write_bytes(content)
    assert store.put_file(again).sha256 == sha  # deduplicated: the file is not rewritten, but marked wanted
    report = hub.gc()
    assert report.removed == () and report.kept_recent == 1 and store.path(sha).is_file()


def test_gc_also_removes_temp_files_of_dead_writers():
    store = BlobStore(zoohub_home() / "blobs")
    (store.root / "tmp").mkdir(parents=True)
    dead = store.root / "tmp" / "dead.partial"
    dead.write_bytes(b"half a blob")
    os.utime(dead, (time.time() - DAY,) * 2)
    assert hub.gc(dry_run=True).removed_temp_files == 1 and dead.exists()
    assert hub.gc().removed_temp_files == 1 and not dead.exists()


def test_gc_rejects_a_negative_grace_period():
    with pytest.raises(HubError, match="older_than_hours must be a number >= 0"):
        hub.gc(older_than_hours=-1)
    with pytest.raises(HubError, match="older_than_hours must be a number >= 0"):
        hub.gc(older_than_hours=float("nan"))


def test_zoohub_gc_command(tmp_path, capsys):
    store = BlobStore(zoohub_home() / "blobs")
    sha = _orphan(store, tmp_path, b"x" * 3000, 2 * DAY)
    assert main(["gc", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would remove sha256:{sha}" in out and "would remove 1 unreferenced blobs" in out
    assert store.path(sha).is_file()
    assert main(["gc"]) == 0
    assert "removed 1 unreferenced blobs" in capsys.readouterr().out and not store.path(sha).exists()
    assert main(["gc", "--older-than", "-2"]) == 1
    assert "older_than_hours must be a number >= 0" in capsys.readouterr().err
