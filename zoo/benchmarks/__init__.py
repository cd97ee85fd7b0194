"""Benchmarks: code + data pinned by sha256 + metrics; what `hub.reproduce` runs against a model's claims.

Each benchmark module registers its benchmarks here under the names catalog entries and claims use.

>>> from zoo.benchmarks import get
>>> get("minilm-ref-64").metric_names
('mean_cosine', 'min_cosine')
"""
from __future__ import annotations

import importlib

from zoo.benchmarks.benchmark import Benchmark, DataUnavailable, Measurement, Metric, find_dataset

BENCHMARKS: dict[str, Benchmark] = {}

# Modules whose import registers benchmarks; each imports its model family only when a benchmark runs.
MODULES = ("zoo.benchmarks.text", "zoo.benchmarks.speech", "zoo.benchmarks.vision")


def register(benchmark: Benchmark) -> Benchmark:
    """Add a benchmark under its name (a name registered twice is an error)."""
    if benchmark.name in BENCHMARKS:
        raise ValueError(f"benchmark {benchmark.name!r} is registered twice")
    BENCHMARKS[benchmark.name] = benchmark
    return benchmark


def load_benchmarks() -> dict[str, Benchmark]:
    """Every registered benchmark (imports the benchmark modules first)."""
    for module in MODULES:
        importlib.import_module(module)
    return dict(BENCHMARKS)


def get(name: str) -> Benchmark:
    """The benchmark called name; a KeyError lists the known ones."""
    known = load_benchmarks()
    if name not in known:
        raise KeyError(f"unknown benchmark {name!r} (known: {', '.join(sorted(known)) or 'none'})")
    return known[name]


__all__ = ["BENCHMARKS", "Benchmark", "DataUnavailable", "Measurement", "Metric", "find_dataset", "get",
           "load_benchmarks", "register"]
