"""Behaviours a differential sweep against PyTorch 2.13 found different here; each test pins PyTorch's."""
from collections import OrderedDict

import numpy as np
import pytest

import core
import core.nn as nn
import core.nn.functional as F


@pytest.mark.parametrize("base", [2, 2.0, "tensor"])
def test_pow_with_only_the_exponent_requiring_grad(base):
    # this backward read an operand its node had not kept and crashed the process
    x = core.tensor([0.5, 1.0, 2.0], requires_grad=True)
    b = core.tensor(2.0) if base == "tensor" else base
    (b ** x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 ** np.array([0.5, 1.0, 2.0]) * np.log(2.0), rtol=1e-6)
    x.grad = None
    core.pow(b if base != 2 else 2.0, x).sum().backward()
    assert x.grad is not None


def test_relu_keeps_nan_in_every_path():
    x = core.tensor([float("nan"), -1.0, 2.0])
    for out in (F.relu(x), x.relu(), nn.ReLU()(x), F.relu(x.clone(), inplace=True), x.double().relu()):
        r = out.tolist()
        assert np.isnan(r[0]) and r[1:] == [0.0, 2.0]
    layer = nn.Linear(2, 3).eval()  # the GEMM epilogue's relu
    with core.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.fill_(0.0)
        y = layer.forward_act(core.tensor([[float("nan"), 1.0], [-1.0, -1.0]]), "relu")
    assert np.isnan(y[0].numpy()).all() and y[1].tolist() == [0.0] * 3


def test_a_numpy_number_on_the_left_keeps_the_graph():
    x = core.tensor([1.0, 2.0], requires_grad=True)
    loss = (x ** 2).sum()
    scaled = np.float64(0.5) * loss
    assert isinstance(scaled, core.Tensor) and scaled.dtype == core.float32 and scaled.grad_fn is not None
    scaled.backward()
    assert x.grad.tolist() == [1.0, 2.0]
    y = np.float32(3) - x * 2
    assert isinstance(y, core.Tensor) and y.requires_grad and y.tolist() == [1.0, -1.0]
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(x)  # as x.numpy(): refused in grad mode
    with core.no_grad():
        assert np.asarray(x).tolist() == [1.0, 2.0]
    assert (np.arange(2) + core.tensor([1, 1])).tolist() == [1, 2]  # a Tensor (PyTorch 2.13 raises TypeError)


def test_grad_accumulates_in_place():
    x = core.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert g.tolist() == [5.0, 5.0] and g._shares_storage(x.grad)  # the earlier reference sees the sum


def test_grad_accumulates_in_place_in_float64_and_from_a_broadcast_gradient():
    x = core.tensor([1.0, 2.0], dtype=core.float64, requires_grad=True)
    (x * 2).sum().backward()
    g = x.grad
    (x * x).sum().backward()
    assert g.tolist() == [4.0, 6.0] and g.dtype == core.float64 and g._shares_storage(x.grad)
    y = core.tensor([[1.0, 2.0]], requires_grad=True)
    y.sum().backward()
    y.expand(3, 2).sum().backward()  # the gradient reaching y is a sum over the expanded rows
    assert y.grad.tolist() == [[4.0, 4.0]]


def test_accumulating_into_a_grad_a_graph_saved_is_seen_as_an_in_place_change():
    # as in PyTorch: the accumulation writes the old .grad, so a graph that saved it refuses to backward
    x = core.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    w = core.tensor([1.0, 1.0], requires_grad=True)
    y = (w * x.grad).sum()  # saves x.grad for w's gradient
    (x * 3).sum().backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_a_submodule_at_two_paths_is_in_the_state_dict_at_both():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared = nn.Linear(2, 2)
            self.seq = nn.Sequential(self.shared, nn.ReLU(), self.shared)

    net = Net()
    assert list(net.state_dict()) == ["shared.weight", "shared.bias", "seq.0.weight", "seq.0.bias",
                                      "seq.2.weight", "seq.2.bias"]
    assert len(list(net.parameters())) == 2  # parameters() still counts each once
    other = Net()
    other.load_state_dict(OrderedDict(net.state_dict()))  # strict: every path present
    assert other.shared.weight.tolist() == net.shared.weight.tolist()


def test_sign_of_a_bool_tensor_is_itself_as_bool():
    b = core.tensor([True, False])
    out = core.sign(b)
    assert out.dtype == core.bool and out.tolist() == [True, False]
    assert core.sign(core.tensor(True)).tolist() is True


@pytest.mark.parametrize("bounds, expected, dtype", [
    ((0, 1), [1, 0], "int64"), ((2, None), [2, 2], "int64"), ((None, 0), [0, 0], "int64"),
    ((3, 1), [1, 1], "int64"), ((True, 2), [1, 1], "int64"), ((0.5, None), [1.0, 0.5], "float32"),
])
def test_clamp_of_a_bool_tensor_promotes_as_pytorch(bounds, expected, dtype):
    out = core.clamp(core.tensor([True, False]), *bounds)
    assert out.dtype == getattr(core, dtype) and out.tolist() == expected


def test_clamp_of_a_bool_tensor_with_bool_bounds_is_refused():
    with pytest.raises(TypeError, match="bool"):
        core.clamp(core.tensor([True, False]), False, True)


@pytest.mark.parametrize("index_shape", [(0,), (0, 1, 1)])
def test_an_empty_index_of_other_rank_gathers_and_scatters_nothing(index_shape):
    x = core.arange(6.0).reshape(2, 3)
    idx = core.zeros(index_shape, dtype=core.int64)
    got = core.gather(x, 1, idx)
    assert tuple(got.shape) == index_shape and got.dtype == core.float32
    for out in (core.scatter(x, 1, idx, core.ones(index_shape)), core.scatter(x, 1, idx, core.ones(2, 3)),
                core.scatter_add(x, 1, idx, core.ones(index_shape)), core.scatter(x, 1, idx, 2.0)):
        assert out.tolist() == x.tolist()
    assert tuple(core.gather(core.tensor(3.0), 0, idx).shape) == index_shape
    with pytest.raises(IndexError):
        core.gather(x, 2, idx)  # the dim is still checked against the input
    with pytest.raises(TypeError, match="dtype"):
        core.scatter(x, 1, idx, core.ones(index_shape, dtype=core.float64))


def test_gather_with_an_empty_index_has_a_zero_gradient():
    x = core.ones(2, 3, requires_grad=True)
    core.gather(x, 1, core.zeros(0, dtype=core.int64)).sum().backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_topk_of_a_0d_tensor_with_k_0_gives_the_element(dtype):
    t = core.tensor(3, dtype=getattr(core, dtype))
    values, indices = core.topk(t, 0)
    assert values.shape == () and values.dtype == t.dtype and values.tolist() == 3
    assert indices.shape == () and indices.dtype == core.int64 and indices.tolist() == 0
    with pytest.raises(IndexError):
        core.topk(t, 2)


def test_topk_of_a_0d_tensor_with_k_0_passes_the_gradient():
    x = core.tensor(3.0, requires_grad=True)
    core.topk(x, 0).values.backward()
    assert x.grad.tolist() == 1.0


NAN = float("nan")


def test_clamp_with_tensor_bounds_sends_the_gradient_where_pytorch_does():
    # columns: below, above, inside, NaN input, NaN min, NaN max, NaN input and min, NaN min with input above max,
    # NaN max with input below min, min == max == input, min > max with input above both, input on a bound
    x = core.tensor([-5., 5., 0., NAN, 0., 0., NAN, 5., -5., 0., 3., -1.], requires_grad=True)
    lo = core.tensor([-1., -1., -1., -1., NAN, -1., NAN, NAN, -1., 0., 2., -1.], requires_grad=True)
    hi = core.tensor([1., 1., 1., 1., 1., NAN, 1., 1., NAN, 0., 1., 1.], requires_grad=True)
    y = core.clamp(x, lo, hi)
    np.testing.assert_array_equal(y.detach().numpy(), [-1, 1, 0, NAN, NAN, NAN, NAN, NAN, NAN, 0, 1, -1])
    y.sum().backward()
    assert x.grad.tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1]
    assert lo.grad.tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert hi.grad.tolist() == [0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0]


def test_clamp_with_one_tensor_bound_gives_a_nan_nothing():
    x = core.tensor([-5., 5., NAN, 0., 0.], requires_grad=True)
    b = core.tensor([-1., -1., -1., NAN, -1.], requires_grad=True)
    core.clamp(x, min=b).sum().backward()
    assert x.grad.tolist() == [0, 1, 0, 0, 1] and b.grad.tolist() == [1, 0, 0, 0, 0]
    x.grad = b.grad = None
    core.clamp(x, max=b).sum().backward()
    assert x.grad.tolist() == [1, 0, 0, 0, 0] and b.grad.tolist() == [0, 1, 0, 0, 1]
    x.grad = b.grad = None
    core.clamp(x, min=b, max=1.0).sum().backward()  # a number for the other bound
    assert x.grad.tolist() == [0, 0, 0, 0, 1] and b.grad.tolist() == [1, 0, 0, 0, 0]
