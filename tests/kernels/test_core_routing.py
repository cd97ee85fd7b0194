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


@pytest.mark.parametrize("dim", [-1, 0])
def test_float32_softmax_and_log_softmax_ops_match_numpy(dim):
    x = f32(np.random.default_rng(4), (23, 71), -20, 20)
    t = core.from_numpy(x)
    x64 = np.moveaxis(x.astype(np.float64), dim, -1)
    np.testing.assert_allclose(core.softmax(t, dim).numpy(), np.moveaxis(ref.softmax(x64), -1, dim), rtol=2e-5,
                               atol=1e-7)
    np.testing.assert_allclose(core.log_softmax(t, dim).numpy(), np.moveaxis(ref.log_softmax(x64), -1, dim),
                               rtol=1e-5, atol=2e-5)


def test_float32_layer_norm_op_matches_numpy():
    rng = np.random.default_rng(5)
    x, w, b = f32(rng, (3, 19, 37)), f32(rng, (37,)), f32(rng, (37,))
    got = core.layer_norm(core.from_numpy(x), 37, core.from_numpy(w), core.from_numpy(b)).numpy()
    np.testing.assert_allclose(got, ref.layer_norm(x, w, b, 1e-5)[0], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mask", ["none", "causal", "additive", "additive_per_head", "bool"])
def test_float32_sdpa_op_matches_reference_with_and_without_the_fused_kernel(mask):
    rng = np.random.default_rng(6)
    q, k, v = (f32(rng, (2, 3, n, 16), -2, 2) for n in (33, 70, 70))
    kw, m_ref = {}, None
    if mask == "causal":
        kw["is_causal"] = True
    elif mask.startswith("additive"):
        m = f32(rng, (2, 3, 33, 70) if mask.endswith("head") else (33, 70), -3, 3)
        kw["attn_mask"], m_ref = core.from_numpy(m), m.astype(np.float64)
    elif mask == "bool":
        keep = rng.uniform(size=(33, 70)) > 0.3
        keep[:, 0] = True
        kw["attn_mask"], m_ref = core.from_numpy(keep), np.where(keep, 0.0, -np.inf)
    out = core.scaled_dot_product_attention(core.from_numpy(q), core.from_numpy(k), core.from_numpy(v), **kw)
    expect, _ = ref.attention(q, k, v, mask=m_ref, causal=mask == "causal")
    np.testing.assert_allclose(out.numpy(), expect, rtol=1e-4, atol=2e-5)


def test_float32_sdpa_gradient_through_the_fused_forward_matches_float64():
    rng = np.random.default_rng(7)
    arrays = [f32(rng, (1, 2, n, 8), -1, 1) for n in (9, 13, 13)]
    grads = {}
    for dtype in ("float32", "float64"):
        ts = [core.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        core.scaled_dot_product_attention(*ts, is_causal=True).sum().backward()
        grads[dtype] = [t.grad.numpy() for t in ts]
    for g32, g64 in zip(grads["float32"], grads["float64"]):
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-4)
