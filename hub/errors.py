"""Errors of the hub API: each is a user's mistake or a damaged store, with one line that says what to do.

The CLI prints `zoohub: error: <message>` and exits 1 for any HubError (2 for a UsageError), never a traceback.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError

from registry import errors as registry_errors
from registry.db import database_url, display_url


class HubError(Exception):
    """Base of the errors the hub raises for people."""


class UsageError(HubError, ValueError):
    """A command-line argument out of its range or malformed (`--beam-size 0`): exit status 2, as argparse's."""


class InvalidReference(HubError, ValueError):
    """A malformed reference or model name (`speech/base@x`, `../etc`, `Speech Base`)."""


class ModelNotFound(HubError, LookupError):
    """A model, version, alias or manifest prefix the registry does not hold (close names are suggested)."""


class InvalidModel(HubError, ValueError):
    """A folder or module that cannot be published: bad config.json, truncated safetensors, pickled weights."""


class InvalidArgument(HubError, ValueError):
    """An argument whose value the call cannot take: a NaN or infinite number where a finite one is needed."""


class ArgumentTypeError(HubError, TypeError):
    """An argument of the wrong type (card=3, reason=None); the message names the argument and what it takes."""


class IntegrityError(HubError):
    """A stored file whose bytes no longer match its hash; the message names model, file and the repair."""


class BlobCollected(HubError):
    """A publish whose uploaded blob `zoohub gc` removed before the version committed: nothing was published, and
    publishing again (which uploads the blob again) succeeds."""


class SchemaOutOfDate(HubError):
    """The registry database is at another schema revision: run `zoohub db upgrade`."""


class RegistryUnavailable(HubError):
    """The registry database cannot be reached or opened, its blob store cannot be read (another user's folder), or
    (RegistryNotWritable) its store cannot be written."""


class RegistryNotWritable(RegistryUnavailable):
    """The registry's database or blob store cannot be written (disk full, read-only, no permission): asking again
    does not help until a person frees space or fixes the mount."""


class MissingExtra(HubError):
    """A command needs an optional part of zoohub that is not installed (`pip install 'zoohub[server]'`)."""


def require_extra(extra: str, what: str, *modules: str) -> None:
    """Import each module, or raise MissingExtra naming the pip extra that brings it.

    >>> require_extra("server", "zoohub serve", "fastapi", "uvicorn")
    """
    import importlib
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise MissingExtra(f"{what} needs {name}, which is not installed: pip install 'zoohub[{extra}]'") from None


# A registry error becomes the hub error of the nearest class in its MRO named here, so a subclass becomes its parent's.
_TRANSLATE = {
    registry_errors.RegistryError: HubError,
    registry_errors.InvalidName: InvalidReference,
    registry_errors.AmbiguousReference: InvalidReference,
    registry_errors.NotFound: ModelNotFound,
    registry_errors.InvalidArgument: InvalidArgument,
    registry_errors.ArgumentTypeError: ArgumentTypeError,
    registry_errors.SchemaOutOfDate: SchemaOutOfDate,
    registry_errors.BlobCorrupt: IntegrityError,
    registry_errors.DatabaseUnavailable: RegistryUnavailable,
    registry_errors.NotReadable: RegistryUnavailable,
    registry_errors.NotWritable: RegistryNotWritable,
}

F = TypeVar("F", bound=Callable)


def user_errors(func: F) -> F:
    """Re-raise the registry's errors as the matching HubError, so callers catch one family."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except registry_errors.RegistryError as exc:
            raise _translated(exc) from None
        except (OperationalError, InterfaceError) as exc:
            raise _unavailable(exc) from None
        except DatabaseError as exc:
            if type(exc) is not DatabaseError:  # IntegrityError, DataError...: a statement failed, not the database
                raise
            raise _unavailable(exc) from None  # e.g. SQLite's "file is not a database"
    return wrapper  # type: ignore[return-value]


def _translated(exc: registry_errors.RegistryError) -> HubError:
    """The hub error for a registry error (ReadOnlyRegistry is a NotWritable: RegistryNotWritable)."""
    return next(_TRANSLATE[kind] for kind in type(exc).__mro__ if kind in _TRANSLATE)(str(exc))


def _unavailable(exc: DatabaseError) -> RegistryUnavailable:
    return RegistryUnavailable(f"cannot use the registry database at {display_url(database_url())}: "
                               f"{str(exc.orig).strip().splitlines()[0]}")
