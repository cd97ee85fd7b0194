"""What the hub API returns: plain frozen dataclasses, detached from the database."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from registry.evaluations import Verdict


@dataclass(frozen=True)
class FileInfo:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelSummary:
    """One row of `hub.list()`: a registry model, or a catalog model not pulled yet (in_registry False)."""

    name: str
    task: str
    description: str
    license: str
    in_registry: bool
    latest_version: int | None = None
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionInfo:
    """One version of a model, with its files, the model's aliases and versions, and its latest verdicts."""

    name: str
    version: int
    manifest_sha256: str
    task: str
    description: str
    license: str
    config: dict
    card: str | None
    files: tuple[FileInfo, ...]
    source: str
    status: str
    created_by: str
    created_at: datetime
    aliases: dict[str, int] = field(default_factory=dict)
    versions: tuple[int, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    created: bool = False  # publish: True when this call made the version, False when it already existed
    folder: Path | None = None  # pull/load: the per-version folder of links into the blob store

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class AliasChange:
    """One alias_event: `alias` of `name` moved from from_version (None: newly set) to to_version.

    A promote to the version the alias already points at writes nothing and returns from_version == to_version,
    with the actor, reason and time of the event that set it."""

    name: str
    alias: str
    from_version: int | None
    to_version: int
    actor: str
    reason: str
    at: datetime

    @property
    def moved(self) -> bool:
        """False for a promote that found the alias already at to_version (nothing was written)."""
        return self.from_version != self.to_version


@dataclass(frozen=True)
class GcReport:
    """What `gc` removed (or, with dry_run, would remove): blobs no version references and not written or
    wanted for the grace period, as (sha256, size); unreferenced blobs kept as too recent; temp files removed."""

    removed: tuple[tuple[str, int], ...]
    kept_recent: int
    removed_temp_files: int
    dry_run: bool

    @property
    def freed_bytes(self) -> int:
        return sum(size for _, size in self.removed)


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` found: files checked, problems (one line each, with the repair), temp files removed."""

    checked_files: int
    checked_bytes: int
    problems: tuple[str, ...]
    removed_temp_files: int

    @property
    def ok(self) -> bool:
        return not self.problems
