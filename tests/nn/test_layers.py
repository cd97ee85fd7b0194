"""Each layer against its numpy float64 definition (tests/nn/reference.py), forward and a backward smoke check."""
import math

import numpy as np
import pytest

import core
import core.nn as nn
import core.nn.functional as F
from tests.nn import reference as ref

ATOL, RTOL = 1e-10, 1e-9


def t64(a, requires_grad=False):
    return core.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def np_(t):
    return t.detach().numpy()


def params(module):
    return {n: p.detach().numpy() for n, p in module.named_parameters()}


@pytest.fixture(autouse=True)
def _seed():
    core.manual_seed(0)


def test_linear_matches_numpy_and_backpropagates():
    fc = nn.Linear(5, 3).double()
    x = np.random.default_rng(0).normal(size=(2, 4, 5))
    p = params(fc)
    xt = t64(x, requires_grad=True)
    y = fc(xt)
    np.testing.assert_allclose(np_(y), x @ p["weight"].T + p["bias"], atol=ATOL, rtol=RTOL)
    y.sum().backward()
    np.testing.assert_allclose(fc.bias.grad.numpy(), np.full(3, 8.0))
    np.testing.assert_allclose(xt.grad.numpy(), np.broadcast_to(p["weight"].sum(0), x.shape), atol=ATOL)


def test_linear_without_bias():
    fc = nn.Linear(3, 2, bias=False).double()
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(np_(fc(t64(x))), x @ params(fc)["weight"].T, atol=ATOL)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(stride=2, padding=1),
    dict(padding=2, dilation=2),
    dict(groups=2, padding=1),
    dict(bias=False),
])
def test_conv2d_matches_numpy(kw):
    conv = nn.Conv2d(4, 6, kernel_size=3, **kw).double()
    x = np.random.default_rng(1).normal(size=(2, 4, 7, 6))
    p = params(conv)
    expected = ref.conv2d(x, p["weight"], p.get("bias"), conv.stride, conv.padding, conv.dilation, conv.groups)
    np.testing.assert_allclose(np_(conv(t64(x))), expected, atol=ATOL, rtol=RTOL)


def test_conv2d_same_padding_keeps_the_size_and_trains():
    conv = nn.Conv2d(2, 3, kernel_size=(3, 5), padding="same").double()
    x = t64(np.random.default_rng(2).normal(size=(1, 2, 6, 6)), requires_grad=True)
    y = conv(x)
    assert y.shape == (1, 3, 6, 6)
    expected = ref.conv2d(x.detach().numpy(), params(conv)["weight"], params(conv)["bias"], padding=(1, 2))
    np.testing.assert_allclose(np_(y), expected, atol=ATOL, rtol=RTOL)
    y.sum().backward()
    assert conv.weight.grad.shape == conv.weight.shape and x.grad.shape == x.shape


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=3, padding=3, groups=3)])
def test_conv1d_matches_numpy(kw):
    conv = nn.Conv1d(3, 6, kernel_size=3, **kw).double()
    x = np.random.default_rng(3).normal(size=(2, 3, 11))
    p = params(conv)
    expected = ref.conv1d(x, p["weight"], p["bias"], conv.stride[0], conv.padding[0], conv.dilation[0], conv.groups)
    np.testing.assert_allclose(np_(conv(t64(x))), expected, atol=ATOL, rtol=RTOL)


def test_conv_arguments_are_checked():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(3, 4, (3, 3, 3))
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv1d(3, 4, 3, padding_mode="reflect")


def test_conv_default_init_bound_and_repr():
    conv = nn.Conv2d(8, 4, kernel_size=3, padding=1)
    bound = 1 / math.sqrt(8 * 9)
    assert np.abs(np_(conv.weight)).max() <= bound and np.abs(np_(conv.bias)).max() <= bound
    assert repr(conv) == "Conv2d(8, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"


def test_pooling_matches_numpy():
    x = np.random.default_rng(4).normal(size=(2, 3, 6, 8))
    np.testing.assert_allclose(np_(nn.MaxPool2d(2)(t64(x))), ref.pool2d(x, 2, 2, np.max))
    np.testing.assert_allclose(np_(nn.AvgPool2d(3, stride=1)(t64(x))), ref.pool2d(x, 3, 1, np.mean), atol=ATOL)


@pytest.mark.parametrize("shape", [(6,), (3, 6)])
def test_layer_norm_matches_numpy(shape):
    ln = nn.LayerNorm(shape, eps=1e-6).double()
    rng = np.random.default_rng(5)
    with core.no_grad():
        ln.weight.copy_(t64(rng.normal(size=shape)))
        ln.bias.copy_(t64(rng.normal(size=shape)))
    x = rng.normal(size=(2, 4) + shape) * 3 + 1
    expected = ref.layer_norm(x, shape, np_(ln.weight), np_(ln.bias), 1e-6)
    np.testing.assert_allclose(np_(ln(t64(x))), expected, atol=1e-9, rtol=1e-9)


def test_layer_norm_defaults_and_no_affine():
    ln = nn.LayerNorm(4)
    assert np_(ln.weight).tolist() == [1] * 4 and np_(ln.bias).tolist() == [0] * 4
    plain = nn.LayerNorm(4, elementwise_affine=False)
    assert list(plain.parameters()) == []
    x = np.random.default_rng(6).normal(size=(3, 4))
    np.testing.assert_allclose(np_(plain.double()(t64(x))), ref.layer_norm(x, (4,)), atol=1e-9)
    assert repr(ln) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"


def test_embedding_looks_up_rows_and_padding_row_gets_no_gradient():
    emb = nn.Embedding(10, 3, padding_idx=0).double()
    table = np_(emb.weight)
    assert np.all(table[0] == 0)
    ids = np.array([[1, 0, 4], [4, 9, 0]])
    y = emb(core.tensor(ids))
    np.testing.assert_array_equal(np_(y), table[ids])
    y.sum().backward()
    grad = emb.weight.grad.numpy()
    assert np.all(grad[0] == 0) and grad[4].tolist() == [2, 2, 2] and grad[2].tolist() == [0, 0, 0]


def test_embedding_from_pretrained_is_frozen():
    emb = nn.Embedding.from_pretrained(core.ones(4, 2))
    assert not emb.weight.requires_grad and emb.num_embeddings == 4
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)


def test_dropout_is_identity_in_eval_and_scales_survivors_in_training():
    drop = nn.Dropout(0.25)
    x = core.ones(100, 100)
    y = np_(drop(x))
    kept = y != 0
    assert 0.72 < kept.mean() < 0.78
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    drop.eval()
    assert np_(drop(x)).min() == 1.0
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


def test_dropout_masks_follow_the_seed():
    core.manual_seed(9)
    a = np_(F.dropout(core.ones(50), 0.5))
    core.manual_seed(9)
    np.testing.assert_array_equal(a, np_(F.dropout(core.ones(50), 0.5)))


@pytest.mark.parametrize("module, fn", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.GELU(), ref.gelu),
    (nn.GELU("tanh"), lambda x: ref.gelu(x, "tanh")),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Softmax(dim=1), lambda x: ref.softmax(x, axis=1)),
    (nn.Identity(54), lambda x: x),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "")
def test_activations_match_numpy(module, fn):
    x = np.random.default_rng(7).normal(size=(3, 5, 4)) * 3
    np.testing.assert_allclose(np_(module(t64(x))), fn(x), atol=1e-12, rtol=1e-10)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


def test_relu_inplace_writes_its_input():
    x = core.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x) is x and np_(x).tolist() == [0.0, 2.0]


def test_flatten():
    assert nn.Flatten()(core.zeros(2, 3, 4, 5)).shape == (2, 60)
    assert nn.Flatten(0, 1)(core.zeros(2, 3, 4)).shape == (6, 4)


def test_functional_losses_match_numpy():
    rng = np.random.default_rng(8)
    logits, target = rng.normal(size=(4, 5)), np.array([0, 3, 4, 1])
    logp = np.log(ref.softmax(logits))
    expected = -logp[np.arange(4), target].mean()
    assert F.cross_entropy(t64(logits), core.tensor(target)).item() == pytest.approx(expected, rel=1e-12)
    smooth = 0.9 * -logp[np.arange(4), target] + 0.1 * -logp.mean(axis=1)
    got = F.cross_entropy(t64(logits), core.tensor(target), label_smoothing=0.1).item()
    assert got == pytest.approx(smooth.mean(), rel=1e-12)
    a, b = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    assert F.mse_loss(t64(a), t64(b)).item() == pytest.approx(((a - b) ** 2).mean(), rel=1e-12)
    np.testing.assert_allclose(np_(F.log_softmax(t64(logits), dim=1)), logp, atol=1e-12)


def test_batch_norm_trains_on_batch_statistics_and_evaluates_on_running_ones():
    rng = np.random.default_rng(3)
    bn = nn.BatchNorm2d(3, momentum=0.25).double()
    assert sorted(bn.state_dict()) == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"]
    batches = [rng.standard_normal((4, 3, 2, 5)) * 2 + 1 for _ in range(3)]
    mean, var = np.zeros(3), np.ones(3)
    for x in batches:
        out = bn(core.tensor(x, dtype=core.float64)).detach().numpy()
        mu, sd = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
        np.testing.assert_allclose(out, (x - mu[:, None, None]) / np.sqrt(sd[:, None, None] ** 2 + 1e-5), atol=1e-9)
        mean = 0.75 * mean + 0.25 * mu
        var = 0.75 * var + 0.25 * x.var(axis=(0, 2, 3), ddof=1)  # the running variance is the unbiased one
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype == core.int64
    bn.eval()
    x = batches[0][:1]
    expected = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
    np.testing.assert_allclose(bn(core.tensor(x, dtype=core.float64)).detach().numpy(), expected, atol=1e-9)
    assert bn.num_batches_tracked.item() == 3  # eval leaves the statistics alone


def test_batch_norm_momentum_none_averages_every_batch_and_untracked_always_uses_the_batch():
    cumulative = nn.BatchNorm1d(2, momentum=None)
    for value in (1.0, 3.0, 8.0):
        cumulative(core.tensor([[value, 0.0], [value, 2.0]]))
    assert cumulative.running_mean.tolist() == pytest.approx([4.0, 1.0])
    untracked = nn.BatchNorm1d(2, affine=False, track_running_stats=False).eval()
    assert untracked.running_mean is None and list(untracked.state_dict()) == []
    out = untracked(core.tensor([[0.0, 1.0], [2.0, 3.0]]))
    np.testing.assert_allclose(out.numpy(), [[-1.0, -1.0], [1.0, 1.0]], atol=1e-4)


def test_norm_layers_check_their_input():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input, got shape \(2, 3\)"):
        nn.BatchNorm2d(3)(core.ones(2, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 3 channels \(dim 1\), got shape \(2, 4\)"):
        nn.BatchNorm1d(3)(core.ones(2, 4))
    with pytest.raises(ValueError, match="expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(core.ones(1, 3))
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by num_groups \(2\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match=r"GroupNorm: expected input \(N, 4, \.\.\.\), got shape \(2, 3, 5\)"):
        nn.GroupNorm(2, 4)(core.ones(2, 3, 5))
    gn = nn.GroupNorm(2, 4)
    assert [n for n, _ in gn.named_parameters()] == ["weight", "bias"] and gn.weight.tolist() == [1.0] * 4


def test_softmax_third_positional_argument_is_pytorchs_stacklevel():
    x = core.tensor([[1.0, 2.0, 3.0]])
    for f in (F.softmax, F.log_softmax):
        assert f(x, 1, 3).tolist() == f(x, 1).tolist()  # PyTorch's _stacklevel, unused
        assert f(x, 1, dtype=core.float64).dtype == core.float64
