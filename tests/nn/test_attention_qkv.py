"""core._C.attention_qkv (self-attention read in place from a fused q/k/v projection) against a float64 numpy
reference: both kernel paths (short and long key sets), odd sizes, broadcast masks, strided inputs, errors."""
import numpy as np
import pytest

import core
from core import _C
from tests.kernels import reference as ref


def split_heads(qkv, heads):
    """[B, T, 3H] -> q, k, v as [B, heads, T, D]."""
    b, t, width = qkv.shape
    d = width // 3 // heads
    parts = qkv.reshape(b, t, 3, heads, d).transpose(2, 0, 3, 1, 4)
    return parts[0], parts[1], parts[2]


def expected(qkv, heads, mask=None, scale=None):
    q, k, v = split_heads(qkv, heads)
    out, _ = ref.attention(q, k, v, mask=mask, scale=scale)
    b, _, t, _ = out.shape
    return out.transpose(0, 2, 1, 3).reshape(b, t, -1)


def random_qkv(seed, b, t, heads, d):
    return np.random.default_rng(seed).standard_normal((b, t, 3 * heads * d)).astype(np.float32)


@pytest.mark.parametrize("b, t, heads, d", [(1, 1, 1, 1), (2, 11, 12, 32), (3, 7, 2, 5), (1, 9, 3, 33),
                                            (2, 40, 4, 16), (1, 70, 1, 24)],
                         ids=lambda v: str(v))
def test_attention_qkv_matches_the_reference_on_odd_and_model_sizes(b, t, heads, d):
    qkv = random_qkv(b * t + d, b, t, heads, d)
    out = _C.attention_qkv(core.tensor(qkv), heads).numpy()
    assert out.shape == (b, t, heads * d) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected(qkv, heads), rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("t", [12, 45], ids=["rows", "packed"])
@pytest.mark.parametrize("mask_shape", [(2, 1, 1, -1), (-1, -1), (2, 3, -1, -1), (1, -1), (2, 1, 1, 1)],
                         ids=["padding", "square", "per-head", "one-row", "one-key"])
def test_attention_qkv_adds_a_broadcast_additive_mask(t, mask_shape):
    qkv = random_qkv(t, 2, t, 3, 8)
    shape = tuple(t if s == -1 else s for s in mask_shape)
    rng = np.random.default_rng(7)
    mask = rng.standard_normal(shape).astype(np.float32)
    if shape[-1] == t:
        mask[..., t - 3:] = np.finfo(np.float32).min  # padded keys, as zoo.text.bert's attention_bias writes them
    out = _C.attention_qkv(core.tensor(qkv), 3, core.tensor(mask)).numpy()
    np.testing.assert_allclose(out, expected(qkv, 3, mask), rtol=1e-4, atol=2e-5)


def test_attention_qkv_reads_strided_rows_and_a_transposed_mask_and_honours_scale():
    wide = random_qkv(5, 2, 13, 4, 8)
    wide = np.concatenate([wide, np.full((2, 13, 5), 7.0, np.float32)], axis=2)  # rows 3H + 5 floats apart
    view = core.tensor(wide)[:, :, :96]
    mask = np.random.default_rng(6).standard_normal((13, 13)).astype(np.float32)
    out = _C.attention_qkv(view, 4, core.tensor(mask).t(), scale=0.2).numpy()
    np.testing.assert_allclose(out, expected(wide[:, :, :96], 4, mask.T, scale=0.2), rtol=1e-4, atol=2e-5)


def test_attention_qkv_of_an_empty_batch_is_empty():
    assert _C.attention_qkv(core.zeros(0, 5, 12), 2).shape == (0, 5, 4)


def test_attention_qkv_rejects_bad_input_with_the_values():
    qkv = core.zeros(2, 5, 12)
    with pytest.raises(ValueError, match=r"must be 3-d \[batch, length, 3 \* hidden\], got shape \(5, 12\)"):
        _C.attention_qkv(core.zeros(5, 12), 2)
    with pytest.raises(ValueError, match=r"qkv \(12\) must be a positive multiple of 3 \* num_heads \(15\)"):
        _C.attention_qkv(qkv, 5)
    with pytest.raises(ValueError, match="num_heads must be >= 1"):
        _C.attention_qkv(qkv, 0)
    with pytest.raises(TypeError, match="qkv must be float32, got float64"):
        _C.attention_qkv(qkv.double(), 2)
    with pytest.raises(TypeError, match="mask must be an additive float32 tensor, got bool"):
        _C.attention_qkv(qkv, 2, core.ones(5, 5).bool())
    with pytest.raises(ValueError, match=r"mask of shape \(3, 5\) does not broadcast to the scores' shape "
                                         r"\(2, 2, 5, 5\)"):
        _C.attention_qkv(qkv, 2, core.zeros(3, 5))
