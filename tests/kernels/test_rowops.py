"""Row kernels (softmax, log_softmax, layer_norm, sum) and elementwise kernels against numpy in float64."""
import math

import numpy as np
import pytest

from core._C import _kernels as K
from tests.kernels import reference as ref

ROW_SHAPES = [
    (1, 1), (1, 7), (3, 8), (2, 9), (3, 12), (1, 30), (5, 16), (7, 17), (2, 31), (13, 64), (4, 70), (3, 127),
    (17, 1500), (2, 4099),
]


def rows(rng, shape, pad=0, scale=3.0):
    buf = (scale * rng.standard_normal((shape[0], shape[1] + pad))).astype(np.float32)
    return buf[:, : shape[1]]


@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
@pytest.mark.parametrize("pad", [0, 5])
def test_softmax_and_log_softmax_match_numpy(isa, shape, pad):
    x = rows(np.random.default_rng(shape[1]), shape, pad)
    np.testing.assert_allclose(K.softmax(x, isa=isa), ref.softmax(x), rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(K.log_softmax(x, isa=isa), ref.log_softmax(x), rtol=1e-5, atol=2e-5)


def test_softmax_handles_large_logits_and_minus_infinity(isa):
    x = np.array([[1000.0, 999.0, -np.inf, 0.0], [-1e30, -1e30, -1e30, -1e30]], dtype=np.float32)
    y = K.softmax(x, isa=isa)
    np.testing.assert_allclose(y, ref.softmax(x), rtol=1e-5, atol=1e-7)
    assert y[0, 2] == 0.0
    np.testing.assert_allclose(K.log_softmax(x, isa=isa)[0, :2], ref.log_softmax(x)[0, :2], rtol=1e-6)


def test_softmax_far_below_the_max_is_exact_then_zero(isa):
    # exp(x - max) is computed for x - max <= 0 only; below e^-87.7 (where float32 turns subnormal) it is exactly
    # 0, so no subnormal enters the sum (dividing by the sum may still make one, as in numpy)
    x = np.concatenate([[0.0], -np.linspace(0.0, 120.0, 2401)[1:], [-np.inf]]).astype(np.float32)
    y = K.softmax(x[None, :], isa=isa)[0]
    exact = np.exp(x.astype(np.float64) - np.log(np.exp(x.astype(np.float64)).sum()))
    normal = exact > 1e-36
    np.testing.assert_allclose(y[normal], exact[normal], rtol=2e-6)
    assert np.all(y[x < -87.7] == 0) and np.all(y[x > -86.9] > 0)


def test_softmax_of_a_1d_array(isa):
    x = np.linspace(-4, 4, 23, dtype=np.float32)
    np.testing.assert_allclose(K.softmax(x, isa=isa), ref.softmax(x), rtol=2e-5, atol=1e-8)


@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_numpy_and_returns_mean_and_rstd(isa, shape, affine):
    rng = np.random.default_rng(shape[0] * 31 + shape[1])
    x = rows(rng, shape, pad=3) + 5.0
    w = rng.standard_normal(shape[1]).astype(np.float32) if affine else None
    b = rng.standard_normal(shape[1]).astype(np.float32) if affine else None
    y, mean, rstd = K.layer_norm(x, w, b, 1e-5, isa=isa)
    ey, emean, erstd = ref.layer_norm(x, w, b, 1e-5)
    np.testing.assert_allclose(mean, emean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rstd, erstd, rtol=1e-4)
    np.testing.assert_allclose(y, ey, rtol=1e-4, atol=1e-4)


def test_layer_norm_rejects_a_weight_of_the_wrong_length():
    with pytest.raises(ValueError, match="weight must have shape \\(4,\\)"):
        K.layer_norm(np.zeros((2, 4), np.float32), np.ones(3, np.float32))


UNARY_TOL = {"exp": (2e-6, 0.0), "relu": (0.0, 0.0), "gelu": (1e-5, 2e-7), "gelu_tanh": (1e-5, 2e-7),
             "sigmoid": (2e-6, 1e-8), "silu": (5e-6, 1e-7)}


@pytest.mark.parametrize("op", list(ref.UNARY))
@pytest.mark.parametrize("n", [1, 7, 8, 15, 16, 17, 31, 33, 57, 70, 1031, 40000])
def test_unary_kernels_match_numpy(isa, op, n):
    x = np.random.default_rng(n).uniform(-12, 12, n).astype(np.float32)
    rtol, atol = UNARY_TOL[op]
    np.testing.assert_allclose(K.unary(op, x, isa=isa), ref.UNARY[op](x), rtol=rtol, atol=atol)


def test_exp_keeps_its_special_values(isa):
    x = np.array([0.0, -np.inf, np.inf, np.nan, 89.0, -88.0, -110.0, 88.5], dtype=np.float32)
    y = K.unary("exp", x, isa=isa)
    assert y[0] == 1.0 and y[1] == 0.0 and y[2] == np.inf and np.isnan(y[3]) and y[4] == np.inf
    np.testing.assert_allclose(y[[5, 6, 7]], np.exp(x[[5, 6, 7]].astype(np.float64)), rtol=1e-5, atol=1e-40)


@pytest.mark.parametrize("op", ["gelu", "gelu_tanh"])
def test_gelu_at_the_infinities_and_far_tail_is_pytorchs(isa, op):
    # PyTorch: gelu(inf) = inf, gelu(-inf) = -inf * 0 = nan, NaN stays NaN; far out the value is 0 or -0
    x = np.array([np.inf, -np.inf, np.nan, -20.0, -14.0, 30.0] * 3, dtype=np.float32)
    y = K.unary(op, x, isa=isa)[:6]
    assert y[0] == np.inf and np.isnan(y[1]) and np.isnan(y[2]) and y[5] == 30.0
    assert abs(y[3]) < 1e-30 and abs(y[4]) < 1e-30


def test_gelu_far_tail_matches_without_forming_subnormals(isa):
    # the normal tail H is taken as 0 past x = -12.763 (its exp's scale underflows to exactly 0 there): the outputs
    # there are 0, never a subnormal, and every output before it matches the float64 reference to 4e-7 (the SIMD
    # layers square x inside an FMA; the scalar layer, without FMA, rounds the square: 4e-6)
    x = np.linspace(-40.0, 8.0, 6001, dtype=np.float32)
    y = K.unary("gelu", x, isa=isa)
    tiny = np.finfo(np.float32).tiny
    assert not np.any((y != 0) & (np.abs(y) < tiny))
    # the reference's 1 + erf cancels out here: erfc itself, in float64
    exact = np.array([0.5 * v * math.erfc(-v / math.sqrt(2.0)) for v in x.astype(np.float64)])
    kept = x > -12.7
    np.testing.assert_allclose(y[kept], exact[kept], rtol=1e-5 if isa == "scalar" else 1e-6)
    assert np.all(y[x < -12.8] == 0) and np.all(y[kept & (x < 0)] < 0)


def test_gelu_entry_point_chooses_the_form(isa):
    x = np.linspace(-6, 6, 101, dtype=np.float32)
    np.testing.assert_allclose(K.unary("gelu", x, isa=isa), ref.gelu(x), rtol=1e-5, atol=2e-7)
    np.testing.assert_allclose(K.unary("gelu_tanh", x, isa=isa), ref.gelu_tanh(x), rtol=1e-5, atol=2e-7)


@pytest.mark.parametrize("op", list(ref.BINARY))
@pytest.mark.parametrize("n", [1, 5, 16, 17, 70, 40001])
@pytest.mark.parametrize("scalar", [False, True])
def test_binary_kernels_match_numpy(isa, op, n, scalar):
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.uniform(0.5, 2.0, 1 if scalar else n).astype(np.float32)
    expect = ref.BINARY[op](a.astype(np.float64), b.astype(np.float64))
    np.testing.assert_allclose(K.binary(op, a, b, isa=isa), expect, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n", [0, 1, 7, 1023, 1024, 1025, 99991, 1 << 20])
def test_sum_matches_numpy(isa, n):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    assert K.sum(x, isa=isa) == pytest.approx(float(x.astype(np.float64).sum()), rel=1e-6, abs=1e-3)


@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
def test_sum_rows_matches_numpy(isa, shape):
    x = rows(np.random.default_rng(2), shape, pad=2)
    np.testing.assert_allclose(K.sum_rows(x, isa=isa), x.astype(np.float64).sum(axis=1), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_row_kernels_are_bit_identical_for_the_same_thread_count(isa, threads):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((257, 1031)).astype(np.float32)
    flat = rng.standard_normal(3_000_001).astype(np.float32)
    K.set_num_threads(threads)
    first = (K.softmax(x, isa=isa), K.layer_norm(x, isa=isa)[0], K.sum(flat, isa=isa), K.unary("gelu", flat, isa=isa))
    for _ in range(3):
        again = (K.softmax(x, isa=isa), K.layer_norm(x, isa=isa)[0], K.sum(flat, isa=isa),
                 K.unary("gelu", flat, isa=isa))
        assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
        assert first[2] == again[2] and np.array_equal(first[3], again[3])
