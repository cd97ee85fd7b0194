"""Errors of the registry. Each message says what was wrong, with the values, and what to do."""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RegistryError(Exception):
    """Base of every error the registry raises for a person to read."""


class InvalidName(RegistryError, ValueError):
    """A model name, alias or file path that the registry refuses (`../`, absolute, odd characters)."""


class NotFound(RegistryError, LookupError):
    """A model, version, alias or manifest that the registry does not hold."""


class AmbiguousReference(RegistryError, LookupError):
    """A manifest prefix that matches more than one version."""


class InvalidArgument(RegistryError, ValueError):
    """An argument whose value cannot be recorded or judged: a NaN or infinite number, a negative tolerance."""


class ArgumentTypeError(RegistryError, TypeError):
    """An argument of the wrong type (a tolerance given as text); the message names the argument."""


class SchemaOutOfDate(RegistryError):
    """The database was made by an older (or newer) zoohub; `zoohub db upgrade` brings it to this one's."""


class DatabaseUnavailable(RegistryError):
    """A database URL that cannot be parsed or a database that cannot be reached."""


class BlobCorrupt(RegistryError):
    """A stored blob whose content no longer hashes to its name, or that is missing."""

    def __init__(self, sha256: str, message: str, actual: str | None = None) -> None:
        self.sha256 = sha256
        self.actual = actual
        super().__init__(message)


# Why a write failed when the place written, not the data, is at fault: a person frees space or picks another folder.
WRITE_FAILURES = {
    errno.ENOSPC: "no space left on the device (free some space and run the command again)",
    errno.EDQUOT: "the disk quota is exhausted (free some space and run the command again)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}
# Why a read failed when the place read is at fault: a person fixes the permissions.
READ_FAILURES = {code: WRITE_FAILURES[code] for code in (errno.EACCES, errno.EPERM)}


class NotWritable(RegistryError):
    """A file the registry, its blob store or a cache must write cannot be written: the disk is full, the file system
    is read-only, or permission is denied. Whatever was half written is removed."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = os.fsdecode(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path}: {reason}")


class NotReadable(RegistryError):
    """A file of the blob store that this user may not read, or a folder of it that this user may not enter (another
    user's 0700 store): a person must fix the permissions, or point $ZOOHUB_HOME at a store of their own."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = os.fsdecode(path)
        self.reason = reason
        super().__init__(f"cannot read {self.path}: {reason}")


class ReadOnlyRegistry(NotWritable):
    """A write (publish, promote, gc, db upgrade, ...) to a registry this process can only read: its SQLite file or
    the folder holding it is not writable (a read-only mount, another user's files)."""

    def __init__(self, where: str, reason: str) -> None:
        RegistryError.__init__(self, f"the registry at {where} is read-only ({reason}): it can be read (list, info, "
                                     f"history, loading pulled versions) but not written (publish, promote, gc, db "
                                     f"upgrade)")
        self.path = where
        self.reason = reason


@contextmanager
def writing(path: str | os.PathLike, *, name_path: bool = False) -> Iterator[None]:
    """Inside the block, an OSError that blames the place written (full, read-only, no permission) becomes
    NotWritable naming the file (the error's own file name, else `path`; always `path` with name_path, for a
    temp file or folder that the block would have renamed to path); other errors pass unchanged.

    >>> with writing(tmp):
    ...     out.write(chunk)      # ENOSPC -> NotWritable("cannot write <tmp>: no space left on the device ...")
    """
    with _blaming_the_place(path, NotWritable, WRITE_FAILURES, name_path=name_path):
        yield


@contextmanager
def reading(path: str | os.PathLike) -> Iterator[None]:
    """As `writing`, for a block that reads the store: no permission (a blob or folder of another user's) becomes
    NotReadable naming the file (the error's own file name, else `path`); other errors pass unchanged, so a
    missing blob is still FileNotFoundError.

    >>> with reading(store.root):
    ...     store.check(sha256)   # EACCES -> NotReadable("cannot read <blob>: permission denied")
    """
    with _blaming_the_place(path, NotReadable, READ_FAILURES, name_path=False):
        yield


@contextmanager
def _blaming_the_place(path: str | os.PathLike, error: type[NotWritable | NotReadable], failures: dict[int, str], *,
                       name_path: bool) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        reason = failures.get(exc.errno)
        if reason is None:
            raise
        raise error(path if name_path or exc.filename is None else exc.filename, reason) from None


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A new folder in the temp directory, removed at the end. A full or read-only temp file system while it is made
    or written in is NotWritable naming the file, as for the registry's own writes."""
    with writing(tempfile.gettempdir()):
        folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with writing(folder):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
