"""Content-addressed blob store: every file of every version, stored once under its sha256.

Layout under the root (`$ZOOHUB_HOME/blobs`):
    sha256/ab/abcdef…   the blob, read-only (0444)
    tmp/                writes in progress (unique names); a dead writer leaves only a file here
    checked/abcdef…     the stat of the blob when it last hashed correctly (see `check`)
    wanted/abcdef…      touched when a publish found the blob already stored (see `mark_wanted`)
    collected/abcdef…   touched when gc removed the blob (see `was_collected`)

Writes go to a unique temp file in tmp/, hashed while written, fsynced, checked against the expected hash,
then renamed over the final name, so a reader sees a whole blob or none, and correctness needs no lock. One
`BlobReceiver` does this for every writer: a file copied in (`put_file`) and a server's upload fed by chunks.

Loads must catch a blob changed after it was stored without re-hashing gigabytes on every load. `check`
trusts a blob only if its current (size, mtime_ns, ctime_ns, inode) equals the stat recorded when it last
hashed correctly. Any write to the file, even one that keeps the size and restores the mtime with utime(),
moves ctime, which no user call can set back, so a flipped byte done through the file system is caught by
the next load. A stat recorded less than RACY_SECONDS after the file's ctime is not trusted (git's "racily
clean" rule): a write in the same timestamp tick would not move it. Damage under the file system (bit rot) is
only caught by a full re-hash: `verify` (`zoohub verify`) re-hashes everything and ignores the record.
"""
from __future__ import annotations

import contextlib

import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from registry.errors import WRITE_FAILURES, BlobCorrupt, writing
from registry.faults import pause_point

CHUNK = 1 << 20
RACY_SECONDS = 2.0
STALE_TEMP_SECONDS = 3600.0
_SHA256 = re.compile(r"[0-9a-f]{64}")
Progress = Callable[[int], None]  # called with the number of bytes just processed


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """sha256-addressed files under root.

    >>> store = BlobStore(zoohub_home() / "blobs")
    >>> blob = store.put_file("model.safetensors")
    >>> store.path(blob.sha256).read_bytes() == Path("model.safetensors").read_bytes()
    True
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the blob with this sha256 lives (whether or not it is stored)."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / "sha256" / sha256[:2] / sha256

    def _stamp(self, sha256: str) -> Path:
        return self.root / "checked" / sha256

    def put_file(self, source: str | os.PathLike, expected_sha256: str | None = None,
                 progress: Progress | None = None) -> StoredBlob:
        """Store a file's bytes; returns its hash and size. A damaged existing copy is replaced."""
        with open(source, "rb") as f:
            return self.put_stream(f, expected_sha256, progress)

    def put_stream(self, stream: BinaryIO, expected_sha256: str | None = None,
                   progress: Progress | None = None) -> StoredBlob:
        """Store the bytes of a stream through a unique temp file, fsync and an atomic rename.

        A store that cannot be written (disk full, read-only, no permission) raises NotWritable naming the file;
        the temp file is removed and the store is as it was.
        """
        with self.receive() as blob:
            while chunk := stream.read(CHUNK):
                blob.write(chunk)
                if progress:
                    progress(len(chunk))
            return blob.commit(expected_sha256)

    def receive(self, prefix: str = "") -> BlobReceiver:
        """A blob to write chunk by chunk into a unique temp file `tmp/<prefix><hex>.partial` (see BlobReceiver)."""
        return BlobReceiver(self, self.root / "tmp" / f"{prefix}{uuid.uuid4().hex}.partial")

    def _place(self, tmp: Path, sha256: str, size: int) -> StoredBlob:
        """Move a whole, fsynced temp file that hashes to sha256 to its place, unless an intact copy is there."""
        final = self.path(sha256)
        if final.exists() and self._intact(sha256, size):
            tmp.unlink()
            self.mark_wanted(sha256)
            return StoredBlob(sha256, size)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        _fsync_dir(final.parent)
        self._record(sha256, final.stat(), time.time())
        return StoredBlob(sha256, size)

    def _intact(self, sha256: str, size: int) -> bool:
        try:
            return self.check(sha256, size) is None
        except FileNotFoundError:
            return False

    def check(self, sha256: str, size: int | None = None, trust_record: bool = True) -> str | None:
        """None if the blob is intact, else what is wrong (one line). Raises FileNotFoundError if missing.

        With trust_record, a blob whose stat equals the one recorded at its last good hash is not re-read.
        """
        final = self.path(sha256)
        st = final.stat()
        if size is not None and st.st_size != size:
            return f"it has {st.st_size} bytes, the registry recorded {size}"
        if trust_record and self._recorded(sha256, st):
            return None
        checked_at = time.time()
        actual = hash_file(final)
        if actual != sha256:
            return f"its content hashes to sha256:{actual}"
        if os.stat(final).st_ctime_ns == st.st_ctime_ns:
            self._record(sha256, st, checked_at)
        return None

    def _recorded(self, sha256: str, st: os.stat_result) -> bool:
        try:
            record = json.loads(self._stamp(sha256).read_text())
        except (OSError, ValueError):
            return False
        return (record.get("stat") == _stat_key(st)
                and record.get("checked_at", 0.0) - st.st_ctime_ns / 1e9 >= RACY_SECONDS)

    def _record(self, sha256: str, st: os.stat_result, checked_at: float) -> None:
        stamp = self._stamp(sha256)
        tmp = stamp.with_name(f".{sha256}.{uuid.uuid4().hex}")
        try:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"stat": _stat_key(st), "checked_at": checked_at}))
            os.replace(tmp, stamp)
        except OSError as exc:
            if exc.errno not in WRITE_FAILURES:
                raise
            # the record only spares a re-hash: a full or read-only store still loads, it re-hashes next time
            discard(tmp)

    def mark_wanted(self, sha256: str) -> None:
        """Note that a publish is about to reference this already stored blob: `last_wanted` restarts, so a
        garbage collection keeps it for its whole grace period even if no version references it yet. A marker
        file, not the blob's own mtime: touching the blob would move its ctime and void the fast-load record."""
        marker = self.root / "wanted" / sha256
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()

    def last_wanted(self, sha256: str) -> float:
        """When the blob was last written or marked wanted (seconds since the epoch)."""
        times = [self.path(sha256).stat().st_mtime]
        marker = self.root / "wanted" / sha256
        if marker.exists():
            times.append(marker.stat().st_mtime)
        return max(times)

    def remove(self, sha256: str) -> int:
        """Delete a blob with its check record and marker, noting the removal (`was_collected`); returns the bytes
        freed (0 if it was not stored). Only for blobs no version references (`hub.gc`)."""
        path = self.path(sha256)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            size = None
        for extra in (self._stamp(sha256), self.root / "wanted" / sha256):
            extra.unlink(missing_ok=True)
        if size is None:
            return 0
        note = self.root / "collected" / sha256
        note.parent.mkdir(parents=True, exist_ok=True)
        note.touch()
        return size

    def was_collected(self, sha256: str) -> bool:
        """Whether gc removed this blob since the last `forget_collected` before then: a publish that uploaded it
        and finds it gone was overtaken by gc (and must upload it again), not one that never uploaded it."""
        return (self.root / "collected" / sha256).exists()

    def forget_collected(self, before: float) -> None:
        """Drop the notes of removals made before `before` (seconds since the epoch), so they do not pile up."""
        folder = self.root / "collected"
        if folder.is_dir():
            for note in folder.iterdir():
                with contextlib.suppress(FileNotFoundError):  # another gc may drop it first
                    if note.stat().st_mtime < before:
                        note.unlink()

    def stale_temp_files(self, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
        """Temp files left by writers that died (not touched for older_than seconds)."""
        tmp_dir = self.root / "tmp"
        if not tmp_dir.is_dir():
            return []
        now = time.time()
        return [p for p in tmp_dir.iterdir() if now - p.stat().st_mtime > older_than]

    def stored(self) -> list[str]:
        """The hashes of every blob file present."""
        base = self.root / "sha256"
        if not base.is_dir():
            return []
        return sorted(p.name for sub in base.iterdir() if sub.is_dir() for p in sub.iterdir()
                      if _SHA256.fullmatch(p.name))


class BlobReceiver:
    """A blob arriving in chunks: each is hashed and written to the temp file; `commit` fsyncs it, checks the hash
    and renames it into the store. Leaving the block without a commit (an error, a refused upload) removes the temp
    file. Writing where the store cannot (disk full, read-only, no permission) raises NotWritable naming the file.

    >>> with store.receive() as blob:
    ...     for chunk in chunks:
    ...         blob.write(chunk)
    ...     stored = blob.commit(expected_sha256)
    """

    def __init__(self, store: BlobStore, tmp: Path) -> None:
        self.store = store
        self.tmp = tmp
        self.size = 0
        self._digest = hashlib.sha256()
        self._out: BinaryIO | None = None

    def __enter__(self) -> BlobReceiver:
        with writing(self.tmp):
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self._out = open(self.tmp, "xb")
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._out is not None:
                self._out.close()
        except OSError:
            pass  # the buffered tail could not be flushed: the file is being removed anyway
        finally:
            discard(self.tmp)

    @property
    def sha256(self) -> str:
        """The sha256 of the bytes written so far."""
        return self._digest.hexdigest()

    def write(self, chunk: bytes) -> None:
        """Append a chunk to the temp file and to the hash."""
        with writing(self.tmp):
            self._out.write(chunk)
        self._digest.update(chunk)
        self.size += len(chunk)
        pause_point("blob-write")

    def commit(self, expected_sha256: str | None = None) -> StoredBlob:
        """Store the bytes written: BlobCorrupt if they do not hash to expected_sha256; an intact copy already stored
        is kept (and marked wanted), a damaged one is replaced."""
        sha256 = self.sha256
        with writing(self.tmp):
            out, self._out = self._out, None
            with out:
                out.flush()
                os.fsync(out.fileno())
            if expected_sha256 is not None and sha256 != expected_sha256:
                raise BlobCorrupt(expected_sha256, f"content hashes to sha256:{sha256}, expected "
                                                   f"sha256:{expected_sha256}: the source changed while it was read "
                                                   f"or is not the file it claims to be", actual=sha256)
            return self.store._place(self.tmp, sha256, self.size)


def discard(path: Path) -> None:
    """Remove a temp file if it exists (unlink() of a missing file is EROFS, not ENOENT, on a read-only mount)."""
    if os.path.lexists(path):
        path.unlink(missing_ok=True)


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def hash_file(path: str | os.PathLike, progress: Progress | None = None) -> str:
    """sha256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()
