"""Errors of the registry. Each message says what was wrong, with the values, and what to do."""
from __future__ import annotations


class RegistryError(Exception):
    """Base of every error the registry raises for a person to read."""


class InvalidName(RegistryError, ValueError):
    """A model name, alias or file path that the registry refuses (`../`, absolute, odd characters)."""


class NotFound(RegistryError, LookupError):
    """A model, version, alias or manifest that the registry does not hold."""


class AmbiguousReference(RegistryError, LookupError):
    """A manifest prefix that matches more than one version."""


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
