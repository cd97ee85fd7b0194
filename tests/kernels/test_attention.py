"""Fused attention forward against the full-score-matrix reference in float64."""
import numpy as np
import pytest

from core._C import _kernels as K
from tests.kernels import reference as ref

CASES = [  # batch, heads, lq, lk, d, dv
    (1, 1, 1, 1, 1, 1), (1, 2, 7, 5, 3, 4), (2, 3, 17, 29, 16, 8), (1, 1, 70, 70, 64, 64), (1, 2, 65, 300, 64, 32),
    (2, 1, 131, 513, 40, 40), (1, 1, 3, 600, 8, 5),
    # the row path for short keys (<= 32) with many queries: a MiniLM-sized head, odd dims, values wider than
    # four vectors of any ISA, the threshold itself, and one key past it (the packed path)
    (2, 3, 20, 11, 32, 32), (1, 2, 12, 31, 7, 45), (1, 1, 9, 32, 33, 70), (1, 1, 40, 33, 8, 8),
    # the keys-transposed kernel (at least 4 queries, at most 4 vectors of keys) at each width of 1 to 4 vectors of
    # every ISA, query counts that leave row remainders, and 3 queries (the plain row kernel)
    (1, 1, 6, 3, 5, 7), (1, 2, 5, 4, 9, 9), (2, 1, 10, 16, 32, 32), (1, 2, 13, 19, 32, 32), (1, 1, 3, 12, 32, 32),
    # values of one, two and four whole vectors of each ISA (the weighted sums without tail checks)
    (1, 2, 9, 14, 16, 16), (1, 1, 7, 13, 8, 8), (1, 1, 11, 9, 64, 64),
]


def qkv(rng, b, h, lq, lk, d, dv):
    q = rng.standard_normal((b, h, lq, d)).astype(np.float32)
    k = rng.standard_normal((b, h, lk, d)).astype(np.float32)
    v = rng.standard_normal((b, h, lk, dv)).astype(np.float32)
    return q, k, v


@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c)))
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_matches_reference(isa, case, causal):
    b, h, lq, lk, d, dv = case
    if causal and lq > lk:
        pytest.skip("top-left causal with more queries than keys is exercised separately")
    q, k, v = qkv(np.random.default_rng(sum(case)), *case)
    out, lse = K.sdpa(q, k, v, causal=causal, isa=isa)
    eout, else_ = ref.attention(q, k, v, causal=causal)
    np.testing.assert_allclose(out, eout, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(lse, else_, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("keys", [290, 21], ids=["packed", "rows"])
@pytest.mark.parametrize("mask_shape", [(1, 1), (2, 1), (1, 3), (2, 3)])
def test_sdpa_adds_a_broadcast_float_mask_and_honours_scale(isa, mask_shape, keys):
    rng = np.random.default_rng(4)
    q, k, v = qkv(rng, 2, 3, 37, keys, 24, 24)
    mask = rng.standard_normal(mask_shape + (37, keys)).astype(np.float32)
    mask[..., 5:9] = -np.inf
    out, lse = K.sdpa(q, k, v, mask=mask, scale=0.3, isa=isa)
    eout, else_ = ref.attention(q, k, v, mask=mask, scale=0.3)
    np.testing.assert_allclose(out, eout, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(lse, else_, rtol=1e-5, atol=1e-5)


def test_sdpa_reads_strided_heads_without_a_copy(isa):
    # [batch, length, heads, dim] buffers viewed as [batch, heads, length, dim], as a fused QKV projection gives.
    rng = np.random.default_rng(9)
    qkv_buf = rng.standard_normal((2, 45, 3, 4, 16)).astype(np.float32)
    q, k, v = (qkv_buf[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
    assert not q.flags.c_contiguous
    out, _ = K.sdpa(q, k, v, causal=True, isa=isa)
    np.testing.assert_allclose(out, ref.attention(q, k, v, causal=True)[0], rtol=1e-4, atol=2e-5)


def test_sdpa_causal_is_top_left_aligned_for_longer_queries(isa):
    q, k, v = qkv(np.random.default_rng(2), 1, 2, 40, 9, 8, 8)
    out, _ = K.sdpa(q, k, v, causal=True, isa=isa)
    np.testing.assert_allclose(out, ref.attention(q, k, v, causal=True)[0], rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("lq, lk", [(3, 4), (12, 20), (12, 40)], ids=["few-queries", "short-keys", "packed"])
def test_sdpa_row_with_every_key_masked_is_zero_as_pytorch(isa, lq, lk):
    q, k, v = qkv(np.random.default_rng(1), 1, 1, lq, lk, 8, 8)
    mask = np.zeros((1, 1, lq, lk), np.float32)
    mask[0, 0, 1] = -np.inf
    out, lse = K.sdpa(q, k, v, mask=mask, isa=isa)
    assert (out[0, 0, 1] == 0).all() and lse[0, 0, 1] == -np.inf
    others = np.delete(np.arange(lq), 1)
    with np.errstate(invalid="ignore"):  # the reference's softmax of the masked row is 0 / 0
        expected = ref.attention(q, k, v, mask=mask)[0]
    np.testing.assert_allclose(out[0, 0, others], expected[0, 0, others], rtol=1e-4, atol=2e-5)



@pytest.mark.parametrize("lq, lk", [(150, 300), (30, 25)], ids=["packed", "rows"])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_sdpa_is_bit_identical_across_runs_and_thread_counts(isa, threads, lq, lk):
    q, k, v = qkv(np.random.default_rng(8), 2, 4, lq, lk, 32, 32)
    K.set_num_threads(1)
    serial = K.sdpa(q, k, v, causal=True, isa=isa)
    K.set_num_threads(threads)
    for _ in range(3):
        out, lse = K.sdpa(q, k, v, causal=True, isa=isa)
        assert np.array_equal(out, serial[0]) and np.array_equal(lse, serial[1])


def test_sdpa_rejects_mismatched_heads():
    q = np.zeros((1, 2, 3, 4), np.float32)
    with pytest.raises(ValueError, match="agree on batch and heads"):
        K.sdpa(q, np.zeros((1, 3, 3, 4), np.float32), np.zeros((1, 3, 3, 4), np.float32))


@pytest.mark.parametrize("lq", [1, 5, 8, 9])
def test_sdpa_few_queries_against_many_keys_with_a_mask_and_strided_heads(isa, lq):
    # decoding-step shapes: a few query rows against a window's keys, heads strided as split_heads leaves them
    rng = np.random.default_rng(lq)
    q = rng.standard_normal((2, lq, 3, 40)).astype(np.float32).transpose(0, 2, 1, 3)
    kv = rng.standard_normal((2, 1500, 2, 3, 40)).astype(np.float32)
    k, v = (kv[:, :, i].transpose(0, 2, 1, 3) for i in range(2))
    mask = rng.standard_normal((2, 1, lq, 1500)).astype(np.float32)
    mask[..., :7] = -np.inf
    out, lse = K.sdpa(q, k, v, mask=mask, scale=0.2, isa=isa)
    eout, else_ = ref.attention(q, k, v, mask=mask, scale=0.2)
    np.testing.assert_allclose(out, eout, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(lse, else_, rtol=1e-5, atol=1e-5)
