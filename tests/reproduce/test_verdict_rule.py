"""The verdict rule |measured - claimed| <= abs_tol + rel_tol * |claimed|, its edges and its reasons."""
from __future__ import annotations

import math

import pytest

from hub.reproduce import judge


@pytest.mark.parametrize("measured, claimed, abs_tol, rel_tol, verdict", [
    (0.0905, 0.0905, 0.0, 0.0, "reproduced"),
    (0.1000, 0.0905, 0.01, 0.0, "reproduced"),
    (0.1010, 0.0905, 0.01, 0.0, "not_reproduced"),
    (0.0800, 0.0905, 0.01, 0.0, "not_reproduced"),  # better than claimed by more than the tolerance also fails
    (105.0, 100.0, 0.0, 0.05, "reproduced"),
    (105.5, 100.0, 0.0, 0.05, "not_reproduced"),
    (-2.09, -2.0, 0.0, 0.05, "reproduced"),  # rel_tol scales with |claimed|
    (-2.11, -2.0, 0.0, 0.05, "not_reproduced"),
    (0.99995, 1.0, 1e-4, 0.0, "reproduced"),
    (0.9998, 1.0, 1e-4, 0.0, "not_reproduced"),
])
def test_verdict_follows_the_tolerance_rule(measured, claimed, abs_tol, rel_tol, verdict):
    delta, got, _ = judge(measured, claimed, abs_tol, rel_tol, higher_is_better=True)
    assert got == verdict
    assert delta == pytest.approx(measured - claimed)


def test_exact_boundary_reproduces():
    assert judge(1.5, 1.0, 0.5, 0.0, True)[1] == "reproduced"
    assert judge(1.0, 2.0, 0.0, 0.5, True)[1] == "reproduced"


@pytest.mark.parametrize("measured", [None, math.nan, math.inf])
def test_no_measurement_is_inconclusive(measured):
    delta, verdict, reason = judge(measured, 1.0, 0.1, 0.0, True)
    assert (delta, verdict) == (None, "inconclusive") and reason


def test_reason_says_worse_or_better_by_the_metric_direction():
    assert "0.01 worse" in judge(0.1005, 0.0905, 0.001, 0.0, higher_is_better=False)[2]
    assert "0.01 better" in judge(0.0805, 0.0905, 0.001, 0.0, higher_is_better=False)[2]
    assert "worse, beyond the tolerance 0.0001" in judge(0.97, 1.0, 1e-4, 0.0, higher_is_better=True)[2]
