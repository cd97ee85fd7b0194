"""hub.gc / `zoohub gc`: blobs no version references go after a grace period; referenced, recent and re-wanted
blobs stay; the registry still loads and verifies afterwards."""
import os
import sqlite3
import time

import psycopg
import pytest

import hub
import tests.hub.tiny_model  # noqa: F401  (registers the test architecture in this process)
from hub.cli import main
from hub.errors import HubError
from hub.garbage import GC_LOCK_ID, check_blobs_present
from registry import db
from registry.blobstore import BlobStore
from registry.db import zoohub_home
from registry.versions import FileEntry, publish_version
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


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "10"])
def test_gc_rejects_a_batch_size_that_is_not_a_whole_number_of_at_least_one(batch_size):
    with pytest.raises(HubError, match=rf"^gc: batch_size must be a whole number >= 1, got {batch_size!r}$"):
        hub.gc(batch_size=batch_size)


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


def test_gc_in_small_batches_removes_every_old_unreferenced_blob_and_keeps_the_referenced(tmp_path):
    hub.publish(write_folder(tmp_path / "m", seed=2), "test/gc", progress=False)
    store = BlobStore(zoohub_home() / "blobs")
    referenced = set(store.stored())
    for sha in referenced:
        os.utime(store.path(sha), (time.time() - 3 * DAY,) * 2)
    orphans = {_orphan(store, tmp_path, f"upload {i} of a publish that never committed".encode(), 2 * DAY)
               for i in range(25)}
    removed_so_far = []
    report = hub.gc(batch_size=4, on_batch=removed_so_far.append)
    assert {sha for sha, _ in report.removed} == orphans and len(report.removed) == 25
    assert removed_so_far == [4, 8, 12, 16, 20, 24, 25]  # one commit per batch
    assert set(store.stored()) == referenced and hub.verify().ok


def _writer_can_commit(registry_url: str) -> bool:
    """Whether another connection can take the write lock a publish takes at once, without waiting for it."""
    if registry_url.startswith("sqlite"):
        conn = sqlite3.connect(registry_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # "database is locked" at once while another writer holds it
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()
    with psycopg.connect(registry_url.replace("postgresql+psycopg", "postgresql")) as conn:
        return conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (GC_LOCK_ID,)).fetchone()[0]


def test_a_publish_commits_between_gc_batches_and_the_blob_it_references_is_kept(registry_url, tmp_path):
    store = BlobStore(zoohub_home() / "blobs")
    orphans = sorted(_orphan(store, tmp_path, f"orphan {i}".encode(), 2 * DAY) for i in range(6))
    late = orphans[-1]  # in gc's last batch: listed as garbage before the publish below references it
    between_batches = []

    def publish_during_gc(removed: int) -> None:
        if between_batches:
            return
        between_batches.append((removed, store.path(late).is_file(), _writer_can_commit(registry_url)))
        other = db.Database(registry_url)  # another process's publish: its own connection, as `zoohub serve`'s
        try:
            with other.write() as session:
                files = [FileEntry("weights.bin", late, store.path(late).stat().st_size)]
                check_blobs_present(session, store, [("weights.bin", late)])
                publish_version(session, "test/late", files, config_json="{}")
        finally:
            other.dispose()

    report = hub.gc(batch_size=2, on_batch=publish_during_gc)
    assert between_batches == [(2, True, True)]
    assert {sha for sha, _ in report.removed} == set(orphans[:-1])
    assert store.stored() == [late] and hub.verify().ok
