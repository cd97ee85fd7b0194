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
