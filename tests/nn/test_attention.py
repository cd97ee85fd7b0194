"""MultiheadAttention against a numpy float64 reference: layouts, masks, per-head weights, the sdpa path."""
import numpy as np
import pytest

import core
import core.nn as nn
from tests.nn import reference as ref

E, H, N, L, S = 8, 2, 3, 4, 5


def mha(**kw):
    core.manual_seed(0)
    m = nn.MultiheadAttention(E, H, **kw).double()
    rng = np.random.default_rng(1)
    with core.no_grad():  # non-zero biases so that every term of the reference is exercised
        if m.in_proj_bias is not None:
            m.in_proj_bias.copy_(core.tensor(rng.normal(size=3 * E)))
            m.out_proj.bias.copy_(core.tensor(rng.normal(size=E)))
    return m


def reference(m, q, k, v, **masks):
    p = {n: t.detach().numpy() for n, t in m.named_parameters()}
    return ref.multihead_attention(q, k, v, p["in_proj_weight"], p.get("in_proj_bias"), p["out_proj.weight"],
                                   p.get("out_proj.bias"), H, **masks)


def inputs(seed=2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, L, E)), rng.normal(size=(N, S, E)), rng.normal(size=(N, S, E))


def t(a):
    return core.tensor(a)


def test_default_init_is_pytorchs():
    m = nn.MultiheadAttention(E, H)
    assert m.in_proj_weight.shape == (3 * E, E) and m.out_proj.weight.shape == (E, E)
    assert np.all(m.in_proj_bias.detach().numpy() == 0) and np.all(m.out_proj.bias.detach().numpy() == 0)
    bound = np.sqrt(6 / (3 * E + E))
    assert np.abs(m.in_proj_weight.detach().numpy()).max() <= bound
    assert [n for n, _ in m.named_parameters()] == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                    "out_proj.bias"]


def test_batch_first_matches_numpy_with_averaged_weights():
    m = mha(batch_first=True)
    q, k, v = inputs()
    out, w = m(t(q), t(k), t(v))
    ref_out, ref_w = reference(m, q, k, v)
    np.testing.assert_allclose(out.detach().numpy(), ref_out, atol=1e-10)
    np.testing.assert_allclose(w.detach().numpy(), ref_w.mean(axis=1), atol=1e-12)
    assert out.shape == (N, L, E) and w.shape == (N, L, S)


def test_sequence_first_layout_is_the_default():
    m = mha()
    q, k, v = inputs()
    out, _ = m(t(q.transpose(1, 0, 2)), t(k.transpose(1, 0, 2)), t(v.transpose(1, 0, 2)))
    np.testing.assert_allclose(out.detach().numpy(), reference(m, q, k, v)[0].transpose(1, 0, 2), atol=1e-10)


def test_per_head_weights():
    m = mha(batch_first=True)
    q, k, v = inputs()
    _, w = m(t(q), t(k), t(v), average_attn_weights=False)
    np.testing.assert_allclose(w.detach().numpy(), reference(m, q, k, v)[1], atol=1e-12)


def test_key_padding_mask_bool_and_float():
    m = mha(batch_first=True)
    q, k, v = inputs()
    pad = np.zeros((N, S), dtype=bool)
    pad[0, 3:] = True
    pad[2, 0] = True
    out, w = m(t(q), t(k), t(v), key_padding_mask=t(pad))
    ref_out, ref_w = reference(m, q, k, v, key_padding_mask=pad)
    np.testing.assert_allclose(out.detach().numpy(), ref_out, atol=1e-10)
    assert np.all(w.detach().numpy()[0, :, 3:] == 0)
    fpad = np.where(pad, -1e9, 0.0)
    out_f, _ = m(t(q), t(k), t(v), key_padding_mask=t(fpad))
    np.testing.assert_allclose(out_f.detach().numpy(), ref_out, atol=1e-8)


def test_attn_mask_2d_and_per_head_3d():
    m = mha(batch_first=True)
    q, k, v = inputs()
    rng = np.random.default_rng(3)
    mask2 = rng.random((L, S)) < 0.3
    mask2[:, 0] = False  # every query keeps at least one key
    out, _ = m(t(q), t(k), t(v), attn_mask=t(mask2))
    np.testing.assert_allclose(out.detach().numpy(), reference(m, q, k, v, attn_mask=mask2)[0], atol=1e-10)
    mask3 = rng.normal(size=(N * H, L, S))
    out, w = m(t(q), t(k), t(v), attn_mask=t(mask3), average_attn_weights=False)
    ref_out, ref_w = reference(m, q, k, v, attn_mask=mask3)
    np.testing.assert_allclose(out.detach().numpy(), ref_out, atol=1e-10)
    np.testing.assert_allclose(w.detach().numpy(), ref_w, atol=1e-12)


def test_need_weights_false_takes_the_fused_path_and_agrees():
    m = mha(batch_first=True)
    q, k, v = inputs()
    pad = np.zeros((N, S), dtype=bool)
    pad[1, -2:] = True
    mask = np.random.default_rng(4).normal(size=(L, S))
    out, w = m(t(q), t(k), t(v), key_padding_mask=t(pad), attn_mask=t(mask), need_weights=False)
    assert w is None
    np.testing.assert_allclose(out.detach().numpy(), reference(m, q, k, v, key_padding_mask=pad, attn_mask=mask)[0],
                               atol=1e-10)


def test_is_causal_masks_future_positions():
    m = mha(batch_first=True)
    x = inputs()[0]
    causal = np.triu(np.ones((L, L), dtype=bool), k=1)
    out, w = m(t(x), t(x), t(x), is_causal=True)
    np.testing.assert_allclose(out.detach().numpy(), reference(m, x, x, x, attn_mask=causal)[0], atol=1e-10)
    assert np.all(np.triu(w.detach().numpy()[0], k=1) == 0)


def test_unbatched_input():
    m = mha()
    q, k, v = inputs()
    out, w = m(t(q[0]), t(k[0]), t(v[0]))
    np.testing.assert_allclose(out.detach().numpy(), reference(m, q, k, v)[0][0], atol=1e-10)
    assert w.shape == (L, S)


def test_no_bias():
    m = mha(bias=False, batch_first=True)
    assert m.in_proj_bias is None and m.out_proj.bias is None
    q, k, v = inputs()
    np.testing.assert_allclose(m(t(q), t(k), t(v))[0].detach().numpy(), reference(m, q, k, v)[0], atol=1e-10)


def test_gradients_reach_every_parameter():
    m = mha(batch_first=True)
    q, k, v = inputs()
    out, _ = m(t(q), t(k), t(v))
    out.sum().backward()
    assert all(p.grad is not None and np.abs(p.grad.numpy()).sum() > 0 for p in m.parameters())


def test_dropout_only_in_training():
    m = mha(batch_first=True, dropout=0.5)
    q, k, v = inputs()
    m.eval()
    np.testing.assert_allclose(m(t(q), t(k), t(v))[0].detach().numpy(), reference(m, q, k, v)[0], atol=1e-10)
    m.train()
    assert not np.allclose(m(t(q), t(k), t(v))[0].detach().numpy(), reference(m, q, k, v)[0])


def test_shape_errors_are_clear():
    m = mha(batch_first=True)
    q, k, v = inputs()
    with pytest.raises(ValueError, match="embed_dim 8"):
        m(t(q[..., :4]), t(k), t(v))
    with pytest.raises(ValueError, match="key_padding_mask must have shape"):
        m(t(q), t(k), t(v), key_padding_mask=core.zeros(N, L, dtype=core.bool))
    with pytest.raises(ValueError, match="attn_mask must have shape"):
        m(t(q), t(k), t(v), attn_mask=core.zeros(L, L))
    with pytest.raises(ValueError, match="multiple of num_heads"):
        nn.MultiheadAttention(10, 3)
