"""The backward refuses to run on values an in-place write changed after the forward saved them, as PyTorch's
"modified by an inplace operation" check does: each node records the version (`t._version`) of exactly the
tensors its backward reads. Every case below was run against PyTorch 2.13, which agrees on refused / allowed
except where a comment says otherwise."""
import re

import numpy as np
import pytest

import core
import core.nn as nn
from core.optim import SGD

MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace operation"


def leaf(*shape):
    return core.randn(*shape, requires_grad=True)


def refused(match: str = ""):
    return pytest.raises(RuntimeError, match=re.escape(MODIFIED) + ".*" + match)


# ---- the message names the saved tensor, both versions and what it was to the node

def test_write_to_a_saved_operand_names_it_and_both_versions():
    x, w = leaf(3, 4), core.randn(3, 4)
    y = x * w
    w.add_(1)
    assert w._version == 1
    with refused(re.escape("[float32 [3, 4]] is at version 1; expected version 0 instead (input 1 of mul, saved "
                           "for its backward)")):
        y.sum().backward()
    assert x.grad is None  # refused before anything reached the leaf


def test_write_to_a_saved_output_names_the_op():
    x = leaf(3, 4)
    y = x.exp()
    with core.no_grad():
        y.mul_(2)
        y.add_(1)
    with refused(r"\[float32 \[3, 4\]\] is at version 2; expected version 0 instead \(the output of exp, saved"):
        y.sum().backward()


@pytest.mark.parametrize("op", ["sigmoid", "tanh", "sqrt", "rsqrt", "relu", "softmax"])
def test_ops_that_read_their_output_refuse_a_write_to_it_and_allow_one_to_the_input(op):
    f = (lambda t: t.softmax(-1)) if op == "softmax" else (lambda t: getattr(t, op)())
    x, c = core.rand(3, 4, requires_grad=True), core.randn(3, 4)
    y = f(x)
    y.detach().zero_()  # detach shares the storage, so this is a write to y
    with refused(f"the output of {op}"):
        (y * c).sum().backward()
    x = (core.rand(3, 4) + 0.5).requires_grad_()
    x0 = x.detach().clone().requires_grad_()
    (f(x0) * c).sum().backward()
    y = f(x)
    with core.no_grad():
        x.mul_(-3)
    (y * c).sum().backward()  # the gradient at the values of the forward
    np.testing.assert_allclose(x.grad.numpy(), x0.grad.numpy(), rtol=1e-6)


def test_write_through_a_view_of_a_saved_tensor_is_seen():
    x, w = leaf(3, 4), core.randn(3, 4)
    y = x * w
    w[1:, ::2].zero_()  # a view shares the storage's version
    with refused("input 1 of mul"):
        y.sum().backward()
    x = leaf(4)
    y = x.sigmoid()
    y.detach()[2] = 0.5  # setitem through a view of the output
    with refused("the output of sigmoid"):
        y.sum().backward()


def test_linear_weight_written_under_no_grad_before_backward_is_refused():
    lin = nn.Linear(4, 3)
    x = leaf(2, 4)
    y = lin(x)
    with core.no_grad():
        lin.weight.mul_(2)
    # the product saved the transposed weight for the input's gradient, as PyTorch's mm does (and, as there,
    # the initialisation was the weight's first write)
    with refused(r"\[float32 \[4, 3\]\] is at version 2; expected version 1 instead \(input 1 of matmul"):
        y.sum().backward()


def test_linear_weight_written_when_only_the_weight_needs_a_gradient_is_allowed():
    # The weight's gradient reads the input only, so the weight was never saved (PyTorch: allowed too).
    lin = nn.Linear(4, 3)
    x = core.randn(2, 4)
    y = lin(x)
    with core.no_grad():
        lin.weight.mul_(2)
        lin.bias.add_(1)  # add saves nothing
    y.sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), np.tile(x.numpy().sum(0), (3, 1)), rtol=1e-5)


def test_optimizer_step_between_forward_and_backward_is_refused():
    core.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = SGD(model.parameters(), lr=0.1)
    x = core.randn(5, 4)
    model(x).sum().backward()
    loss = model(x).sum()
    opt.step()  # the classic bug: a step with the last gradients before this loss's backward
    with refused(r"expected version \d+ instead \(input 1 of matmul"):
        loss.backward()
    opt.zero_grad()
    loss = model(x).sum()
    loss.backward()  # the right order works
    opt.step()


def test_write_between_two_backwards_of_a_retained_graph_is_refused():
    x, w = leaf(3), core.randn(3)
    loss = (x * w).sum()
    loss.backward(retain_graph=True)
    loss.backward(retain_graph=True)  # no write: the same gradient again
    assert x.grad.tolist() == pytest.approx((w * 2).tolist())
    w.add_(1)
    with refused("input 1 of mul"):
        loss.backward()


# ---- what PyTorch allows keeps working

def test_add_and_sub_save_nothing():
    x, w = leaf(3), core.randn(3)
    y = (x + w) - w * 2.0  # mul by a Python number saves only the number
    w.add_(1)
    with core.no_grad():
        x.add_(1)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_a_write_before_the_forward_is_fine():
    x, w = leaf(3), core.randn(3)
    w.mul_(2)
    y = x * w
    y.sum().backward()
    assert x.grad.tolist() == w.tolist()


def test_an_operand_whose_partner_needs_no_gradient_is_not_saved():
    # mul saves a only for b's gradient (PyTorch: the same)
    x, w = leaf(3), core.randn(3)
    y = x * w
    with core.no_grad():
        x.add_(1)
    y.sum().backward()
    assert x.grad.tolist() == w.tolist()


def test_exp_reads_its_output_not_its_input():
    x = leaf(3)
    y = x.exp()
    expected = y.detach().clone()
    with core.no_grad():
        x.zero_()
    y.sum().backward()
    assert x.grad.tolist() == pytest.approx(expected.tolist())


def test_a_released_graph_still_says_backward_twice():
    x, w = leaf(3), core.randn(3)
    loss = (x * w).sum()
    loss.backward()
    w.add_(1)
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


# ---- more ops: index tensors and masks count, like any saved tensor

def test_saved_index_and_mask_tensors():
    x = leaf(3, 4)
    idx = core.tensor([[0, 1], [1, 2], [2, 3]])
    y = x.gather(1, idx)
    idx.zero_()
    with refused(r"\[int64 \[3, 2\]\] is at version 1; expected version 0 instead \(a tensor that gather reads"):
        y.sum().backward()

    x = leaf(3)
    cond = core.tensor([True, False, True])
    y = core.where(cond, x, core.zeros(3))
    cond.fill_(True)
    with refused("a tensor that where reads"):
        y.sum().backward()

    x = leaf(5)
    values, indices = x.sort()
    indices.zero_()
    with refused("a tensor that sort reads"):
        values.sum().backward()

    x = leaf(3, 4)
    target = core.tensor([0, 1, 2])
    loss = core.cross_entropy(x, target)
    target.zero_()
    with refused("a tensor that cross_entropy reads"):
        loss.backward()


def test_fused_nn_ops_refuse_writes_to_what_they_read():
    x, w = leaf(2, 4), core.ones(4, requires_grad=True)
    b = core.zeros(4, requires_grad=True)
    y = core.layer_norm(x, (4,), w, b)
    with core.no_grad():
        b.add_(1)  # our backward never reads the bias (PyTorch saves it and refuses)
    y.sum().backward()
    y = core.layer_norm(x, (4,), w, b)
    with core.no_grad():
        w.mul_(2)
    with refused("input 1 of layer_norm"):
        y.sum().backward()

    x, k = leaf(1, 2, 5, 5), leaf(3, 2, 3, 3)
    y = core.conv2d(x, k)
    with core.no_grad():
        k.mul_(2)
    with refused("input 1 of conv2d"):
        y.sum().backward()

    q, kv = leaf(1, 4, 8), leaf(1, 6, 8)
    y = nn.functional.scaled_dot_product_attention(q, kv, kv)
    with core.no_grad():
        kv.add_(1)
    with refused("scaled_dot_product_attention"):
        y.sum().backward()
