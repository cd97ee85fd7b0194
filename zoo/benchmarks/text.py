"""Text benchmarks: minilm-ref-64, our sentence vectors against the stored sentence-transformers embeddings."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.benchmarks import register
from zoo.benchmarks.benchmark import Benchmark, Measurement, Metric
from zoo.text.catalog import REFERENCE_BENCHMARK, REFERENCE_DATA_SHA256

# A correct float32 port agrees with the reference to ~1e-6; issue 5 asks every sentence >= 0.9999.
COSINE_TOLERANCE = 1e-4


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of a with the same row of b (a zero row gives 0)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    norms = np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-30)
    return (a * b).sum(axis=1) / norms


def run_minilm_reference(model: Any, data: Path, settings: Mapping[str, Any]) -> Measurement:
    """Embed the 64 sentences with model.encode and compare each with its stored reference vector."""
    sentences = json.loads((data / "sentences.json").read_text(encoding="utf-8"))["sentences"]
    reference = np.load(data / "embeddings.npy")
    ours = np.asarray(model.encode(sentences, batch_size=int(settings["batch_size"])), dtype=np.float32)
    if ours.shape != reference.shape:
        raise ValueError(f"minilm-ref-64: the model returned shape {ours.shape}, the reference is {reference.shape}")
    cosine = cosine_rows(ours, reference)
    worst = np.argsort(cosine)[:3]
    return Measurement(
        values={"mean_cosine": float(cosine.mean()), "min_cosine": float(cosine.min())},
        details={"sentences": len(sentences),
                 "worst": [{"index": int(i), "sentence": sentences[i][:80], "cosine": float(cosine[i])}
                           for i in worst]})


MINILM_REF_64 = register(Benchmark(
    name=REFERENCE_BENCHMARK,
    task="text",
    dataset="minilm-ref",
    files=dict(REFERENCE_DATA_SHA256),
    metrics=(Metric("mean_cosine", higher_is_better=True, abs_tol=COSINE_TOLERANCE),
             Metric("min_cosine", higher_is_better=True, abs_tol=COSINE_TOLERANCE)),
    runner=run_minilm_reference,
    description="cosine similarity of 64 sentence vectors (Harvard sentences and edge cases: empty, non-ASCII, "
                "over 256 word pieces) with sentence-transformers 6.2.0 on torch 2.13.0",
    settings={"batch_size": 8},
))
