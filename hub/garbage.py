"""`hub.gc`: delete stored blobs that no version references (uploads of publishes that never committed)."""
from __future__ import annotations

import time

from sqlalchemy import select

from hub.access import blob_store, database
from hub.errors import HubError, user_errors
from hub.records import GcReport
from registry.schema import VersionFile

DEFAULT_GRACE_HOURS = 24.0


@user_errors
def gc(*, older_than_hours: float = DEFAULT_GRACE_HOURS, dry_run: bool = False) -> GcReport:
    """Remove the blobs no version references that were neither written nor wanted by a publish for
    `older_than_hours`, and temp files of writers that died; with dry_run, only report them.

    Versions are immutable and never deleted, so an unreferenced blob is the upload of a publish that did not
    commit (killed, or a client that never sent its manifest to `zoohub serve`). The grace period protects
    publishes in flight: their blobs are fresh, and a publish that finds a blob already stored marks it wanted
    (`BlobStore.mark_wanted`). A publish that commits after its blob was collected is refused with the blob
    named as never uploaded, and succeeds when run again.

    >>> report = hub.gc(older_than_hours=0, dry_run=True)
    >>> report.removed, report.kept_recent
    ((), 0)
    """
    if isinstance(older_than_hours, bool) or not isinstance(older_than_hours, (int, float)) or \
            not older_than_hours >= 0:
        raise HubError(f"gc: older_than_hours must be a number >= 0, got {older_than_hours!r}")
    store = blob_store()
    with database().read() as session:
        referenced = set(session.scalars(select(VersionFile.blob_sha256).distinct()))
    cutoff = time.time() - older_than_hours * 3600.0
    removed, kept = [], 0
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
