"""Vision benchmarks: digits-test-accuracy, reproduced by retraining vision/digits-cnn from its recipe.

The claim is the test accuracy of the recipe's recorded run (zoo/vision/recipe.py with its seed). The benchmark
retrains twice with that seed and thread count: the first retrain's test accuracy is `accuracy` (tolerance 0.5
points), and `weights_bit_identical` is 1 when the two retrains end with bit-identical weights (the recipe's
determinism promise; expected 1.0). The loaded version's own accuracy and whether its weights equal the
retrain's are reported in the details.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.benchmarks import register
from zoo.benchmarks.benchmark import Benchmark, DataUnavailable, Measurement, Metric

# scikit-learn 1.x ships the digits as this file; its hash pins the data.
DIGITS_FILE = "digits.csv.gz"
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
ACCURACY_TOLERANCE = 0.005  # 0.5 points


def sklearn_data_folder() -> Path:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailable("the digits ship with scikit-learn, which is not installed: pip install scikit-learn")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def weights_of(model: Any) -> dict[str, np.ndarray]:
    return {name: np.array(t.detach().numpy(), copy=True) for name, t in model.state_dict().items()}


def identical(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> bool:
    """Same names, shapes, dtypes and bytes."""
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
                                        and a[k].tobytes() == b[k].tobytes() for k in a)


def run_digits_retrain(model: Any, data: Path, settings: Mapping[str, Any]) -> Measurement:
    """Retrain twice with the recipe's seed; measure test accuracy and bit-identity of the two retrains."""
    from zoo.vision import recipe

    digits = recipe.load_data()
    published = recipe.evaluate(model, digits.test_images, digits.test_labels)
    seed, threads = int(settings["seed"]), int(settings["threads"])
    first = recipe.train(seed=seed, threads=threads, data=digits)
    second = recipe.train(seed=seed, threads=threads, data=digits)
    w1, w2 = weights_of(first.model), weights_of(second.model)
    same = identical(w1, w2)
    differing = [k for k in w1 if k in w2 and w1[k].tobytes() != w2[k].tobytes()]
    return Measurement(
        {"accuracy": first.test_accuracy, "weights_bit_identical": 1.0 if same else 0.0},
        {"published_accuracy": published, "retrain_accuracies": [first.test_accuracy, second.test_accuracy],
         "retrain_seconds": [first.seconds, second.seconds],
         "retrain_equals_published": identical(w1, weights_of(model)),
         "worst": [{"tensors_differing": differing[:5]}] if differing else []})


DIGITS_TEST_ACCURACY = register(Benchmark(
    name="digits-test-accuracy",
    task="vision",
    dataset="sklearn-digits",
    files={DIGITS_FILE: DIGITS_SHA256},
    metrics=(Metric("accuracy", higher_is_better=True, abs_tol=ACCURACY_TOLERANCE),
             Metric("weights_bit_identical", higher_is_better=True, abs_tol=0.0, expected=1.0,
                    expected_source="the recipe's promise: two retrains with one seed and thread count give "
                                    "bit-identical weights")),
    runner=run_digits_retrain,
    description="test accuracy of vision/digits-cnn retrained from its recipe (360-image stratified split), and "
                "bit-identical weights across two retrains",
    split="test",
    settings={"seed": 0, "threads": 2},
    locate=sklearn_data_folder,
))
