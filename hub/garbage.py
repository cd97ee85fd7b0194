"""`hub.gc`: delete stored blobs that no version references (uploads of publishes that never committed)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.access import blob_store, database
from hub.errors import BlobCollected, HubError, user_errors
from hub.records import GcReport
from registry.blobstore import BlobStore
from registry.db import Database
from registry.errors import reading, writing
from registry.schema import VersionFile

DEFAULT_GRACE_HOURS = 24.0
GC_BATCH = 500  # blobs removed per write transaction: what a publish waiting on a gc waits for at most
# a manifest arriving this long after gc removed one of its blobs is still told BlobCollected (409), not 400
REMEMBER_REMOVALS_HOURS = 24.0
GC_LOCK_ID = 7_100_422  # PostgreSQL advisory lock key: gc's collection and a publish's commit exclude each other


def collection_lock(session: Session) -> None:
    """Inside a write transaction, wait until no gc collects (gc holds this while it reads what versions reference
    and deletes the rest). SQLite's write transactions (BEGIN IMMEDIATE) exclude each other already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GC_LOCK_ID})


def check_blobs_present(session: Session, store: BlobStore, files: Iterable[tuple[str, str]]) -> None:
    """Before a publish commits (files: (path, sha256) pairs), inside its write transaction: every blob is still
    stored. A gc that ran since the upload (with a grace period shorter than the upload took) may have removed
    one; the publish is then refused with BlobCollected, which names the file, and succeeds when run again."""
    collection_lock(session)
    for rel, sha in files:
        with reading(store.root):  # a blobs folder this process may not enter is NotReadable, not a PermissionError
            present = store.path(sha).is_file()
        if not present:
            raise BlobCollected(f"{rel}: its blob sha256:{sha[:12]} was removed from the store (by `zoohub gc`?) "
                                "before this publish committed; nothing was published, publish again")


@user_errors
def gc(*, older_than_hours: float = DEFAULT_GRACE_HOURS, dry_run: bool = False, batch_size: int = GC_BATCH,
       on_batch: Callable[[int], None] | None = None) -> GcReport:
    """Remove the blobs no version references that were neither written nor wanted by a publish for
    `older_than_hours`, and temp files of writers that died; with dry_run, only report them.

    Versions are immutable and never deleted, so an unreferenced blob is the upload of a publish that did not
    commit (killed, or a client that never sent its manifest to `zoohub serve`). The grace period protects
    publishes in flight: their blobs are fresh, and a publish that finds a blob already stored marks it wanted
    (`BlobStore.mark_wanted`). A publish that commits after its blob was collected is refused with the blob
    named (`check_blobs_present`; a server's publish whose manifest arrives after the removal too, since removals
    are remembered for REMEMBER_REMOVALS_HOURS, `BlobStore.was_collected`), and succeeds when run again.

    Blobs are removed `batch_size` at a time, each batch in a write transaction of its own, so a publish waits for
    one batch at most; `on_batch` is called with the number of blobs removed so far after each one commits.

    >>> report = hub.gc(older_than_hours=0, dry_run=True)
    >>> report.removed, report.kept_recent
    ((), 0)
    """
    if isinstance(older_than_hours, bool) or not isinstance(older_than_hours, (int, float)) or \
            not older_than_hours >= 0:
        raise HubError(f"gc: older_than_hours must be a number >= 0, got {older_than_hours!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise HubError(f"gc: batch_size must be a whole number >= 1, got {batch_size!r}")
    store = blob_store()
    db = database()
    if not dry_run:  # a dry run deletes nothing, so it reads (and works on a registry this process can only read)
        db.require_writable()
    cutoff = time.time() - older_than_hours * 3600.0
    with db.read() as session:
        referenced = set(session.scalars(select(VersionFile.blob_sha256).distinct()))
    with reading(store.root):
        candidates = [sha for sha in store.stored() if sha not in referenced]
    removed: list[tuple[str, int]] = []
    if dry_run:
        kept = _collect(store, candidates, cutoff, removed, delete=False)
    else:
        kept = _collect_in_batches(db, store, candidates, cutoff, removed, batch_size, on_batch)
    with reading(store.root):
        stale = store.stale_temp_files()
    if not dry_run:
        with writing(store.root):
            for path in stale:
                path.unlink(missing_ok=True)
            store.forget_collected(before=time.time() - REMEMBER_REMOVALS_HOURS * 3600.0)
    return GcReport(tuple(removed), kept, len(stale), dry_run)


def _collect_in_batches(db: Database, store: BlobStore, candidates: list[str], cutoff: float,
                        removed: list[tuple[str, int]], batch_size: int,
                        on_batch: Callable[[int], None] | None) -> int:
    """_collect over the candidates batch_size at a time, each batch in a write transaction of its own."""
    kept = 0
    for first in range(0, len(candidates), batch_size):
        batch = candidates[first:first + batch_size]
        # The write transaction holds the collection lock from re-reading the batch's references to its last
        # deletion: a publish commits either before (its blobs are referenced now, and kept) or after (it finds a
        # removed blob and is refused). A version made since the candidates were listed keeps its blobs.
        with db.write() as session:
            collection_lock(session)
            now_referenced = set(session.scalars(select(VersionFile.blob_sha256)
                                                 .where(VersionFile.blob_sha256.in_(batch)).distinct()))
            kept += _collect(store, [sha for sha in batch if sha not in now_referenced], cutoff, removed,
                             delete=True)
        if on_batch:
            on_batch(len(removed))
    return kept


def _collect(store: BlobStore, unreferenced: list[str], cutoff: float, removed: list[tuple[str, int]], *,
             delete: bool) -> int:
    """Remove (with delete) the blobs not written or wanted since cutoff, appending (sha256, size) to removed;
    returns how many were kept as too recent."""
    kept = 0
    for sha in unreferenced:
        try:
            with reading(store.root):
                recent = store.last_wanted(sha) > cutoff
                size = store.path(sha).stat().st_size
        except FileNotFoundError:  # removed meanwhile by another collector
            continue
        if recent:
            kept += 1
            continue
        if delete:
            with writing(store.root):
                size = store.remove(sha)
        removed.append((sha, size))
    return kept
