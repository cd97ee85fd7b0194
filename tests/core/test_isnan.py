"""isnan / isinf / isfinite, as PyTorch has them: bool tensors of the input's shape, integers never NaN or inf."""
import math

import numpy as np
import pytest

import core

VALUES = [0.0, -1.5, math.nan, math.inf, -math.inf, 3e38, -0.0, 1e-45]


@pytest.mark.parametrize("dtype", [core.float32, core.float64, core.float16, core.bfloat16])
def test_each_test_matches_numpy_on_every_float_dtype(dtype):
    t = core.tensor(VALUES, dtype=dtype)
    x = np.array(t.float().tolist())
    for name, ref in (("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite)):
        got = getattr(core, name)(t)
        assert got.dtype == core.bool and got.shape == t.shape
        assert got.tolist() == ref(x).tolist() == getattr(t, name)().tolist(), name


def test_integer_and_bool_tensors_are_never_nan_or_infinite():
    for t in (core.tensor([[1, -2], [3, 4]]), core.tensor([1, 2], dtype=core.int32), core.tensor([True, False])):
        assert core.isnan(t).tolist() == np.zeros(t.shape, bool).tolist()
        assert core.isinf(t).tolist() == np.zeros(t.shape, bool).tolist()
        assert core.isfinite(t).tolist() == np.ones(t.shape, bool).tolist()


def test_shapes_scalars_views_and_no_gradient():
    x = core.tensor([[1.0, math.nan, 3.0], [math.inf, 5.0, 6.0]], requires_grad=True)
    assert core.isnan(x).requires_grad is False
    assert core.isnan(x.t()).tolist() == [[False, False], [True, False], [False, False]]
    assert core.isfinite(core.tensor(2.0)).shape == () and core.isfinite(core.tensor(2.0)).item() is True
    assert core.isnan(core.zeros(0, 3)).shape == (0, 3)
    assert x[core.isfinite(x)].tolist() == [1.0, 3.0, 5.0, 6.0]  # the usual use: keep the finite values


def test_a_non_tensor_is_a_type_error_naming_the_function():
    with pytest.raises(TypeError, match=r"isnan\(\): argument 'input' must be a Tensor, not list"):
        core.isnan([1.0])
