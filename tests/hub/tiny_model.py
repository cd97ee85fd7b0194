"""A tiny architecture and catalog entry for the hub tests (importable by subprocesses too).

`test-tiny-linear`: config {"architecture", "in", "out"}, weights `weight` (out, in) and `bias` (out,) in
model.safetensors. The catalog entry `test/tiny` materializes such a folder with fixed weights.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.io import SafetensorsFile, save_arrays
from zoo.architectures import ARCHITECTURES, register_architecture
from zoo.catalog import CATALOG, CatalogEntry, register

ARCHITECTURE = "test-tiny-linear"
CATALOG_NAME = "test/tiny"


class TinyLinear:
    """y = x @ weight.T + bias, weights memory-mapped from the folder it was built from."""

    def __init__(self, folder: Path, config: dict) -> None:
        self.folder = folder
        self.config = config
        self.weights = SafetensorsFile(folder / "model.safetensors")
        self.training = True

    def eval(self) -> "TinyLinear":
        self.training = False
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weights.array("weight").T + self.weights.array("bias")


def build(folder: Path, config: dict) -> TinyLinear:
    return TinyLinear(folder, config)


def write_folder(dest: Path, seed: int = 0, n_in: int = 4, n_out: int = 3, card: str | None = "# tiny\n") -> Path:
    """A publishable folder: config.json, model.safetensors (seeded weights), README.md."""
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    (dest / "config.json").write_text(json.dumps({"architecture": ARCHITECTURE, "in": n_in, "out": n_out}))
    save_arrays({"weight": ("F32", rng.standard_normal((n_out, n_in)).astype(np.float32)),
                 "bias": ("F32", rng.standard_normal(n_out).astype(np.float32))}, dest / "model.safetensors")
    if card is not None:
        (dest / "README.md").write_text(card)
    return dest


def materialize(dest: Path, progress) -> None:
    progress(0, 2)
    write_folder(dest, seed=42, card="# test/tiny\n\nA catalog entry for the tests.\n")
    progress(2, 2)


if ARCHITECTURE not in ARCHITECTURES:
    register_architecture(ARCHITECTURE)(build)
if CATALOG_NAME not in CATALOG:
    register(CatalogEntry(name=CATALOG_NAME, task="test", architecture=ARCHITECTURE,
                          description="a 4 -> 3 linear map for the hub tests", license="CC0-1.0",
                          source_packages=(), hf_repo="", source_sha256={}, materialize=materialize))
