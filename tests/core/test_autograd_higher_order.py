"""Higher-order gradients: backward(create_graph=True) leaves gradients that are differentiable functions of the
inputs, so a second backward through them gives second derivatives. Each op's Hessian-vector product is checked
against float64 central differences of its first derivative; ops whose backward is a fused kernel must raise
NotImplementedError at the second backward rather than act as constants; graphs must not leak (a C++ count of
live autograd nodes returns to where it was)."""
from __future__ import annotations

import gc

import numpy as np
import pytest

import core
import core.nn.functional as F

EPS, RTOL, ATOL = 1e-5, 1e-6, 1e-7


def t64(a, grad=False):
    return core.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def first_grads(fn, arrays, v):
    """d/dx of sum(fn(x) * v) by a plain backward, as numpy arrays."""
    xs = [t64(a, True) for a in arrays]
    (fn(*xs) * t64(v)).sum().backward()
    return [x.grad.numpy() if x.grad is not None else np.zeros_like(a) for x, a in zip(xs, arrays)]


def hvp(fn, arrays, v, w):
    """H w of phi(x) = sum(fn(x) * v) by backward(create_graph=True) then a second backward."""
    xs = [t64(a, True) for a in arrays]
    (fn(*xs) * t64(v)).sum().backward(create_graph=True)
    gs = [x.grad for x in xs]
    first = [g.numpy() if g is not None and not g.requires_grad else g.detach().numpy() for g in gs]
    terms = [(g * t64(wi)).sum() for g, wi in zip(gs, w) if g is not None and g.requires_grad]
    for x in xs:
        x.grad = None  # the second backward accumulates into fresh .grad (and the x <-> x.grad cycle is cut)
    if terms:
        s = terms[0]
        for t in terms[1:]:
            s = s + t
        s.backward()
    out = [x.grad.numpy() if x.grad is not None else np.zeros_like(a) for x, a in zip(xs, arrays)]
    for x in xs:
        x.grad = None
    return first, out


def check_hvp(fn, arrays, seed=0):
    rng = np.random.default_rng(seed)
    with core.no_grad():
        out_shape = fn(*[t64(a) for a in arrays]).shape
    v = rng.standard_normal(tuple(out_shape))
    w = [rng.standard_normal(a.shape) for a in arrays]
    first, got = hvp(fn, arrays, v, w)
    plain = first_grads(fn, arrays, v)
    for f, p in zip(first, plain):  # the create_graph backward's values are the plain backward's
        np.testing.assert_allclose(f, p, rtol=1e-12, atol=1e-12)
    plus = first_grads(fn, [a + EPS * d for a, d in zip(arrays, w)], v)
    minus = first_grads(fn, [a - EPS * d for a, d in zip(arrays, w)], v)
    for g, p, m in zip(got, plus, minus):
        np.testing.assert_allclose(g, (p - m) / (2 * EPS), rtol=RTOL, atol=ATOL)


def rand(*shape, low=-2.0, high=2.0, seed=1):
    return np.random.default_rng(seed + len(shape)).uniform(low, high, size=shape)


def away_from_zero(*shape, seed=1):
    """Values with |x| in [0.3, 2]: abs, relu and clamp's kinks are out of the finite differences' reach."""
    a = rand(*shape, low=0.3, high=2.0, seed=seed)
    return a * np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


POS = rand(3, 4, low=0.5, high=2.0)
X34 = rand(3, 4)
Y34 = rand(3, 4, seed=7)
KINK = away_from_zero(3, 4)
MASK = np.array([True, False, True])

# (id, fn, inputs): every fn is nonlinear in its inputs through the op under test, or feeds the op's backward a
# gradient that depends on x (sin/exp around a linear op), so the op's backward must record itself.
CASES = [
    ("add", lambda a, b: (a + b) * a, [X34, Y34]),
    ("add_broadcast", lambda a, b: (a + b).sin(), [X34, rand(4, seed=3)]),
    ("sub", lambda a, b: (a - b) ** 2, [X34, Y34]),
    ("mul", lambda a, b: a * b * a, [X34, Y34]),
    ("mul_broadcast", lambda a, b: a * b * b, [X34, rand(3, 1, seed=3)]),
    ("div", lambda a, b: a / b, [X34, POS]),
    ("neg", lambda a: (-a) * a.sin(), [X34]),
    ("pow", lambda a, b: a ** b, [POS, Y34]),
    ("pow_scalar3", lambda a: a ** 3, [X34]),
    ("pow_scalar_half", lambda a: a ** 0.5, [POS]),
    ("pow_scalar_neg", lambda a: a ** -1.5, [POS]),
    ("exp", lambda a: a.exp(), [X34]),
    ("log", lambda a: a.log(), [POS]),
    ("sqrt", lambda a: a.sqrt(), [POS]),
    ("rsqrt", lambda a: a.rsqrt(), [POS]),
    ("sin", lambda a: a.sin(), [X34]),
    ("cos", lambda a: a.cos(), [X34]),
    ("tanh", lambda a: a.tanh(), [X34]),
    ("sigmoid", lambda a: a.sigmoid(), [X34]),
    ("gelu", lambda a: F.gelu(a), [X34]),
    ("gelu_tanh", lambda a: F.gelu(a, approximate="tanh"), [X34]),
    ("relu", lambda a: a.relu() * a, [KINK]),
    ("abs", lambda a: a.abs() * a.sin(), [KINK]),
    ("clamp", lambda a: a.clamp(-1.0, 1.0) ** 2, [KINK]),
    ("sum", lambda a: a.sum() ** 2, [X34]),
    ("sum_dim", lambda a: a.sum(1, keepdim=True).sin() * a, [X34]),
    ("mean", lambda a: a.mean(0).exp(), [X34]),
    ("matmul", lambda a, b: (a @ b).tanh(), [X34, rand(4, 2, seed=5)]),
    ("matmul_self", lambda a: a @ a.transpose(0, 1), [X34]),
    ("matmul_vec", lambda a, b: (a @ b).sin(), [X34, rand(4, seed=5)]),
    ("bmm", lambda a, b: core.bmm(a, b).sin(), [rand(2, 3, 4), rand(2, 4, 2, seed=5)]),
    ("linear", lambda x, w, b: F.linear(x, w, b).tanh(), [X34, rand(5, 4, seed=5), rand(5, seed=6)]),
    ("reshape", lambda a: a.reshape(2, 6).sin(), [X34]),
    ("view", lambda a: a.view(12).exp(), [X34]),
    ("transpose", lambda a: a.transpose(0, 1).sin() * a.transpose(0, 1), [X34]),
    ("permute", lambda a: a.permute(2, 0, 1).tanh(), [rand(2, 3, 4)]),
    ("expand", lambda a: a.expand(3, 3, 4).sin(), [rand(1, 4)]),
    ("unsqueeze_squeeze", lambda a: a.unsqueeze(0).squeeze(0).sin(), [X34]),
    ("index_slice", lambda a: a[1:, ::2].sin(), [X34]),
    ("index_int", lambda a: a[1].exp(), [X34]),
    ("index_tensor", lambda a: a[core.tensor([2, 0, 2])].sin(), [X34]),
    ("index_mask", lambda a: a[core.tensor(MASK)].tanh(), [X34]),
    ("cat", lambda a, b: core.cat([a, b * a], 0).sin(), [X34, Y34]),
    ("stack", lambda a, b: core.stack([a, b], 1).tanh(), [X34, Y34]),
    ("softmax", lambda a: core.softmax(a, -1), [X34]),
    ("softmax_dim0", lambda a: core.softmax(a, 0), [X34]),
    ("log_softmax", lambda a: core.log_softmax(a, -1), [X34]),
    ("log_softmax_dim0", lambda a: core.log_softmax(a, 0) * a, [X34]),
    ("mse_loss", lambda a, b: F.mse_loss(a.sin(), b), [X34, Y34]),
    ("mse_loss_sum", lambda a, b: F.mse_loss(a, b, reduction="sum") ** 2, [X34, Y34]),
    ("var", lambda a: a.var(1), [X34]),
    ("std", lambda a: a.std(0), [X34]),
    ("logsumexp", lambda a: core.logsumexp(a, 1), [X34]),
    ("where", lambda a, b: core.where(core.tensor(KINK > 0), a * a, b.exp()), [X34, Y34]),
    ("maximum", lambda a, b: core.maximum(a, b) ** 3, [X34, Y34]),
    ("silu", lambda a: F.silu(a), [X34]),
    ("erf", lambda a: core.erf(a), [X34]),
    ("cumsum", lambda a: a.cumsum(1).sin(), [X34]),
    ("amax", lambda a: a.amax(1) ** 3, [X34]),
    ("gather", lambda a: core.gather(a, 1, core.tensor([[0, 2], [1, 1], [3, 0]])).sin(), [X34]),
    ("sort", lambda a: a.sort(1)[0].exp() * a, [X34]),
]


@pytest.mark.parametrize("fn,inputs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hessian_vector_product_matches_finite_differences(fn, inputs):
    check_hvp(fn, [np.asarray(a, dtype=np.float64) for a in inputs])


def test_the_gradient_of_a_cube_is_differentiable_and_a_second_backward_accumulates():
    x = core.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    np.testing.assert_allclose(x.grad.detach().numpy(), [3.0, 12.0, 27.0])
    x.grad.sum().backward()  # d/dx sum(3x^2) = 6x, added to the 3x^2 already there, as PyTorch does
    np.testing.assert_allclose(x.grad.numpy(), [9.0, 24.0, 45.0])
    x.grad = None


def test_plain_backward_gradients_stay_constants():
    x = core.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x * x).sum().backward()
    assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_a_gradient_independent_of_x_does_not_require_grad():
    x = core.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward(create_graph=True)
    assert not x.grad.requires_grad  # as PyTorch: the second derivative is identically zero


def mlp(x, w1, b1, w2, b2):
    return F.linear(F.linear(x, w1, b1).tanh(), w2, b2).tanh().sum()


MLP = [rand(5, 3), rand(4, 3, seed=2) * 0.7, rand(4, seed=3), rand(2, 4, seed=4) * 0.7, rand(2, seed=5)]


def test_hessian_vector_product_of_a_small_mlp():
    check_hvp(lambda *p: mlp(t64(MLP[0]), *p).reshape(1), [np.asarray(a) for a in MLP[1:]], seed=3)
    check_hvp(lambda x, *p: mlp(x, *p).reshape(1), [np.asarray(a) for a in MLP], seed=4)


def penalty_grads(x, w1, b1, w2, b2):
    """d/dparams of sum((d mlp / d x)^2): the gradient penalty pattern."""
    xt = t64(x, True)
    ps = [t64(p, True) for p in (w1, b1, w2, b2)]
    mlp(xt, *ps).backward(create_graph=True)
    gx = xt.grad
    xt.grad = None
    for p in ps:
        p.grad = None
    pen = (gx ** 2).sum()
    pen.backward()
    return float(pen.item()), [p.grad.numpy() for p in ps]


def test_gradient_penalty_matches_finite_differences():
    x, *params = [np.asarray(a) for a in MLP]
    _, got = penalty_grads(x, *params)
    for i, p in enumerate(params):
        fd = np.zeros_like(p)
        for j in np.ndindex(p.shape):
            up = [q.copy() for q in params]
            dn = [q.copy() for q in params]
            up[i][j] += EPS
            dn[i][j] -= EPS
            fd[j] = (penalty_grads(x, *up)[0] - penalty_grads(x, *dn)[0]) / (2 * EPS)
        np.testing.assert_allclose(got[i], fd, rtol=1e-5, atol=1e-7)


def test_second_derivative_matches_pytorch():
    torch = pytest.importorskip("torch")
    x, *params = [np.asarray(a) for a in MLP]
    pen, got = penalty_grads(x, *params)
    xt = torch.tensor(x, requires_grad=True)
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    h = torch.tanh(torch.nn.functional.linear(xt, ps[0], ps[1]))
    out = torch.tanh(torch.nn.functional.linear(h, ps[2], ps[3])).sum()
    (gx,) = torch.autograd.grad(out, xt, create_graph=True)
    ref = (gx ** 2).sum()
    ref.backward()
    assert abs(pen - ref.item()) < 1e-10
    for g, p in zip(got, ps):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- fused backwards: correct first derivatives, then NotImplementedError naming the op

FUSED = [
    ("layer_norm", lambda x: F.layer_norm(x, [4]), (3, 4)),
    ("conv", lambda x: F.conv2d(x, core.ones(2, 1, 2, 2, dtype=core.float64)), (1, 1, 4, 4)),
    # pooling's gradient is linear in the incoming one and does not depend on x (but through argmax): it only
    # needs to be differentiated when that incoming gradient depends on x, as after a square
    ("max_pool2d", lambda x: F.max_pool2d(x, 2) ** 2, (1, 1, 4, 4)),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 2) ** 2, (1, 1, 4, 4)),
    ("cross_entropy", lambda x: F.cross_entropy(x, core.tensor([0, 3, 1])), (3, 4)),
    ("scaled_dot_product_attention", lambda x: F.scaled_dot_product_attention(x, x, x), (1, 3, 4)),
    ("prod", lambda x: x.prod(1), (3, 4)),
]


@pytest.mark.parametrize("name,fn,shape", FUSED, ids=[f"{c[0]}{i}" for i, c in enumerate(FUSED)])
def test_a_fused_backward_gives_first_derivatives_then_refuses_the_second(name, fn, shape):
    a = rand(*shape, low=0.2, high=2.0)
    x = t64(a, True)
    fn(x).sum().backward()
    plain = x.grad.numpy()
    x = t64(a, True)
    fn(x).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.detach().numpy(), plain, rtol=1e-12, atol=1e-12)
    assert x.grad.requires_grad
    g = x.grad
    x.grad = None
    with pytest.raises(NotImplementedError, match=rf"the second derivative of '{name}' is not implemented "
                                                  r"\(backward with create_graph=True\)"):
        (g * g).sum().backward()


# ---- the in-place check still refuses, in both backwards

MODIFIED = "modified by an inplace operation"


def test_a_write_before_the_create_graph_backward_is_refused():
    x = core.randn(3, requires_grad=True)
    y = x.exp()
    with core.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.sum().backward(create_graph=True)


def test_a_write_between_the_two_backwards_is_refused():
    x = core.randn(3, requires_grad=True)
    (x * x * x).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    with core.no_grad():
        x.add_(1)  # read by the mul nodes, of the forward and of the first backward, that the second goes through
    with pytest.raises(RuntimeError, match=MODIFIED):
        g.sum().backward()


def test_a_write_to_a_saved_output_between_the_two_backwards_is_refused():
    x = core.randn(3, requires_grad=True)
    y = x.exp()
    y.sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    with core.no_grad():
        y.add_(1)  # the second backward rebuilds exp's output from the same storage
    with pytest.raises(RuntimeError, match=MODIFIED):
        g.sum().backward()


# ---- no leaks: every node of a graph is freed once nothing holds it

def live():
    gc.collect()
    return core._C._live_autograd_nodes()


def graph(x, w):
    h = F.linear(x, w).tanh().sigmoid()
    h = core.softmax(h, -1) + core.log_softmax(h, 0) + h.exp().sqrt() + h.relu() + (h ** 2).rsqrt()
    h = h[1:, ::2].sum() + h[0].std() + core.logsumexp(h, 1).sum() + h[core.tensor([0, 2])].pow(h[:2]).mean()
    return h + F.gelu(x).sum() + F.layer_norm(x, [4]).var()


def test_the_counter_sees_a_held_graph():
    base = live()
    x = core.randn(3, 4, requires_grad=True)
    y = graph(x, core.randn(5, 4))
    assert live() > base
    del y
    assert live() == base


@pytest.mark.parametrize("mode", ["plain", "create_graph", "create_graph_then_second"])
def test_graphs_are_freed_after_backward(mode):
    base = live()
    x = core.randn(3, 4, dtype=core.float64, requires_grad=True)
    w = core.randn(5, 4, dtype=core.float64, requires_grad=True)
    y = graph(x, w)
    y.backward(create_graph=mode != "plain")  # create_graph keeps the graph (retain_graph): its nodes stay whole
    if mode == "create_graph_then_second":
        # a plain second backward releases the nodes it goes through: freeing must not depend on that
        gw = w.grad
        w.grad = None
        (gw * gw).sum().backward()
        del gw
    # under create_graph the gradients' graphs read x and w, which hold them as .grad: PyTorch's documented
    # cycle, cut by dropping the gradients
    del y
    x.grad = None
    w.grad = None
    assert live() == base
    del x, w
    assert live() == base


def test_a_second_backward_frees_its_graph_too():
    base = live()
    x = core.randn(4, dtype=core.float64, requires_grad=True)
    y = (x.exp() * x.sin()).sum()
    y.backward(create_graph=True)
    g = x.grad
    x.grad = None
    (g * g).sum().backward()
    assert x.grad is not None
    del y, g
    x.grad = None
    assert live() == base
