"""Behaviour of the nn ops beyond the per-op specs: float32 agrees with float64, dropout is reproducible from
core.manual_seed, attention works without grad, cross_entropy's mean ignores ignored targets."""
import numpy as np
import pytest

import core


def pair32(*shape):
    x = core.randn(*shape, dtype=core.float64)
    return x, x.float()


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "layer_norm", "conv2d", "conv1d", "max_pool2d",
                                  "avg_pool2d", "sdpa", "cross_entropy", "embedding"])
def test_float32_matches_float64(name):
    core.manual_seed(0)
    x64, x32 = pair32(2, 4, 6, 6)
    w64, w32 = pair32(3, 4, 3, 3)
    ops = {
        "softmax": lambda x, w: core.softmax(x, 1),
        "log_softmax": lambda x, w: core.log_softmax(x, -1),
        "layer_norm": lambda x, w: core.layer_norm(x, (6, 6)),
        "conv2d": lambda x, w: core.conv2d(x, w, stride=2, padding=1),
        "conv1d": lambda x, w: core.conv1d(x[:, :, 0], w[:, :, 0], padding="same"),
        "max_pool2d": lambda x, w: core.max_pool2d(x, 3, 2, 1),
        "avg_pool2d": lambda x, w: core.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
        "sdpa": lambda x, w: core.scaled_dot_product_attention(x, x, x, is_causal=True),
        "cross_entropy": lambda x, w: core.cross_entropy(x, core.tensor([[[1] * 6] * 6, [[3] * 6] * 6]),
                                                         label_smoothing=0.1),
        "embedding": lambda x, w: core.embedding(core.tensor([[0, 2], [2, 1]]), x[0, 0]),
    }
    y64, y32 = ops[name](x64, w64), ops[name](x32, w32)
    assert y32.dtype == core.float32
    np.testing.assert_allclose(y32.numpy(), y64.numpy(), atol=2e-5, rtol=1e-4)


def test_float32_gradients_flow():
    x = core.randn(2, 3, 8, 8, requires_grad=True)
    w = core.randn(4, 3, 3, 3, requires_grad=True)
    y = core.max_pool2d(core.relu(core.conv2d(x, w, padding=1)), 2)
    core.cross_entropy(y.reshape(2, -1)[:, :10], core.tensor([1, 7])).backward()
    assert x.grad.shape == (2, 3, 8, 8) and w.grad.shape == (4, 3, 3, 3)
    assert x.grad.dtype == core.float32 and float(w.grad.abs().sum()) > 0


def test_dropout_is_reproducible_from_manual_seed():
    x = core.ones(1000)
    core.manual_seed(11)
    a = core.dropout(x, 0.5).numpy()
    core.manual_seed(11)
    b = core.dropout(x, 0.5).numpy()
    c = core.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert set(np.unique(a)) == {0.0, 2.0}


def test_dropout_identity_when_not_training_and_zero_when_p_is_one():
    x = core.randn(5)
    assert core.dropout(x, 0.9, training=False) is x
    assert (core.dropout(x, 1.0).numpy() == 0).all()


def test_cross_entropy_mean_counts_only_targets_that_are_not_ignored():
    x = core.randn(4, 3, dtype=core.float64)
    full = core.cross_entropy(x, core.tensor([0, 1, 2, 1]), reduction="none").numpy()
    mean = core.cross_entropy(x, core.tensor([0, -100, 2, -100])).item()
    assert mean == pytest.approx((full[0] + full[2]) / 2, rel=1e-12)
    assert np.isnan(core.cross_entropy(x, core.tensor([-100] * 4)).item())


def test_attention_without_grad_matches_with_grad():
    q = core.randn(2, 2, 5, 4)
    out = core.scaled_dot_product_attention(q, q, q)
    qg = q.detach().requires_grad_()
    out_g = core.scaled_dot_product_attention(qg, qg, qg)
    np.testing.assert_array_equal(out.numpy(), out_g.detach().numpy())
    out_g.sum().backward()
    assert qg.grad.shape == (2, 2, 5, 4)


def test_softmax_method_defaults_match_pytorch_implicit_dim():
    x = core.randn(2, 3)
    np.testing.assert_allclose(x.softmax(1).numpy(), core.softmax(x, dim=1).numpy())
    np.testing.assert_allclose(x.softmax(-1).sum(-1).numpy(), np.ones(2), rtol=1e-6)


def test_max_pool2d_indices_point_at_the_maxima():
    x = core.randn(2, 3, 6, 6)
    values, indices = core.max_pool2d(x, 2, return_indices=True)
    flat = x.reshape(2, 3, 36).numpy()
    picked = np.take_along_axis(flat, indices.reshape(2, 3, 9).numpy(), -1)
    np.testing.assert_array_equal(picked, values.reshape(2, 3, 9).numpy())


def test_embedding_padding_row_gets_no_gradient():
    w = core.randn(6, 3, dtype=core.float64, requires_grad=True)
    ids = core.tensor([[5, 1, 5], [0, 5, 1]])
    (core.embedding(ids, w, padding_idx=5) * 2.0).sum().backward()
    expected = np.zeros((6, 3))
    expected[0], expected[1] = 2.0, 4.0
    np.testing.assert_array_equal(w.grad.numpy(), expected)


@pytest.mark.parametrize("queries", [1, 5, 40])
def test_attention_over_a_sliced_cache_reads_it_in_place_with_the_same_result(queries):
    # a decoder's key/value cache: a (B, H, capacity, d) buffer sliced to its filled positions
    core.manual_seed(1)
    keys, values = core.randn(2, 3, 64, 16), core.randn(2, 3, 64, 16)
    q = core.randn(2, 3, queries, 16)
    k, v = keys[:, :, :45], values[:, :, :45]
    assert not k.is_contiguous()
    F = core.nn.functional
    with core.no_grad():
        sliced = F.scaled_dot_product_attention(q, k, v).numpy()
        copied = F.scaled_dot_product_attention(q, k.contiguous(), v.contiguous()).numpy()
        transposed = F.scaled_dot_product_attention(q, k.transpose(2, 3).contiguous().transpose(2, 3), v).numpy()
    np.testing.assert_array_equal(sliced, copied)
    np.testing.assert_array_equal(transposed, copied)
    kg = keys.clone().requires_grad_()
    F.scaled_dot_product_attention(q, kg[:, :, :45], v).sum().backward()
    kc = keys[:, :, :45].contiguous().requires_grad_()
    F.scaled_dot_product_attention(q, kc, v).sum().backward()
    np.testing.assert_allclose(kg.grad.numpy()[:, :, :45], kc.grad.numpy(), rtol=1e-6, atol=1e-6)
    assert not kg.grad.numpy()[:, :, 45:].any()


@pytest.mark.parametrize("dtype", [core.float32, core.float64])
def test_attention_rows_with_every_key_masked_are_zero_with_zero_gradient_as_pytorch(dtype):
    # float32 takes the fused kernels, float64 the reference loop with its backward
    rng = np.random.default_rng(4)
    q = core.tensor(rng.standard_normal((1, 2, 3, 4)), dtype=dtype, requires_grad=True)
    k = core.tensor(rng.standard_normal((1, 2, 5, 4)), dtype=dtype, requires_grad=True)
    v = core.tensor(rng.standard_normal((1, 2, 5, 4)), dtype=dtype, requires_grad=True)
    keep = np.ones((3, 5), bool)
    keep[1] = False
    F = core.nn.functional
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=core.tensor(keep))
    values = out.detach().numpy()
    assert (values[:, :, 1] == 0).all() and np.isfinite(values).all()
    out.sum().backward()
    assert (q.grad.numpy()[:, :, 1] == 0).all()
    assert all(np.isfinite(t.grad.numpy()).all() for t in (q, k, v))
    empty = F.scaled_dot_product_attention(q.detach(), k.detach()[:, :, :0], v.detach()[:, :, :0])
    assert empty.shape == (1, 2, 3, 4) and (empty.numpy() == 0).all()
