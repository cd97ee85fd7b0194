"""Catalog entry vision/digits-cnn: a small CNN trained from scratch by our own recipe (no external weights).

`materialize` runs the recipe (zoo/vision/recipe.py, seed 0) and writes config.json, model.safetensors and the
README.md card; the builder registered for "digits-cnn" loads such a folder, weights memory-mapped.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import core
from zoo.architectures import register_architecture
from zoo.catalog import CatalogEntry, Claim, register
from zoo.importers import write_atomic
from zoo.vision import recipe
from zoo.vision.model import ARCHITECTURE, DigitsCNN, DigitsConfig

NAME = "vision/digits-cnn"
BENCHMARK = "digits-test-accuracy"
SEED = 0
THREADS = 2
# Our recorded run of recipe.train(seed=0, threads=2), measured on the stratified test split.
RECORDED_ACCURACY = 351 / 359
RECIPE_SOURCE = (f"our run of zoo/vision/recipe.py train(seed={SEED}, threads={THREADS}) on scikit-learn's digits "
                 f"(stratified {recipe.TEST_FRACTION:.0%} test split, split seed {recipe.SPLIT_SEED})")

Progress = Callable[[int, int], None]


def materialize(dest: Path, progress: Progress) -> None:
    """Trains the model with the recipe and writes dest/config.json, dest/model.safetensors, dest/README.md."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    result = recipe.train(seed=SEED, threads=THREADS, progress=progress)
    config = {**result.model.config.to_json(), "seed": SEED, "threads": THREADS, "epochs": result.epochs,
              "test_accuracy": result.test_accuracy}
    core.io.save(result.model, dest / "model.safetensors", metadata={"format": "zoohub", "architecture": ARCHITECTURE})
    write_atomic(dest / "config.json", (json.dumps(config, indent=2) + "\n").encode())
    write_atomic(dest / "README.md", model_card(result).encode())


def model_card(result: recipe.TrainResult) -> str:
    """README.md of the trained model: what it is, how it was trained, what it measured."""
    cfg = result.model.config
    params = sum(p.numel() for p in result.model.parameters())
    return f"""# {NAME}

A small convolutional network ({params} parameters) that reads 8x8 grey-level handwritten digits (scikit-learn's
`load_digits`, values 0..16) and predicts the digit. Trained from scratch on zoohub's own engine.

```python
import hub
from sklearn.datasets import load_digits
model = hub.load("{NAME}")
model.predict(load_digits().images[:5])   # array of digits
```

## Architecture
conv 3x3 (1 -> {cfg.channels[0]}) ReLU, max-pool 2, conv 3x3 ({cfg.channels[0]} -> {cfg.channels[1]}) ReLU,
linear ({cfg.channels[1] * (cfg.image_size // 2) ** 2} -> {cfg.hidden}) ReLU, dropout {cfg.dropout},
linear ({cfg.hidden} -> {cfg.num_classes}). Inputs are divided by {cfg.input_max}.

## Training
`zoo/vision/recipe.py`: AdamW (lr {recipe.LR}, weight decay {recipe.WEIGHT_DECAY}), cosine annealing per step,
batch {recipe.BATCH_SIZE}, {result.epochs} epochs, seed {result.seed}, {result.threads} threads. The same seed and
thread count give bit-identical weights, and this card holds nothing else that changes between runs (no training
time), so every import of the entry makes the same files and the same version.

## Results
Test accuracy {result.test_accuracy:.4f} on the stratified {recipe.TEST_FRACTION:.0%} split
({result.test_size} images; benchmark {BENCHMARK}).

License: Apache-2.0 (weights and recipe are ours; the data ships with scikit-learn, BSD-3-Clause).
"""


@register_architecture(ARCHITECTURE)
def build(folder: str | os.PathLike, config: dict) -> DigitsCNN:
    """The model of a digits-cnn folder in eval mode, its weights memory-mapped from model.safetensors."""
    folder = Path(folder)
    settings = {k: v for k, v in config.items() if k not in ("seed", "threads", "epochs", "test_accuracy")}
    model = DigitsCNN(DigitsConfig.from_json(settings))
    model.load_state_dict(core.io.load(folder / "model.safetensors"), assign=True)
    return model.eval()


ENTRY = register(CatalogEntry(
    name=NAME,
    task="vision",
    architecture=ARCHITECTURE,
    description="Handwritten digits (8x8, scikit-learn) with a small CNN trained from scratch by our recipe",
    license="Apache-2.0",
    source_packages=("scikit-learn",),
    hf_repo="",
    source_sha256={},
    materialize=materialize,
    claims=(Claim(BENCHMARK, "accuracy", RECORDED_ACCURACY, RECIPE_SOURCE),),
    benchmarks=(BENCHMARK,),
    extra={"recipe": "zoo/vision/recipe.py", "seed": SEED, "threads": THREADS},
))
