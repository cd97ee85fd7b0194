"""core's float32 ops that route to the vectorised kernels agree with numpy, on dense and on strided inputs
(the strided ones take the generic loops, so both paths are pinned)."""
import numpy as np
import pytest

import core
from tests.kernels import reference as ref


def f32(rng, shape, low=-6.0, high=6.0):
    return rng.uniform(low, high, shape).astype(np.float32)


LAYOUTS = ["dense", "transposed"]


def as_tensor(x, layout):
    t = core.from_numpy(x)
    return t if layout == "dense" else t.transpose(0, 1)


def as_ref(x, layout):
    return x.astype(np.float64) if layout == "dense" else x.astype(np.float64).T


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,ours,expect,tol", [
    ("exp", core.exp, ref.UNARY["exp"], 2e-6),
    ("sigmoid", core.sigmoid, ref.sigmoid, 2e-6),
    ("silu", core.silu, ref.UNARY["silu"], 5e-6),
    ("gelu", core.gelu, ref.gelu, 1e-5),
    ("gelu_tanh", lambda t: core.gelu(t, approximate="tanh"), ref.gelu_tanh, 1e-5),
])
def test_float32_unary_ops_match_numpy(layout, name, ours, expect, tol):
    x = f32(np.random.default_rng(0), (37, 70))
    got = ours(as_tensor(x, layout)).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expect(as_ref(x, layout)), rtol=tol, atol=1e-7)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("rhs", ["tensor", "scalar", "row"])
def test_float32_binary_ops_match_numpy(layout, op, rhs):
    rng = np.random.default_rng(1)
    a = f32(rng, (33, 65))
    ta, a_ref = as_tensor(a, layout), as_ref(a, layout)
    if rhs == "tensor":
        b = rng.uniform(0.5, 2.0, (33, 65)).astype(np.float32)
        tb, b_ref = as_tensor(b, layout), as_ref(b, layout)
    else:
        b = rng.uniform(0.5, 2.0, () if rhs == "scalar" else (a_ref.shape[1],)).astype(np.float32)
        tb, b_ref = core.from_numpy(b), b.astype(np.float64)
    got = getattr(core, op)(ta, tb).numpy()
    np.testing.assert_allclose(got, ref.BINARY[op](a_ref, b_ref), rtol=1e-6, atol=1e-7)


def test_float32_scalar_on_the_right_uses_the_python_number():
    x = f32(np.random.default_rng(2), (4, 17))
    np.testing.assert_allclose((core.from_numpy(x) / 3.0).numpy(), x.astype(np.float64) / 3.0, rtol=1e-6)


@pytest.mark.parametrize("dims", [None, 0, 1, (0, 1)])
def test_float32_sum_and_mean_match_numpy(dims):
    x = f32(np.random.default_rng(3), (129, 1031))
    t = core.from_numpy(x)
    np_dims = dims if dims is not None else None
    np.testing.assert_allclose(core.sum(t, dims).numpy(), x.astype(np.float64).sum(axis=np_dims), rtol=1e-5,
                               atol=1e-3)
    np.testing.assert_allclose(t.mean(dims).numpy() if dims is not None else t.mean().numpy(),
                               x.astype(np.float64).mean(axis=np_dims), rtol=1e-5, atol=1e-5)
