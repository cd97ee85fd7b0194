"""In-place writes recorded by autograd (core/_inplace.py): values and gradients as PyTorch 2.13 gives them.

The expected gradients are worked out by hand for each write (checked against torch 2.13 when these tests were
written); the refusals are the writes autograd here cannot get right.
"""
import numpy as np
import pytest

import core
import core.nn as nn
import core.nn.functional as F

X = np.array([[0.5, -1.0, 2.0, -0.25], [1.5, 0.75, -2.0, 0.1], [-0.3, 0.2, 1.0, -1.2]], dtype=np.float32)
Y = np.array([[1.0, 2.0, -1.0, 0.5], [-0.5, 1.5, 2.5, -2.0], [0.25, -0.75, 1.25, 3.0]], dtype=np.float32)
W = np.arange(12, dtype=np.float32).reshape(3, 4) + 1  # weights for the loss, so every gradient is distinct


def leaves():
    return core.tensor(X, requires_grad=True), core.tensor(Y, requires_grad=True)


def backward(out):
    (out * core.tensor(W)).sum().backward()


def grad(t):
    return None if t.grad is None else t.grad.numpy()


def test_add_into_a_non_leaf_records_the_write_and_keeps_the_tensor():
    x, y = leaves()
    h = x * 2
    version, same = h._version, h
    h += y
    assert h is same and h._version == version + 1 and h.grad_fn is not None
    np.testing.assert_allclose(h.detach().numpy(), 2 * X + Y)
    backward(h)
    np.testing.assert_allclose(grad(x), 2 * W)
    np.testing.assert_allclose(grad(y), W)


def test_methods_that_read_self_get_the_old_values_in_their_backward():
    x, y = leaves()
    backward((x * 1).mul_(y))
    np.testing.assert_allclose(grad(x), W * Y)
    np.testing.assert_allclose(grad(y), W * X)
    x, y = leaves()
    backward((x + 3).div_(y))
    np.testing.assert_allclose(grad(x), W / Y, rtol=1e-6)
    np.testing.assert_allclose(grad(y), -W * (X + 3) / Y ** 2, rtol=1e-5)
    x, _ = leaves()
    backward((x * 1).exp_())
    np.testing.assert_allclose(grad(x), W * np.exp(X), rtol=1e-6)
    x, _ = leaves()
    backward((x * 2).clamp_(min=-0.5, max=0.5))
    np.testing.assert_allclose(grad(x), 2 * W * (np.abs(2 * X) <= 0.5))  # a bound itself passes, as in PyTorch


def test_two_writes_in_a_row():
    x, y = leaves()
    h = x * 2
    h += y
    h.mul_(y)  # h = (2x + y) y
    backward(h)
    np.testing.assert_allclose(grad(x), 2 * W * Y)
    np.testing.assert_allclose(grad(y), W * (2 * X + 2 * Y), rtol=1e-6)


def test_relu_in_place_in_all_three_spellings():
    for relu in (lambda h: h.relu_(), lambda h: F.relu(h, inplace=True), nn.ReLU(inplace=True)):
        x, _ = leaves()
        h = x * 3
        assert relu(h) is h
        np.testing.assert_allclose(h.detach().numpy(), np.maximum(3 * X, 0))
        backward(h)
        np.testing.assert_allclose(grad(x), 3 * W * (X > 0))


def test_a_plain_tensor_written_with_a_value_that_requires_grad_joins_the_graph():
    # this write used to drop the gradient without a word: buf stayed a leaf that did not require grad
    x, _ = leaves()
    buf = core.zeros(3, 4)
    buf += x
    assert buf.requires_grad and not buf.is_leaf
    backward(buf)
    np.testing.assert_allclose(grad(x), W)


def test_assignment_into_a_plain_tensor_reaches_the_value():
    x, _ = leaves()
    buf = core.zeros(3, 4)
    buf[0:2] = x[:2]
    assert buf.requires_grad
    np.testing.assert_allclose(buf.detach().numpy(), np.concatenate([X[:2], np.zeros((1, 4), np.float32)]))
    backward(buf)
    np.testing.assert_allclose(grad(x), np.concatenate([W[:2], np.zeros((1, 4), np.float32)]))


def test_assignment_into_a_non_leaf_cuts_the_gradient_of_what_it_overwrites():
    x, y = leaves()
    h = x * 2
    h[:, [0, 2]] = y[:, :2]
    expected = 2 * X
    expected[:, [0, 2]] = Y[:, :2]
    np.testing.assert_allclose(h.detach().numpy(), expected)
    backward(h)
    gx = 2 * W
    gx[:, [0, 2]] = 0
    gy = np.zeros_like(W)
    gy[:, :2] = W[:, [0, 2]]
    np.testing.assert_allclose(grad(x), gx)
    np.testing.assert_allclose(grad(y), gy)


def test_assignment_through_a_mask_and_of_a_0d_value():
    x, y = leaves()
    h = x * 2
    h[x > 0] = 0.0
    backward(h)
    np.testing.assert_allclose(grad(x), 2 * W * (X <= 0))
    x, y = leaves()
    h = x * 2
    h[1] = y[0].sum()  # one number broadcast over row 1
    backward(h)
    gx = 2 * W
    gx[1] = 0
    gy = np.zeros_like(W)
    gy[0] = W[1].sum()
    np.testing.assert_allclose(grad(x), gx)
    np.testing.assert_allclose(grad(y), gy)


def test_copy_fill_and_zero_leave_the_old_history_with_a_zero_gradient():
    for write in (lambda h, y: h.copy_(y), lambda h, y: h.fill_(y.sum()), lambda h, y: h.zero_()):
        x, y = leaves()
        h = write(x * 2, y)
        assert h.requires_grad
        backward(h + 0)
        np.testing.assert_array_equal(grad(x), np.zeros_like(X))  # zeros, not None, as in PyTorch
    x, y = leaves()
    backward(core.zeros(3, 4).copy_(y))
    np.testing.assert_allclose(grad(y), W)
    x, y = leaves()
    backward((x * 2).fill_(y.sum()))
    np.testing.assert_allclose(grad(y), np.full_like(Y, W.sum()))


def test_masked_fill_in_place():
    x, y = leaves()
    h = (x * 2).masked_fill_(core.tensor(Y > 0), 1.0)
    np.testing.assert_allclose(h.detach().numpy(), np.where(Y > 0, 1.0, 2 * X))
    backward(h)
    np.testing.assert_allclose(grad(x), 2 * W * (Y <= 0))


def test_training_step_with_in_place_ops_in_the_forward():
    layer = nn.Linear(4, 4)
    x = core.tensor(X)
    h = layer(x)
    h += x  # a residual added in place
    h.relu_()
    h.sum().backward()
    with core.no_grad():
        pre = core.tensor(X) @ layer.weight.detach().T + layer.bias.detach() + core.tensor(X)
    mask = (pre.numpy() > 0).astype(np.float32)
    np.testing.assert_allclose(grad(layer.bias), mask.sum(0), rtol=1e-6)
    np.testing.assert_allclose(grad(layer.weight), mask.T @ X, rtol=1e-5)


def test_writes_autograd_cannot_record_are_refused_and_write_nothing():
    x, y = leaves()
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad cannot be written in place"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad cannot be written in place"):
        x[0] = 1.0
    np.testing.assert_array_equal(x.detach().numpy(), X)
    h = x * 2
    row = h[0]
    with pytest.raises(RuntimeError, match=r"shares it .*x\[i\] = x\[i\] \+ y"):
        row.mul_(2)  # PyTorch rewrites h's history too; we do not track views
    with pytest.raises(RuntimeError, match="shares it"):
        h += y  # h has a live view
    del row
    with pytest.raises(RuntimeError, match="shares it"):
        h[0] += y[0]  # Python runs += on the view h[0]
    np.testing.assert_allclose(h.detach().numpy(), 2 * X)
    e = x.exp()
    with pytest.raises(RuntimeError, match="shares it"):
        e.add_(1)  # exp keeps its output for the backward
    x, y = leaves()  # (the tracebacks above keep the views they were raised with alive)
    h = x * 2
    h[0] = h[0] + y[0]  # the spelling the message suggests
    backward(h)
    np.testing.assert_allclose(grad(y), np.concatenate([W[:1], np.zeros((2, 4), np.float32)]))
    np.testing.assert_allclose(grad(x), 2 * W)


def test_without_grad_mode_writes_go_straight_into_memory():
    x, _ = leaves()
    with core.no_grad():
        x.add_(1)
        x[0, 0] = 7.0
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    assert x[0, 0].item() == 7.0
    t = core.zeros(2)
    t += core.ones(2)
    assert t.is_leaf and not t.requires_grad and t.tolist() == [1.0, 1.0]


def test_advanced_assignment_broadcasts_against_the_indexed_shape():
    # value against t[key]'s shape (indexed dims where getitem puts them), in both paths
    t = core.zeros(3, 4)
    t[:, [0, 1]] = core.tensor([1.0, 2.0])
    assert t[:, :2].tolist() == [[1.0, 2.0]] * 3 and t[:, 2:].abs().sum().item() == 0
    t = core.zeros(2, 3, 4)
    t[:, [0, 1], [1, 2]] = core.tensor([5.0, 6.0])  # written 5 at [b, 0, 1] and 6 at [b, 1, 2] for each b
    expected = np.zeros((2, 3, 4), np.float32)
    expected[:, 0, 1], expected[:, 1, 2] = 5, 6
    np.testing.assert_array_equal(t.numpy(), expected)
    v = core.tensor([5.0, 6.0], requires_grad=True)
    t = core.zeros(2, 3, 4)
    t[:, [0, 1], [1, 2]] = v
    np.testing.assert_array_equal(t.detach().numpy(), expected)
    t.sum().backward()
    assert v.grad.tolist() == [2.0, 2.0]


def test_recorded_fill_refuses_what_the_plain_fill_refuses():
    x, y = leaves()
    for target in (core.zeros(2), x * 1):
        with pytest.raises(ValueError, match=r"fill_: value must be a number or a 0-d tensor, got shape \(2,\)"):
            target.fill_(y[0, :2])
    h = x.half() * 1
    with pytest.raises(RuntimeError, match="cannot be converted to core.float16 without overflow"):
        h.fill_(70000.0)
    with pytest.raises(RuntimeError, match="cannot be converted to core.float16 without overflow"):
        h[0] = 70000.0
    np.testing.assert_array_equal(h.detach().numpy(), X.astype(np.float16))
