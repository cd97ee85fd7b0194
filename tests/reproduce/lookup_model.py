"""A small catalog model and benchmark for the reproduce pipeline: weights are a (4, 3) table, the benchmark
scores how close the table is to the expected one, so perturbing the weights moves the measurement."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from core.io import SafetensorsFile, save_arrays
from zoo.benchmarks.benchmark import Benchmark, Measurement, Metric, file_sha256
from zoo.catalog import CatalogEntry, Claim

NAME = "text/lookup-test"
TABLE = np.arange(12, dtype=np.float32).reshape(4, 3) / 10


class LookupModel:
    def __init__(self, table: np.ndarray) -> None:
        self.table = table

    def rows(self, indices: list[int]) -> np.ndarray:
        return self.table[indices]


def build(folder: Path, config: dict) -> LookupModel:
    return LookupModel(SafetensorsFile(folder / "model.safetensors").array("table"))


def write_folder(dest: Path, table: np.ndarray = TABLE) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.json").write_text(json.dumps({"architecture": "lookup-test"}))
    save_arrays({"table": ("F32", table)}, dest / "model.safetensors")
    return dest


def materialize(dest: Path, progress) -> None:
    write_folder(dest)
    progress(1, 1)


def run_exact_rows(model: Any, data: Path, settings: Mapping[str, Any]) -> Measurement:
    expected = np.load(data / "expected.npy")
    got = model.rows(list(range(len(expected))))
    per_row = np.abs(got - expected).max(axis=1)
    again = model.rows(list(range(len(expected))))
    return Measurement({"max_abs_error": float(per_row.max()), "rows_exact": float((per_row == 0).mean()),
                        "repeatable": float(np.array_equal(got, again))},
                       {"worst": [{"row": int(per_row.argmax()), "error": float(per_row.max())}]})


def make_benchmark(data_root: Path) -> Benchmark:
    folder = data_root / "lookup-data"
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "expected.npy", TABLE)
    return Benchmark(name="lookup-exact", task="text", dataset="lookup-data",
                     files={"expected.npy": file_sha256(folder / "expected.npy")},
                     metrics=(Metric("max_abs_error", higher_is_better=False, abs_tol=1e-6),
                              Metric("rows_exact", higher_is_better=True, abs_tol=0.0),
                              Metric("repeatable", higher_is_better=True, abs_tol=0.0, expected=1.0,
                                     expected_source="the same lookup twice gives the same rows")),
                     runner=run_exact_rows, description="rows equal the expected table", settings={"scale": 1})


def make_entry() -> CatalogEntry:
    return CatalogEntry(
        name=NAME, task="text", architecture="lookup-test", description="a lookup table for reproduce tests",
        license="Apache-2.0", source_packages=(), hf_repo="", source_sha256={}, materialize=materialize,
        claims=(Claim("lookup-exact", "max_abs_error", 0.0, "the table as written"),
                Claim("lookup-exact", "rows_exact", 1.0, "the table as written"),
                Claim("lookup-paper", "error", 0.5, "a paper, Table 9", runnable=False,
                      reason="the paper's data is not available offline")),
        benchmarks=("lookup-exact",))
