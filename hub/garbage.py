"""`hub.gc`: delete stored blobs that no version references (uploads of publishes that never committed)."""
from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.access import blob_store, database
from hub.errors import HubError, user_errors
from hub.records import GcReport
from registry.blobstore import BlobStore
from registry.schema import VersionFile

DEFAULT_GRACE_HOURS = 24.0
GC_LOCK_ID = 7_100_422  # PostgreSQL advisory lock key: gc's collection and a publish's commit exclude each other


def collection_lock(session: Session) -> None:
    """Inside a write transaction, wait until no gc collects (gc holds this while it reads what versions reference
    and deletes the rest). SQLite's write transactions (BEGIN IMMEDIATE) exclude each other already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": GC_LOCK_ID})


def check_blobs_present(session: Session, store: BlobStore, files: Iterable[tuple[str, str]]) -> None:
    """Before a publish commits (files: (path, sha256) pairs), inside its write transaction: every blob is still
    stored. A gc that ran since the upload (with a grace period shorter than the upload took) may have removed
    one; the publish is then refused, names the file, and succeeds when run again."""
    collection_lock(session)
    for rel, sha in files:
        if not store.path(sha).is_file():
            raise HubError(f"{rel}: its blob sha256:{sha[:12]} was removed from the store (by `zoohub gc`?) "
                           "before this publish committed; nothing was published, publish again")


@user_errors
def gc(*, older_than_hours: float = DEFAULT_GRACE_HOURS, dry_run: bool = False) -> GcReport:
    """Remove the blobs no version references that were neither written nor wanted by a publish for
    `older_than_hours`, and temp files of writers that died; with dry_run, only report them.

    Versions are immutable and never deleted, so an unreferenced blob is the upload of a publish that did not
    commit (killed, or a client that never sent its manifest to `zoohub serve`). The grace period protects
    publishes in flight: their blobs are fresh, and a publish that finds a blob already stored marks it wanted
    (`BlobStore.mark_wanted`). A publish that commits after its blob was collected is refused with the blob
    named (`check_blobs_present`), and succeeds when run again.

    >>> report = hub.gc(older_than_hours=0, dry_run=True)
    >>> report.removed, report.kept_recent
    ((), 0)
    """
    if isinstance(older_than_hours, bool) or not isinstance(older_than_hours, (int, float)) or \
            not older_than_hours >= 0:
        raise HubError(f"gc: older_than_hours must be a number >= 0, got {older_than_hours!r}")
    store = blob_store()
    cutoff = time.time() - older_than_hours * 3600.0
    removed, kept = [], 0
    # one write transaction holding the collection lock from reading the references to the last deletion: a
    # publish commits either before (its blobs are referenced) or after (it finds a removed blob and is refused).
    # A dry run deletes nothing, so it reads (and works on a registry this process can only read).
    with database().read() if dry_run else database().write() as session:
        if not dry_run:
            collection_lock(session)
        referenced = set(session.scalars(select(VersionFile.blob_sha256).distinct()))
        for sha in store.stored():
            if sha in referenced:
                continue
            try:
                recent = store.last_wanted(sha) > cutoff
                size = store.path(sha).stat().st_size
            except FileNotFoundError:  # removed meanwhile by another collector
                continue
            if recent:
                kept += 1
                continue
            if not dry_run:
                size = store.remove(sha)
            removed.append((sha, size))
    stale = store.stale_temp_files()
    if not dry_run:
        for path in stale:
            path.unlink(missing_ok=True)
    return GcReport(tuple(removed), kept, len(stale), dry_run)
