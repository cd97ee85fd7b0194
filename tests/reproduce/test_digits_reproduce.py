"""vision/digits-cnn: `zoohub reproduce` retrains from the recipe with its seed and reproduces the claim."""
from __future__ import annotations

import importlib.util

import pytest

import hub

pytestmark = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="scikit-learn is not installed")


def test_digits_retrain_reproduces_accuracy_and_bit_identical_weights():
    report = hub.reproduce("vision/digits-cnn")
    by_metric = {r.metric: r for r in report.results}
    assert set(by_metric) == {"accuracy", "weights_bit_identical"}
    accuracy = by_metric["accuracy"]
    assert accuracy.verdict == "reproduced", accuracy.reason
    assert abs(accuracy.measured - accuracy.claimed) <= 0.005 and accuracy.tolerance == 0.005
    assert by_metric["weights_bit_identical"].measured == 1.0
    assert by_metric["weights_bit_identical"].verdict == "reproduced"
    details = report.details["digits-test-accuracy"]
    assert details["retrain_accuracies"][0] == details["retrain_accuracies"][1]
    assert details["settings"] == {"seed": 0, "threads": 2}
    assert report.ok
