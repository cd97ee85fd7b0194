"""core.autograd.grad and core.autograd.backward, PyTorch's functional autograd: gradients of (weighted) outputs
with respect to leaves or intermediate tensors, returned without touching any .grad; only the graph between the
outputs and the inputs runs; retain_graph defaults to create_graph, and create_graph=True gives differentiable
gradients (gradient penalties, Hessian-vector products) without the leaf <-> .grad cycle of backward."""
from __future__ import annotations

import gc
import re

import numpy as np
import pytest

import core
import core.nn.functional as F

UNUSED = ("One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True "
          "if this is the desired behavior.")
MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace operation"


def t64(a, grad=False):
    return core.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def rng(seed=0):
    return np.random.default_rng(seed)


def close(t, expected, rtol=1e-12, atol=1e-12):
    assert t is not None
    np.testing.assert_allclose(t.detach().numpy(), expected, rtol=rtol, atol=atol)


def live():
    gc.collect()
    return core._C._live_autograd_nodes()


# ---- values

def test_leaf_gradient_matches_the_analytic_one():
    a, c = rng().standard_normal((3, 4)), rng(1).standard_normal((3, 4))
    x = t64(a, True)
    out = (x ** 3 * t64(c)).sum()
    g = core.autograd.grad(out, x)
    assert isinstance(g, tuple) and len(g) == 1
    close(g[0], 3 * a ** 2 * c)
    assert not g[0].requires_grad


def test_single_tensor_and_sequences_are_accepted():
    a = rng().standard_normal(5)
    for outputs, inputs in [("t", "t"), ("l", "l"), ("t", "tuple")]:
        x = t64(a, True)
        y = (x * x).sum()
        got = core.autograd.grad(y if outputs == "t" else [y], x if inputs == "t" else
                                 ([x] if inputs == "l" else (x,)))
        close(got[0], 2 * a)


def test_non_leaf_inputs_get_their_own_gradient_summed_over_consumers():
    a = rng().standard_normal((2, 3))
    x = t64(a, True)
    h = x.exp()
    out = (h * h).sum() + h.sin().sum()  # h feeds mul (twice) and sin
    gh, gx = core.autograd.grad(out, [h, x], retain_graph=True)
    eh = np.exp(a)
    close(gh, 2 * eh + np.cos(eh))
    close(gx, (2 * eh + np.cos(eh)) * eh)
    (gh_alone,) = core.autograd.grad(out, h)
    close(gh_alone, 2 * eh + np.cos(eh))


def test_an_input_that_is_an_output_gets_its_seed():
    v = rng().standard_normal((2, 2))
    x = t64(rng(1).standard_normal((2, 2)), True)
    h = x * 2
    close(core.autograd.grad(h, h, grad_outputs=t64(v))[0], v)
    close(core.autograd.grad(x, x, grad_outputs=t64(v))[0], v)
    s = (x * 3).sum()
    close(core.autograd.grad(s, s)[0], 1.0)


def test_multiple_outputs_weighted_by_grad_outputs():
    a, b = rng().standard_normal((3,)), rng(1).standard_normal((3,))
    v1, v2 = rng(2).standard_normal((3,)), rng(3).standard_normal((3,))
    x, y = t64(a, True), t64(b, True)
    ga, gb = core.autograd.grad([x * y, x.sin()], [x, y], grad_outputs=[t64(v1), t64(v2)])
    close(ga, v1 * b + v2 * np.cos(a))
    close(gb, v1 * a)


def test_scalar_outputs_may_leave_their_grad_output_none():
    a = rng().standard_normal(4)
    v = rng(1).standard_normal(4)
    x = t64(a, True)
    (g,) = core.autograd.grad([(x * x).sum(), x.exp()], x, grad_outputs=[None, t64(v)])
    close(g, 2 * a + v * np.exp(a))


def test_an_output_that_feeds_another_output():
    a = rng().standard_normal(3)
    x = t64(a, True)
    h = x.tanh()
    s = (h * h).sum()
    (g,) = core.autograd.grad([h, s], x, grad_outputs=[t64(np.ones(3)), None])
    th = np.tanh(a)
    close(g, (1 + 2 * th) * (1 - th ** 2))


def test_the_same_input_twice_and_dict_inputs():
    a = rng().standard_normal(3)
    x = t64(a, True)
    w = t64(np.ones(3), True)
    y = (x * x * w).sum()
    g1, g2 = core.autograd.grad(y, [x, x], retain_graph=True)
    close(g1, 2 * a)
    close(g2, 2 * a)
    d = core.autograd.grad(y, {"w": w, "x": x})
    assert list(d) == ["w", "x"]
    close(d["w"], a ** 2)
    close(d["x"], 2 * a)


def test_float32_and_mixed_dtype_leaves():
    a = rng().standard_normal(4).astype(np.float32)
    x = core.tensor(a, requires_grad=True)
    w = t64(np.full(4, 2.0), True)
    gx, gw = core.autograd.grad((x * w).sum(), [x, w])  # x * w computes in float64
    assert gx.dtype == core.float32 and gw.dtype == core.float64
    close(gx, np.full(4, 2.0))
    close(gw, a, rtol=1e-6)


def test_through_nn_ops():
    x = core.randn(4, 3, dtype=core.float64, requires_grad=True)
    w = core.randn(5, 3, dtype=core.float64, requires_grad=True)
    target = core.tensor([0, 2, 4, 1])
    loss = F.cross_entropy(F.linear(x, w), target)
    gx, gw = core.autograd.grad(loss, [x, w], retain_graph=True)
    loss.backward()
    close(gx, x.grad.numpy())
    close(gw, w.grad.numpy())


# ---- .grad is never touched

def test_no_grad_attribute_changes():
    x = t64(rng().standard_normal(3), True)
    w = t64(rng(1).standard_normal(3), True)
    b = t64(rng(2).standard_normal(3), True)
    w.grad = t64([1.0, 2.0, 3.0])
    h = x * w
    out = (h + b).sum()
    before = w.grad.numpy().copy()
    gx, gh = core.autograd.grad(out, [x, h], create_graph=True)
    assert x.grad is None and b.grad is None and h.grad is None
    np.testing.assert_array_equal(w.grad.numpy(), before)
    assert not w.grad.requires_grad
    core.autograd.grad((gx * gx).sum(), w)  # differentiating the gradient leaves .grad alone too
    assert x.grad is None and b.grad is None
    np.testing.assert_array_equal(w.grad.numpy(), before)


# ---- unused inputs

def test_unused_input_raises_unless_allowed():
    x = t64([1.0, 2.0], True)
    z = t64([3.0], True)
    h = z * 2  # a node that exists but is not under the output
    y = (x * x).sum()
    for unused in (z, h):
        with pytest.raises(RuntimeError, match=re.escape(UNUSED + " (inputs[1])")):
            core.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gz, gh = core.autograd.grad(y, [x, z, h], allow_unused=True, retain_graph=True)
    close(gx, [2.0, 4.0])
    assert gz is None and gh is None
    gx, gz = core.autograd.grad(y, [x, z], materialize_grads=True)
    close(gz, [0.0])
    with pytest.raises(ValueError, match="allow_unused"):
        core.autograd.grad(y, x, allow_unused=False, materialize_grads=True)


def test_index_gradients_reach_only_the_indexed_entries():
    x = t64([1.0, 2.0, 3.0], True)
    y = x[core.tensor([0, 2, 2])].sum()
    (g,) = core.autograd.grad(y, x)
    close(g, [1.0, 0.0, 2.0])


@pytest.mark.parametrize("key", [slice(None, 0, 3), slice(-2, -2, 2), slice(5, None, 2)])
def test_an_empty_strided_slice_has_a_zero_gradient(key):
    # the backward placed the gradient at [start, start - step + 1), whose negative end wrapped to a nonempty slice
    x = t64([1.0, 2.0, 3.0], True)
    (g,) = core.autograd.grad(x[key].sum() + x.sum() * 0, x)
    close(g, [0.0, 0.0, 0.0])
    y = core.tensor([[[1.0, 2.0], [3.0, 4.0]]], requires_grad=True)
    (g,) = core.autograd.grad(y[1:3, -2:0:2].sum() + y.sum() * 0, y)
    assert g.tolist() == [[[0.0, 0.0], [0.0, 0.0]]]



def test_maximum_and_minimum_give_both_sides_the_gradient_where_one_is_nan():
    # PyTorch's rule: a side gets the gradient unless the other one wins, ties split it; NaN wins nothing
    nan = float("nan")
    a, b = t64([nan, 1.0, 2.0, 3.0], True), t64([0.5, nan, 2.0, 1.0], True)
    ga, gb = core.autograd.grad(core.maximum(a, b).sum(), [a, b])
    close(ga, [1.0, 1.0, 0.5, 1.0])
    close(gb, [1.0, 1.0, 0.5, 0.0])
    ga, gb = core.autograd.grad(core.minimum(a, b).sum(), [a, b])
    close(ga, [1.0, 1.0, 0.5, 0.0])
    close(gb, [1.0, 1.0, 0.5, 1.0])



def test_sign_has_a_zero_gradient_as_floor_does():
    # sign made no graph node, so a backward through sign alone raised "does not require grad"
    x = t64([1.5, -2.0, 0.0], True)
    y = core.sign(x)
    assert y.requires_grad and y.tolist() == [1.0, -1.0, 0.0]
    (g,) = core.autograd.grad(y.sum(), x)
    close(g, [0.0, 0.0, 0.0])
    assert not core.sign(core.tensor([2, -3])).requires_grad


# ---- errors

def test_error_messages():
    x = t64([1.0, 2.0], True)
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        core.autograd.grad(y, x, retain_graph=True)
    with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not require grad"):
        core.autograd.grad(y.sum(), [x, t64([1.0])])
    with pytest.raises(RuntimeError, match="element 1 of tensors does not require grad and does not have a grad_fn"):
        core.autograd.grad([y.sum(), t64(1.0)], x)
    mismatch = "Mismatch in shape: grad_outputs[0] has a shape of (3,) and output[0] has a shape of (2,)."
    with pytest.raises(RuntimeError, match=re.escape(mismatch)):
        core.autograd.grad(y, x, grad_outputs=t64([1.0, 1.0, 1.0]))
    with pytest.raises(RuntimeError, match="got 2 tensors in grad_outputs for 1 outputs"):
        core.autograd.grad(y, x, grad_outputs=[t64([1.0, 1.0]), None])
    with pytest.raises(RuntimeError, match="cannot be empty"):
        core.autograd.grad(y.sum(), [])
    # y's graph is intact: all of the above failed before running it
    close(core.autograd.grad(y.sum(), x)[0], [2.0, 2.0])


@pytest.mark.parametrize("call", [
    lambda x, y: core.autograd.grad(y, 3.0),
    lambda x, y: core.autograd.grad(y, [x, "x"]),
    lambda x, y: core.autograd.grad("y", x),
    lambda x, y: core.autograd.grad(y, x, grad_outputs=np.ones(())),
    lambda x, y: core.autograd.grad(y, x, grad_outputs=[1.0]),
    lambda x, y: core.autograd.grad(y, x, create_graph="yes"),
    lambda x, y: core.autograd.backward(y, inputs=[1]),
    lambda x, y: core.autograd.backward(None),
])
def test_wrong_argument_types_are_type_errors(call):
    x = t64([1.0, 2.0], True)
    y = (x * x).sum()
    with pytest.raises(TypeError):
        call(x, y)
    assert x.grad is None


# ---- retain_graph and create_graph

def test_graph_is_freed_unless_retained():
    x = t64([1.0, 2.0], True)
    y = (x * x).sum()
    core.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="second time"):
        core.autograd.grad(y, x)
    y = (x * x).sum()
    for _ in range(2):
        close(core.autograd.grad(y, x, retain_graph=True)[0], [2.0, 4.0])
    y = (x * x).sum()
    (g,) = core.autograd.grad(y, x, create_graph=True)  # retains by default
    assert g.requires_grad
    close(core.autograd.grad(y, x)[0], [2.0, 4.0])


def test_only_the_graph_above_a_non_leaf_input_runs():
    # the exp node below h is neither run nor freed, as in PyTorch
    x = t64([0.5, 1.0], True)
    h = x.exp()
    y = (h * 3).sum()
    close(core.autograd.grad(y, h)[0], [3.0, 3.0])
    h.sum().backward()
    close(x.grad, np.exp([0.5, 1.0]))


def test_gradient_penalty_matches_the_hand_computed_value_and_finite_differences():
    a, c = rng().standard_normal((2, 3)), rng(1).standard_normal((2, 3))
    x, w = t64(a, True), t64(c, True)
    out = (x.sin() * w).sum()
    (g,) = core.autograd.grad(out, x, create_graph=True)
    close(g, np.cos(a) * c)
    assert x.grad is None and w.grad is None
    (g ** 2).sum().backward()
    # penalty = sum (cos x * w)^2
    close(x.grad, -2 * np.sin(a) * np.cos(a) * c ** 2)
    close(w.grad, 2 * np.cos(a) ** 2 * c)

    def penalty(av):
        xv = t64(av, True)
        (gv,) = core.autograd.grad((xv.sin() * t64(c)).sum(), xv)
        return float((gv ** 2).sum().item())

    eps, d = 1e-6, rng(5).standard_normal((2, 3))
    fd = (penalty(a + eps * d) - penalty(a - eps * d)) / (2 * eps)
    np.testing.assert_allclose(float((x.grad.numpy() * d).sum()), fd, rtol=1e-6)


def test_hessian_vector_product_with_two_grad_calls():
    a, c, v = rng().standard_normal(4), rng(1).standard_normal(4), rng(2).standard_normal(4)
    x = t64(a, True)
    f = (x ** 3 * t64(c)).sum() + x.sum() ** 2
    (g,) = core.autograd.grad(f, x, create_graph=True)
    close(g, 3 * a ** 2 * c + 2 * a.sum())
    (hv,) = core.autograd.grad((g * t64(v)).sum(), x)
    hessian = np.diag(6 * a * c) + 2.0
    close(hv, hessian @ v)
    assert x.grad is None


def test_hessian_vector_product_through_matmul_and_softmax():
    rs = rng(3)
    a, m, v = rs.standard_normal(3), rs.standard_normal((3, 3)), rs.standard_normal(3)

    def first(av):
        xv = t64(av, True)
        return core.autograd.grad(core.log_softmax(t64(m) @ xv, 0)[0], xv)[0].numpy()

    x = t64(a, True)
    (g,) = core.autograd.grad(core.log_softmax(t64(m) @ x, 0)[0], x, create_graph=True)
    (hv,) = core.autograd.grad((g * t64(v)).sum(), x)
    eps = 1e-6
    np.testing.assert_allclose(hv.numpy(), (first(a + eps * v) - first(a - eps * v)) / (2 * eps), rtol=1e-6,
                               atol=1e-8)


def test_second_order_of_a_fused_backward_still_raises():
    x = t64(rng().standard_normal((3, 4)), True)
    (g,) = core.autograd.grad(F.layer_norm(x, [4]).pow(2).sum(), x, create_graph=True)
    with pytest.raises(NotImplementedError, match="layer_norm"):
        core.autograd.grad(g.sum(), x)


# ---- the in-place version check

def test_inplace_write_to_a_saved_tensor_is_refused_inside_grad():
    x, w = t64([1.0, 2.0], True), t64([3.0, 4.0])
    y = (x * w).sum()
    w.add_(1)
    with pytest.raises(RuntimeError, match=re.escape(MODIFIED) + ".*input 1 of mul"):
        core.autograd.grad(y, x)


def test_a_write_below_a_non_leaf_input_is_not_read():
    x = t64([1.0, 2.0], True)
    h = x.exp()
    y = (h * 2).sum()
    with core.no_grad():
        h.add_(1)  # exp saved its output; only the grad with respect to x would read it
    close(core.autograd.grad(y, h, retain_graph=True)[0], [2.0, 2.0])
    with pytest.raises(RuntimeError, match=re.escape(MODIFIED) + ".*the output of exp"):
        core.autograd.grad(y, x)


# ---- core.autograd.backward and Tensor.backward(inputs=...)

def test_functional_backward_accumulates_over_several_tensors():
    a = rng().standard_normal(3)
    x = t64(a, True)
    core.autograd.backward([x.sum(), (x * x).sum()])
    close(x.grad, 1 + 2 * a)
    v = rng(1).standard_normal(3)
    core.autograd.backward(x.exp(), t64(v))
    close(x.grad, 1 + 2 * a + v * np.exp(a))


def test_backward_inputs_limits_which_grad_changes():
    a, b = rng().standard_normal(3), rng(1).standard_normal(3)
    x, w = t64(a, True), t64(b, True)
    h = x * w
    y = (h * h).sum()
    core.autograd.backward(y, inputs=[w, h], retain_graph=True)
    assert x.grad is None
    close(w.grad, 2 * a * a * b)
    close(h.grad, 2 * a * b)  # an intermediate tensor given as input gets .grad, as in PyTorch
    y.backward(inputs=x)
    close(x.grad, 2 * a * b * b)
    close(w.grad, 2 * a * a * b)
    z = t64([1.0], True)
    (x * 2).sum().backward(inputs=[z])  # not reached: left alone
    assert z.grad is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward(inputs=[t64([1.0])])


def test_tensor_backward_is_unchanged():
    x = t64([1.0, 2.0], True)
    y = x * x
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    with pytest.raises(ValueError, match=re.escape("backward: gradient of shape (3,) does not match")):
        y.backward(t64([1.0, 1.0, 1.0]))
    y.backward(t64([1.0, 1.0]), retain_graph=True)
    y.backward(t64([1.0, 1.0]))
    close(x.grad, [4.0, 8.0])
    with pytest.raises(RuntimeError, match="second time"):
        y.backward(t64([1.0, 1.0]))


# ---- no graph leaks

def test_no_graph_leaks():
    base = live()
    x = core.randn(3, 4, dtype=core.float64, requires_grad=True)
    w = core.randn(5, 4, dtype=core.float64, requires_grad=True)
    h = F.linear(x, w).tanh()
    out = (core.softmax(h, -1) * h.exp()).sum() + h.sigmoid().mean()
    (gx,) = core.autograd.grad(out, x, create_graph=True)
    assert live() > base
    # no leaf holds the gradient's graph (nothing went into .grad): dropping the tensors frees everything
    del out, h, gx
    assert live() == base
    h = F.linear(x, w).tanh()
    out = (h * h).sum()
    gx, gw = core.autograd.grad(out, [x, w], create_graph=True)
    ((gx ** 2).sum() + gw.sum()).backward()
    del out, h, gx, gw
    x.grad = None  # the penalty's backward (not grad) put its gradient into .grad
    w.grad = None
    assert live() == base
    h = F.linear(x, w).tanh()
    out = h.sum()
    (gh,) = core.autograd.grad(out, h, allow_unused=True)
    del out, h, gh
    assert live() == base
    del x, w
    assert live() == base


# ---- against PyTorch

def test_matches_pytorch_on_a_small_network():
    torch = pytest.importorskip("torch")
    rs = rng(11)
    x = rs.standard_normal((4, 3))
    params = [rs.standard_normal((5, 3)), rs.standard_normal(5), rs.standard_normal((2, 5)), rs.standard_normal(2)]
    v = rs.standard_normal((4, 2))

    def run(lib, linear, tensor):
        xs = tensor(x)
        ps = [tensor(p) for p in params]
        h = lib.tanh(linear(xs, ps[0], ps[1]))
        out = lib.sigmoid(linear(h, ps[2], ps[3]))
        loss = (out * out).sum()
        # a non-leaf input, several outputs weighted differently, create_graph, then a penalty through both
        g = lib.autograd.grad([loss, out], [h, xs, ps[0]], grad_outputs=[None, tensor(v, False)], create_graph=True)
        penalty = (g[0] ** 2).sum() + (g[1] * g[1]).sum()
        second = lib.autograd.grad(penalty, [xs, ps[0], ps[2]], allow_unused=True)
        return [t.detach().numpy() for t in g] + [t.detach().numpy() for t in second]

    ours = run(core, F.linear, lambda a, grad=True: t64(a, grad))
    theirs = run(torch, torch.nn.functional.linear,
                 lambda a, grad=True: torch.tensor(a, dtype=torch.float64, requires_grad=grad))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-12)
