"""A benchmark: code + data files pinned by sha256 + metrics with their direction, and how close is close.

`Benchmark.run(model, settings)` finds the data (checking every file's hash first), runs the evaluation and
returns a `Measurement`: one value per metric plus details (per-item numbers, settings used). Tolerances
live with the benchmark because they are a property of the measurement (how much a correct model may move
it), not of any one claim; reproduce() applies |measured - claimed| <= abs_tol + rel_tol * |claimed|.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


class DataUnavailable(RuntimeError):
    """The benchmark's data is missing or differs from its pinned hashes; the message says what to do."""


@dataclass(frozen=True)
class Metric:
    """One number a benchmark produces, its direction and the tolerance a reproduction allows."""

    name: str
    higher_is_better: bool
    abs_tol: float
    rel_tol: float = 0.0
    # A value the benchmark itself expects (e.g. 1.0 for "two retrains are bit-identical"): judged like a claim
    # whose source is `expected_source`, for every model the benchmark runs on.
    expected: float | None = None
    expected_source: str = ""


@dataclass(frozen=True)
class Measurement:
    """What one run of a benchmark measured: metric name -> value, and details for the report."""

    values: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)


# (model, data folder, settings) -> Measurement
Runner = Callable[[Any, Path, Mapping[str, Any]], Measurement]


@dataclass(frozen=True)
class Benchmark:
    """Code + data with hashes + metrics.

    >>> bench = get("minilm-ref-64")
    >>> bench.run(hub.load("text/minilm-l6")).values["min_cosine"]
    0.99999...
    """

    name: str
    task: str
    dataset: str  # folder name of the data (found by find_dataset)
    files: dict[str, str]  # path inside the dataset folder -> sha256
    metrics: tuple[Metric, ...]
    runner: Runner
    description: str
    split: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # defaults; run(settings=...) overrides keys
    # Where the data lives when it ships with a package (scikit-learn's digits); None: find_dataset's roots.
    locate: Callable[[], Path] | None = None

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"benchmark {self.name} has no metric {name!r} (it has {', '.join(self.metric_names)})")

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    @property
    def data_sha256(self) -> str:
        """One hash for the whole dataset: sha256 over the sorted "path sha256" lines of its files."""
        listing = "".join(f"{path} {sha}\n" for path, sha in sorted(self.files.items()))
        return hashlib.sha256(listing.encode()).hexdigest()

    def merged_settings(self, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
        unknown = set(settings or {}) - set(self.settings)
        if unknown:
            raise ValueError(f"benchmark {self.name}: unknown setting(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(sorted(self.settings)) or 'none'})")
        return {**self.settings, **(settings or {})}

    def data_folder(self) -> Path:
        """The dataset folder with every file present and matching its hash (DataUnavailable otherwise)."""
        if self.locate is None:
            return find_dataset(self.dataset, self.files)
        folder = self.locate()
        check_files(folder, self.dataset, self.files)
        return folder

    def run(self, model: Any, settings: Mapping[str, Any] | None = None) -> Measurement:
        """Check the data, run the evaluation, and check that every metric came back as a number."""
        merged = self.merged_settings(settings)
        measurement = self.runner(model, self.data_folder(), merged)
        missing = [m for m in self.metric_names if m not in measurement.values]
        if missing:
            raise RuntimeError(f"benchmark {self.name}: the run did not produce {', '.join(missing)}")
        return Measurement({k: float(v) for k, v in measurement.values.items()},
                           {"settings": merged, **measurement.details})


def dataset_roots() -> list[Path]:
    """Where datasets are looked for, in order: $ZOOHUB_DATA (os.pathsep-separated), then tests/data of the repo."""
    roots = [Path(p) for p in os.environ.get("ZOOHUB_DATA", "").split(os.pathsep) if p]
    return [*roots, REPO_ROOT / "tests" / "data"]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_files(folder: Path, name: str, files: Mapping[str, str]) -> None:
    """Every file present in folder with its pinned sha256 (DataUnavailable naming the first that is not)."""
    for path, expected in files.items():
        if not (folder / path).is_file():
            raise DataUnavailable(f"dataset {name}: {folder / path} is missing")
        actual = file_sha256(folder / path)
        if actual != expected:
            raise DataUnavailable(f"dataset {name}: {folder / path} has sha256 {actual}, the benchmark pins "
                                  f"{expected} (a modified copy? restore the original file)")


def find_dataset(name: str, files: Mapping[str, str]) -> Path:
    """The first root holding folder `name` with all `files`; every file's sha256 must match."""
    roots = dataset_roots()
    for root in roots:
        folder = root / name
        if all((folder / path).is_file() for path in files):
            check_files(folder, name, files)
            return folder
    searched = ", ".join(str(r) for r in roots)
    raise DataUnavailable(f"dataset {name} not found (looked in {searched}); point ZOOHUB_DATA at a folder that "
                          f"holds {name}/")
