"""sgemm / dgemm / packed Linear against numpy in float64, on sizes that are not multiples of any tile."""
import ctypes
import mmap

import numpy as np
import pytest

from core._C import _kernels as K

# (M, N, K): tiny, primes, 1..70, tile edges (6x16, 12x32, 4x4), K blocks of 256 (AVX-512: 512), row blocks of 360
# (180) and column groups of 128 (256) with partial slivers at their ends, the 2048 panel edges.
SHAPES = [
    (1, 1, 1), (1, 70, 3), (70, 1, 5), (2, 3, 4), (5, 7, 11), (13, 17, 19), (31, 37, 41), (47, 53, 59),
    (61, 67, 70), (64, 64, 64), (6, 16, 256), (12, 32, 257), (65, 63, 513), (97, 193, 263), (7, 2053, 9),
    (367, 263, 300), (725, 131, 260), (2051, 5, 3),
]


def operand(rng, rows, cols, trans, pad):
    """A [rows, cols] operand stored as itself or as its transpose, inside a wider buffer when pad > 0."""
    stored = (cols, rows) if trans else (rows, cols)
    buf = rng.standard_normal((stored[0], stored[1] + pad)).astype(np.float32)
    view = buf[:, : stored[1]]
    return view, (view.T if trans else view).astype(np.float64)


def gemm_tol(k):
    return dict(rtol=1e-4, atol=3e-6 * max(k, 1))


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_sgemm_matches_numpy_for_odd_sizes_and_transposes(isa, shape, ta, tb):
    m, n, k = shape
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    a, a64 = operand(rng, m, k, ta, pad=0)
    b, b64 = operand(rng, k, n, tb, pad=0)
    c = K.sgemm(a, b, trans_a=ta, trans_b=tb, isa=isa)
    np.testing.assert_allclose(c, a64 @ b64, **gemm_tol(k))


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_sgemm_reads_strided_operands_and_accumulates_into_a_strided_output(isa, ta, tb):
    rng = np.random.default_rng(7)
    m, n, k = 37, 45, 300
    a, a64 = operand(rng, m, k, ta, pad=5)
    b, b64 = operand(rng, k, n, tb, pad=11)
    cbuf = rng.standard_normal((m, n + 3)).astype(np.float32)
    c = cbuf[:, :n]
    c0 = c.astype(np.float64)
    padding = cbuf[:, n:].copy()
    K.sgemm(a, b, trans_a=ta, trans_b=tb, alpha=0.5, beta=-2.0, c=c, isa=isa)
    np.testing.assert_allclose(c, 0.5 * (a64 @ b64) - 2.0 * c0, **gemm_tol(k))
    assert np.array_equal(cbuf[:, n:], padding)  # columns past n belong to someone else


def guarded_rows(rows, cols):
    """A float32 [rows, cols] array that ends exactly where an unreadable page begins: reading past its last element
    kills the process (the test then fails as a crash, not silently)."""
    page = mmap.PAGESIZE
    nbytes = rows * cols * 4
    span = (nbytes + page - 1) // page * page
    buf = mmap.mmap(-1, span + page)
    base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.mprotect(ctypes.c_void_p(base + span), page, 0) == 0  # PROT_NONE
    arr = np.frombuffer(buf, dtype=np.float32, count=rows * cols, offset=span - nbytes).reshape(rows, cols)
    return arr, buf


@pytest.mark.parametrize("shape", [(13, 64, 64), (1, 32, 9), (25, 40, 17), (181, 70, 600), (367, 300, 45)],
                         ids=lambda s: "x".join(map(str, s)))
def test_sgemm_reads_a_in_place_and_never_past_its_last_row(isa, shape):
    # an untransposed A is never packed: its rows are read where they lie, the last partial sliver with a tile of
    # only the rows that are left (the larger shapes cross the row blocks, the K blocks and the thread split)
    m, n, k = shape
    a, keep = guarded_rows(m, k)
    a[:] = np.random.default_rng(m).standard_normal((m, k)).astype(np.float32)
    b = np.random.default_rng(n).standard_normal((k, n)).astype(np.float32)
    c = K.sgemm(a, b, isa=isa)
    np.testing.assert_allclose(c, a.astype(np.float64) @ b.astype(np.float64), **gemm_tol(k))
    del a, c
    keep.close()


def test_sgemm_with_beta_zero_ignores_nan_in_the_output(isa):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((9, 5)).astype(np.float32)
    b = rng.standard_normal((5, 7)).astype(np.float32)
    c = np.full((9, 7), np.nan, dtype=np.float32)
    K.sgemm(a, b, beta=0.0, c=c, isa=isa)
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


def test_sgemm_with_empty_inner_dimension_scales_c(isa):
    c = np.ones((3, 4), dtype=np.float32)
    K.sgemm(np.zeros((3, 0), np.float32), np.zeros((0, 4), np.float32), beta=3.0, c=c, isa=isa)
    assert np.all(c == 3.0)


def test_sgemm_rejects_mismatched_inner_dimensions():
    with pytest.raises(ValueError, match="op\\(a\\) is 2 x 3 but op\\(b\\) is 4 x 5"):
        K.sgemm(np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32))


def test_sgemm_rejects_a_transposed_view_with_a_hint():
    with pytest.raises(ValueError, match="trans flag"):
        K.sgemm(np.zeros((4, 3), np.float32).T, np.zeros((4, 5), np.float32))


def test_unknown_isa_name_is_a_value_error():
    with pytest.raises(ValueError, match="unknown ISA 'sse9'"):
        K.sgemm(np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32), isa="sse9")


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_sgemm_is_bit_identical_across_runs_and_thread_counts(isa, threads):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((400, 257)).astype(np.float32)
    b = rng.standard_normal((257, 190)).astype(np.float32)
    K.set_num_threads(1)
    serial = K.sgemm(a, b, isa=isa)
    K.set_num_threads(threads)
    runs = [K.sgemm(a, b, isa=isa) for _ in range(3)]
    for r in runs:
        assert np.array_equal(r, serial)


@pytest.mark.parametrize("shape", [(1, 1, 1), (13, 17, 19), (70, 3, 64), (130, 90, 300)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, True), (False, True)])
def test_dgemm_matches_numpy(shape, ta, tb):
    m, n, k = shape
    rng = np.random.default_rng(11)
    a = rng.standard_normal((k, m) if ta else (m, k))
    b = rng.standard_normal((n, k) if tb else (k, n))
    c = rng.standard_normal((m, n))
    expect = 1.5 * ((a.T if ta else a) @ (b.T if tb else b)) + 0.25 * c
    K.dgemm(a, b, trans_a=ta, trans_b=tb, alpha=1.5, beta=0.25, c=c)
    np.testing.assert_allclose(c, expect, rtol=1e-12, atol=1e-12)


EPILOGUES = {
    "none": lambda y: y,
    "relu": lambda y: np.maximum(y, 0.0),
    "gelu": None,
    "gelu_tanh": None,
}


@pytest.mark.parametrize("epilogue", list(EPILOGUES))
@pytest.mark.parametrize("rows,out_f,in_f", [(1, 1, 1), (5, 33, 17), (70, 70, 70), (61, 384, 300), (3, 2050, 8)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_packed_matches_x_wt_plus_bias_then_activation(isa, epilogue, rows, out_f, in_f, with_bias):
    from tests.kernels import reference as ref

    rng = np.random.default_rng(rows + out_f + in_f)
    xbuf = rng.standard_normal((rows, in_f + 3)).astype(np.float32)
    x = xbuf[:, :in_f]
    w = rng.standard_normal((out_f, in_f)).astype(np.float32)
    bias = rng.standard_normal(out_f).astype(np.float32) if with_bias else None
    packed = K.pack_weight(w, isa=isa)
    assert (packed.out_features, packed.in_features, packed.isa) == (out_f, in_f, isa)
    y = K.linear_packed(x, packed, bias, epilogue)
    pre = x.astype(np.float64) @ w.T.astype(np.float64) + (0.0 if bias is None else bias)
    act = {"gelu": ref.gelu, "gelu_tanh": ref.gelu_tanh}.get(epilogue) or EPILOGUES[epilogue]
    np.testing.assert_allclose(y, act(pre), rtol=1e-4, atol=3e-6 * in_f + 1e-6)


@pytest.mark.parametrize("epilogue", ["none", "gelu"])
@pytest.mark.parametrize("rows,out_f,in_f", [(1, 1, 1), (5, 33, 17), (61, 384, 300), (400, 300, 40), (3, 2050, 8)])
def test_linear_packed_adds_the_residual_after_the_activation(isa, epilogue, rows, out_f, in_f):
    # the residual joins in the epilogue: exactly the sum of the product without it and the residual, for both
    # kinds of packed weight (the K = 0 product too)
    rng = np.random.default_rng(rows * 7 + out_f + in_f)
    w = half_exact(rng, out_f, in_f)
    x = rng.standard_normal((rows, in_f)).astype(np.float32)
    bias = rng.standard_normal(out_f).astype(np.float32)
    res = rng.standard_normal((rows, out_f)).astype(np.float32)
    for packed in (K.pack_weight(w, isa=isa), K.pack_weight_half(w, isa=isa)):
        plain = K.linear_packed(x, packed, bias, epilogue)
        np.testing.assert_array_equal(K.linear_packed(x, packed, bias, epilogue, res), plain + res)
        np.testing.assert_array_equal(K.linear_packed(x, packed, None, "none", res), K.linear_packed(x, packed) + res)
    empty = K.pack_weight(np.zeros((out_f, 0), np.float32), isa=isa)
    np.testing.assert_array_equal(K.linear_packed(np.zeros((rows, 0), np.float32), empty, bias, "none", res),
                                  bias + res)


def test_linear_packed_rejects_a_residual_of_another_shape():
    packed = K.pack_weight(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"residual must have shape \(2, 4\)"):
        K.linear_packed(np.zeros((2, 3), np.float32), packed, None, "none", np.zeros((2, 3), np.float32))


def test_linear_packed_rejects_wrong_feature_count():
    packed = K.pack_weight(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="x has 5 features, the weight expects 3"):
        K.linear_packed(np.zeros((2, 5), np.float32), packed)
    with pytest.raises(ValueError, match="epilogue must be one of"):
        K.linear_packed(np.zeros((2, 3), np.float32), packed, None, "swish")


def half_exact(rng, rows, cols):
    """A float32 weight every value of which is a float16, with the float16 extremes in its first row."""
    w = rng.standard_normal((rows, cols)).astype(np.float16)
    edge = np.array([2.0 ** -24, -(2.0 ** -14), 65504.0, -0.0, 3 * 2.0 ** -20], np.float16)[: cols]
    w[0, : len(edge)] = edge
    return w.astype(np.float32)


@pytest.mark.parametrize("epilogue", ["none", "gelu"])
@pytest.mark.parametrize("rows", [1, 2, 3, 4, 5, 6, 7, 13, 70])
@pytest.mark.parametrize("out_f,in_f", [(1, 1), (33, 17), (70, 300), (385, 513), (129, 256)])
def test_half_weight_gives_the_bits_of_the_float32_packed_product(isa, epilogue, rows, out_f, in_f):
    rng = np.random.default_rng(rows * 1000 + out_f + in_f)
    w = half_exact(rng, out_f, in_f)
    x = rng.standard_normal((rows, in_f + 2)).astype(np.float32)[:, :in_f]
    bias = rng.standard_normal(out_f).astype(np.float32)
    half = K.pack_weight_half(w, isa=isa)
    assert (half.out_features, half.in_features, half.isa) == (out_f, in_f, isa)
    expect = K.linear_packed(x, K.pack_weight(w, isa=isa), bias, epilogue)
    np.testing.assert_array_equal(K.linear_packed(x, half, bias, epilogue), expect)
    np.testing.assert_array_equal(K.linear_packed(x, half, None), K.linear_packed(x, K.pack_weight(w, isa=isa)))
    res = rng.standard_normal((rows, out_f)).astype(np.float32)
    np.testing.assert_array_equal(K.linear_packed(x, half, bias, epilogue, residual=res), expect + res)


def test_half_weight_is_bitwise_the_same_for_any_thread_count():
    rng = np.random.default_rng(3)
    w = half_exact(rng, 5000, 384)
    x = rng.standard_normal((5, 384)).astype(np.float32)
    half = K.pack_weight_half(w)
    K.set_num_threads(1)
    one = K.linear_packed(x, half)
    K.set_num_threads(2)
    np.testing.assert_array_equal(K.linear_packed(x, half), one)
    np.testing.assert_allclose(one, x.astype(np.float64) @ w.T.astype(np.float64), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("bad", [1.0 + 2.0 ** -11, 2.0 ** -25, 65520.0, 1e-40, np.nan])
def test_half_weight_refuses_a_value_that_is_not_a_float16(bad):
    w = np.ones((3, 4), np.float32)
    assert K.pack_weight_half(w) is not None
    w[2, 3] = bad
    assert K.pack_weight_half(w) is None


def test_half_weight_keeps_infinities_and_rejects_wrong_inputs():
    w = np.array([[np.inf, 2.0, 1.0], [-np.inf, 0.5, 1.0]], np.float32)
    y = K.linear_packed(np.array([[1.0, 1.0, 1.0]], np.float32), K.pack_weight_half(w))
    np.testing.assert_array_equal(y, [[np.inf, -np.inf]])
    half = K.pack_weight_half(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="x has 5 features, the weight expects 3"):
        K.linear_packed(np.zeros((2, 5), np.float32), half)
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        K.linear_packed(np.zeros((2, 3), np.float32), half, np.zeros(3, np.float32))
    empty = K.pack_weight_half(np.zeros((4, 0), np.float32))
    np.testing.assert_array_equal(K.linear_packed(np.zeros((2, 0), np.float32), empty, np.ones(4, np.float32)),
                                  np.ones((2, 4), np.float32))
