"""References to a model version, as users write them:

    speech/base                 the production alias if set, else the newest version
    speech/base@3               version 3
    speech/base:staging         the version the alias `staging` points at
    speech/base@sha256:1a2b3c   the version whose manifest hash starts with 1a2b3c (6 to 64 hex digits)
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from hub.errors import InvalidReference
from registry.errors import InvalidName
from registry.names import check_alias, check_manifest_prefix, split_model_name

_REF = re.compile(r"(?P<name>[^@:]+)(?:@(?P<version>[0-9]+)|@sha256:(?P<manifest>[^@:]+)|:(?P<alias>[^@:]+))?")
GRAMMAR = "NAME, NAME@VERSION, NAME:ALIAS or NAME@sha256:PREFIX (e.g. speech/base@3)"
MAX_VERSION = 2**31 - 1  # the registry's version column is a 32-bit INTEGER on PostgreSQL and SQLite alike


@dataclass(frozen=True)
class Reference:
    name: str
    version: int | None = None
    alias: str | None = None
    manifest_prefix: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        if self.alias is not None:
            return f"{self.name}:{self.alias}"
        if self.manifest_prefix is not None:
            return f"{self.name}@sha256:{self.manifest_prefix}"
        return self.name

    @property
    def is_plain(self) -> bool:
        return self.version is None and self.alias is None and self.manifest_prefix is None


def parse_reference(text: str) -> Reference:
    """Parse a reference; InvalidReference says what is wrong and shows the grammar.

    >>> parse_reference("speech/base:staging")
    Reference(name='speech/base', version=None, alias='staging', manifest_prefix=None)
    """
    if not isinstance(text, str):
        raise InvalidReference(f"a reference is a string ({GRAMMAR}), not {type(text).__name__}")
    match = _REF.fullmatch(text.strip())
    if match is None:
        raise InvalidReference(f"malformed reference {text!r}: expected {GRAMMAR}")
    try:
        split_model_name(match["name"])
        alias = check_alias(match["alias"]) if match["alias"] else None
        manifest = check_manifest_prefix(match["manifest"]) if match["manifest"] else None
    except InvalidName as exc:
        raise InvalidReference(f"malformed reference {text!r}: {exc}") from None
    version = int(match["version"]) if match["version"] else None
    if version is not None and not 1 <= version <= MAX_VERSION:
        raise InvalidReference(f"malformed reference {text!r}: versions are numbered from 1 to {MAX_VERSION}")
    return Reference(match["name"], version, alias, manifest)
