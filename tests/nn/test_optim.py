"""Optimizers and schedulers against update rules written out in numpy (float64, several steps)."""
import math

import numpy as np
import pytest

import core
import core.nn as nn
from core.optim import SGD, Adam, AdamW, RMSprop
from core.optim.lr_scheduler import CosineAnnealingLR, LinearLR, StepLR

STEPS = 5


def quadratic_problem(seed: int = 0):
    """Parameters p and a loss sum(a * p^2 + b * p) whose gradient 2 a p + b numpy can follow."""
    rng = np.random.default_rng(seed)
    p0 = [rng.normal(size=(3, 4)), rng.normal(size=(5,))]
    a = [rng.uniform(0.5, 2.0, size=x.shape) for x in p0]
    b = [rng.normal(size=x.shape) for x in p0]
    params = [nn.Parameter(core.tensor(x, dtype=core.float64)) for x in p0]

    def loss():
        total = None
        for p, ai, bi in zip(params, a, b):
            term = (p * p * core.tensor(ai) + p * core.tensor(bi)).sum()
            total = term if total is None else total + term
        return total

    def grads(ps):
        return [2 * ai * x + bi for x, ai, bi in zip(ps, a, b)]

    return params, loss, [x.copy() for x in p0], grads


def run(opt_factory, steps=STEPS, seed=0):
    params, loss, p0, grads = quadratic_problem(seed)
    opt = opt_factory(params)
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()
    return [p.detach().numpy() for p in params], p0, grads


def sgd_reference(p0, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False,
                  steps=STEPS):
    ps = [x.copy() for x in p0]
    bufs = [None] * len(ps)
    for _ in range(steps):
        gs = grads(ps)
        for i, (p, g) in enumerate(zip(ps, gs)):
            g = -g if maximize else g
            g = g + weight_decay * p
            if momentum:
                bufs[i] = g.copy() if bufs[i] is None else momentum * bufs[i] + (1 - dampening) * g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            ps[i] = p - lr * g
    return ps


def adam_reference(p0, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False,
                   steps=STEPS):
    b1, b2 = betas
    ps = [x.copy() for x in p0]
    m = [np.zeros_like(x) for x in ps]
    v = [np.zeros_like(x) for x in ps]
    vmax = [np.zeros_like(x) for x in ps]
    for t in range(1, steps + 1):
        gs = grads(ps)
        for i, g in enumerate(gs):
            p = ps[i]
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            vmax[i] = np.maximum(vmax[i], v[i])
            vv = vmax[i] if amsgrad else v[i]
            denom = np.sqrt(vv) / math.sqrt(1 - b2 ** t) + eps
            ps[i] = p - lr / (1 - b1 ** t) * m[i] / denom
    return ps


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.05, momentum=0.9, weight_decay=0.1, nesterov=True),
    dict(lr=0.02, weight_decay=0.5, maximize=True),
]


@pytest.mark.parametrize("kw", SGD_CASES, ids=[str(k) for k in SGD_CASES])
def test_sgd_matches_numpy_rule(kw):
    ours, p0, grads = run(lambda ps: SGD(ps, **kw))
    for o, r in zip(ours, sgd_reference(p0, grads, **kw)):
        np.testing.assert_allclose(o, r, rtol=1e-12, atol=1e-12)


ADAM_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.05, amsgrad=True),
]


@pytest.mark.parametrize("kw", ADAM_CASES, ids=[str(k) for k in ADAM_CASES])
def test_adam_matches_numpy_rule(kw):
    ours, p0, grads = run(lambda ps: Adam(ps, **kw))
    for o, r in zip(ours, adam_reference(p0, grads, **kw)):
        np.testing.assert_allclose(o, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.05, weight_decay=0.3), dict(lr=0.05, weight_decay=0.1,
                                                                                     amsgrad=True)])
def test_adamw_matches_numpy_rule_with_decoupled_decay(kw):
    ours, p0, grads = run(lambda ps: AdamW(ps, **kw))
    ref = adam_reference(p0, grads, decoupled=True, **{"weight_decay": 1e-2, **kw})
    for o, r in zip(ours, ref):
        np.testing.assert_allclose(o, r, rtol=1e-12, atol=1e-12)


def test_adamw_differs_from_adam_with_l2_penalty():
    adamw, _, _ = run(lambda ps: AdamW(ps, lr=0.05, weight_decay=0.3))
    adam, _, _ = run(lambda ps: Adam(ps, lr=0.05, weight_decay=0.3))
    assert not np.allclose(adamw[0], adam[0])


def test_parameters_without_grad_are_left_alone():
    a = nn.Parameter(core.ones(2))
    b = nn.Parameter(core.ones(2))
    opt = SGD([a, b], lr=1.0, momentum=0.9)
    (a * 3).sum().backward()
    opt.step()
    np.testing.assert_array_equal(a.detach().numpy(), [-2, -2])
    np.testing.assert_array_equal(b.detach().numpy(), [1, 1])
    assert b not in opt.state


def test_param_groups_override_defaults():
    a = nn.Parameter(core.ones(1))
    b = nn.Parameter(core.ones(1))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a + b).sum().backward()
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.5)
    assert opt.param_groups[1]["momentum"] == 0.0


def test_optimizer_argument_errors():
    p = nn.Parameter(core.ones(1))
    with pytest.raises(ValueError, match="lr"):
        SGD([p])
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta"):
        Adam([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty"):
        Adam([])
    with pytest.raises(TypeError, match="single Tensor"):
        Adam(p)
    with pytest.raises(ValueError, match="more than one"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_zero_grad_to_none_or_zero():
    p = nn.Parameter(core.ones(2))
    opt = Adam([p])
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0, 0])
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_loss():
    params, loss, _, _ = quadratic_problem()
    opt = SGD(params, lr=0.01)

    def closure():
        opt.zero_grad()
        value = loss()
        value.backward()
        return value

    first = opt.step(closure).item()
    assert opt.step(closure).item() < first


@pytest.mark.parametrize("factory", [lambda ps: SGD(ps, lr=0.05, momentum=0.9),
                                     lambda ps: AdamW(ps, lr=0.05, amsgrad=True),
                                     lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, centered=True)],
                         ids=["sgd", "adamw", "rmsprop"])
def test_state_dict_resume_gives_the_same_trajectory(factory):
    straight, _, _ = run(factory, steps=6)
    params, loss, _, _ = quadratic_problem()
    opt = factory(params)
    for _ in range(3):
        opt.zero_grad()
        loss().backward()
        opt.step()
    saved = opt.state_dict()
    resumed = factory(params)
    resumed.load_state_dict(saved)
    for _ in range(3):
        resumed.zero_grad()
        loss().backward()
        resumed.step()
    for o, r in zip([p.detach().numpy() for p in params], straight):
        np.testing.assert_array_equal(o, r)


def test_load_state_dict_refuses_a_different_layout():
    a = SGD([nn.Parameter(core.ones(1))], lr=0.1)
    b = SGD([{"params": [nn.Parameter(core.ones(1))]}, {"params": [nn.Parameter(core.ones(1))]}], lr=0.1)
    with pytest.raises(ValueError, match="parameter groups"):
        a.load_state_dict(b.state_dict())


def schedule(sched_factory, epochs, lr=1.0):
    opt = SGD([nn.Parameter(core.ones(1))], lr=lr)
    sched = sched_factory(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(epochs):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        assert sched.get_last_lr() == [lrs[-1]]
    return lrs


def test_step_lr():
    lrs = schedule(lambda o: StepLR(o, step_size=3, gamma=0.5), 9, lr=0.8)
    np.testing.assert_allclose(lrs, [0.8 * 0.5 ** (e // 3) for e in range(10)], rtol=1e-15)


def test_cosine_annealing_lr():
    lrs = schedule(lambda o: CosineAnnealingLR(o, T_max=10, eta_min=0.1), 10, lr=1.0)
    expected = [0.1 + 0.9 * (1 + np.cos(np.pi * e / 10)) / 2 for e in range(11)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert lrs[0] == 1.0 and lrs[-1] == pytest.approx(0.1)


def test_linear_lr_warms_up_then_holds():
    lrs = schedule(lambda o: LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4), 7, lr=0.4)
    np.testing.assert_allclose(lrs, [0.1, 0.175, 0.25, 0.325, 0.4, 0.4, 0.4, 0.4], rtol=1e-12)


def test_scheduler_state_dict_round_trip():
    opt = SGD([nn.Parameter(core.ones(1))], lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(3):
        sched.step()
    other = StepLR(SGD([nn.Parameter(core.ones(1))], lr=1.0), step_size=5)
    other.load_state_dict(sched.state_dict())
    assert other.last_epoch == 3 and other.step_size == 2
    other.step()
    assert other.get_last_lr() == pytest.approx([0.01])


def _rmsprop_reference(w, grads, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """PyTorch's RMSprop rule in float64 numpy."""
    w = w.astype(np.float64)
    v, a, b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        g = -g if maximize else g.astype(np.float64)
        g = g + weight_decay * w
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            a = alpha * a + (1 - alpha) * g
            d = np.sqrt(v - a * a) + eps
        else:
            d = np.sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / d
            w = w - lr * b
        else:
            w = w - lr * g / d
    return w


@pytest.mark.parametrize("options", [{}, {"momentum": 0.9}, {"centered": True},
                                     {"centered": True, "momentum": 0.5, "weight_decay": 0.1},
                                     {"maximize": True, "alpha": 0.9}], ids=str)
def test_rmsprop_follows_pytorchs_rule(options):
    rng = np.random.default_rng(11)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    grads = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(6)]
    p = core.nn.Parameter(core.tensor(w))
    opt = RMSprop([p], lr=0.01, **options)
    for g in grads:
        p.grad = core.tensor(g)
        opt.step()
    settings = {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False,
                "maximize": False, **options}
    np.testing.assert_allclose(p.detach().numpy(), _rmsprop_reference(w, grads, 0.01, **settings), rtol=1e-5,
                               atol=1e-6)


def test_rmsprop_refuses_negative_settings_and_trains():
    with pytest.raises(ValueError, match="RMSprop: invalid alpha -0.5"):
        RMSprop([core.nn.Parameter(core.zeros(2))], alpha=-0.5)
    params, loss, _, _ = quadratic_problem()
    opt = RMSprop(params, lr=0.05)
    first = loss().item()
    for _ in range(40):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().item() < 0.1 * first
