"""Tensor.register_hook, retain_grad and retains_grad: hooks see a tensor's gradient during backward and may replace
it (a leaf's once, with its whole gradient, before .grad; a non-leaf's summed over its consumers), retained
non-leaves keep the gradient after every hook, and handles take hooks off. Expected values are PyTorch 2.13's."""
from __future__ import annotations

import gc
import sys
import threading
import weakref

import numpy as np
import pytest

import core


def vec(*values, grad=True):
    return core.tensor(list(values), requires_grad=grad)


def live():
    gc.collect()
    return core._C._live_autograd_nodes()


def test_leaf_hook_runs_once_with_the_whole_gradient_before_it_reaches_grad():
    x = vec(1.0, 2.0, 3.0)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    ((x * x).sum() + x.sum()).backward()
    assert seen == [[3.0, 5.0, 7.0]]
    assert x.grad.tolist() == [3.0, 5.0, 7.0]


def test_leaf_hook_result_replaces_the_gradient_added_to_grad():
    x = vec(1.0, 2.0)
    x.register_hook(lambda g: g * 10)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [60.0, 60.0]


def test_hook_on_a_leaf_root_sees_the_seed():
    x = core.tensor(2.0, requires_grad=True)
    x.register_hook(lambda g: g * 5)
    x.backward()
    assert x.grad.item() == 5.0


def test_non_leaf_hook_changes_what_flows_further_down():
    x = vec(1.0, 2.0, 3.0)
    h = x * 2
    h.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    assert x.grad.tolist() == [80.0, 160.0, 240.0]


def test_hooks_run_in_registration_order_each_seeing_the_last_result():
    x = vec(1.0)
    order = []
    x.register_hook(lambda g: order.append(("first", g.item())) or g + 1)
    x.register_hook(lambda g: order.append(("second", g.item())) or g * 3)
    (x * 2).sum().backward()
    assert order == [("first", 2.0), ("second", 3.0)]
    assert x.grad.item() == 9.0


def test_retain_grad_keeps_a_non_leaf_gradient_after_its_hooks_and_accumulates():
    x = vec(1.0, 2.0, 3.0)
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g * 10)  # registered after retain_grad, still runs before it (as in PyTorch)
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    assert h.grad.tolist() == [40.0, 80.0, 120.0]
    loss.backward()
    assert h.grad.tolist() == [80.0, 160.0, 240.0]


def test_retains_grad_is_true_only_for_a_retained_non_leaf():
    x = vec(1.0)
    h = x * 2
    assert not h.retains_grad and not x.retains_grad
    h.retain_grad()
    x.retain_grad()  # a leaf keeps its gradient anyway: nothing changes
    assert h.retains_grad and not x.retains_grad
    assert h.grad is None


def test_without_retain_grad_a_non_leaf_gets_no_grad():
    x = vec(1.0)
    h = x * 2
    h.sum().backward()
    assert h.grad is None


def test_retain_grad_follows_an_in_place_write_and_hooks_stay_with_the_old_value():
    x = vec(1.0, 2.0, 3.0)
    h = x * 2
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.mul_(3)
    assert h.retains_grad
    (h * h).sum().backward()
    assert h.grad.tolist() == [12.0, 24.0, 36.0]
    assert seen == [[36.0, 72.0, 108.0]]


def test_autograd_grad_runs_the_hooks_of_inputs_and_of_tensors_on_the_way():
    x = vec(1.0, 2.0, 3.0)
    x.register_hook(lambda g: g * 100)
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g + 1)
    (gx,) = core.autograd.grad((h * h).sum(), x)
    assert gx.tolist() == [1000.0, 1800.0, 2600.0]
    assert h.grad.tolist() == [5.0, 9.0, 13.0]
    assert x.grad is None
    (gh,) = core.autograd.grad((h * h).sum(), h)
    assert gh.tolist() == [5.0, 9.0, 13.0]


def test_backward_with_inputs_adds_the_hooked_gradient():
    x = vec(1.0, 2.0)
    x.register_hook(lambda g: -g)
    (x * 4).sum().backward(inputs=[x])
    assert x.grad.tolist() == [-4.0, -4.0]


def test_removed_hook_no_longer_runs():
    x = vec(1.0, 2.0)
    h = x * 2
    handle = h.register_hook(lambda g: g * 0)
    other = x.register_hook(lambda g: g + 1)
    handle.remove()
    handle.remove()
    with other:
        h.sum().backward(retain_graph=True)
    assert x.grad.tolist() == [3.0, 3.0]
    h.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_a_hook_may_remove_itself_while_it_runs():
    x = vec(1.0)
    calls = []

    def once(g):
        calls.append(g.item())
        handle.remove()
    handle = x.register_hook(once)
    x.register_hook(lambda g: g * 2)
    (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert calls == [1.0]
    assert x.grad.item() == 4.0


def test_hooks_under_create_graph_apply_to_second_derivatives():
    x = core.tensor(2.0, requires_grad=True)
    x.register_hook(lambda g: g * 2)
    (dy,) = core.autograd.grad(x ** 3, x, create_graph=True)
    assert dy.item() == 24.0  # 2 * 3x^2
    (d2,) = core.autograd.grad(dy, x)
    assert d2.item() == 48.0  # 2 * d/dx (6x^2)


def test_hook_errors_name_what_was_wrong():
    x = vec(1.0, 2.0, 3.0)
    x.register_hook(lambda g: g[:2])
    with pytest.raises(ValueError, match=r"register_hook: a hook returned a gradient of shape \(2,\) for a tensor of "
                                         r"shape \(3,\)"):
        x.sum().backward()
    y = vec(1.0)
    y.register_hook(lambda g: g.double())
    with pytest.raises(TypeError, match="returned a float64 gradient for a float32 tensor"):
        y.sum().backward()
    z = vec(1.0)
    z.register_hook(lambda g: 3)
    with pytest.raises(TypeError, match="a hook must return a Tensor or None, got int"):
        z.sum().backward()


def test_an_exception_in_a_hook_reaches_the_caller_as_itself():
    x = vec(1.0)

    def boom(g):
        raise KeyError("from the hook")
    x.register_hook(boom)
    with pytest.raises(KeyError, match="from the hook"):
        (x * 2).sum().backward()


def test_registration_refuses_tensors_without_grad_and_non_callables():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        vec(1.0, grad=False).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="can't retain_grad on a tensor that has requires_grad=False"):
        vec(1.0, grad=False).retain_grad()
    with pytest.raises(TypeError, match="register_hook: hook must be callable, got int"):
        vec(1.0).register_hook(5)


def test_hooks_run_when_backward_is_called_from_another_thread():
    x = vec(1.0, 2.0)
    x.register_hook(lambda g: g * 7)
    worker = threading.Thread(target=lambda: (x * 1).sum().backward())
    worker.start()
    worker.join()
    assert x.grad.tolist() == [7.0, 7.0]


def test_a_graph_with_hooks_and_retained_tensors_is_freed():
    base = live()
    x = vec(1.0, 2.0)
    h = (x * 2).tanh()
    h.retain_grad()
    h.register_hook(lambda g: g * 2)
    h.sum().backward()
    assert live() > base
    del h
    assert live() == base


def test_matches_pytorch_on_a_network_with_hooks():
    torch = pytest.importorskip("torch")
    rs = np.random.default_rng(3)
    x0, w0, v0 = rs.standard_normal((4, 3)), rs.standard_normal((3, 5)), rs.standard_normal(5)

    def run(lib, tensor):
        x, w, v = tensor(x0), tensor(w0), tensor(v0)
        w.register_hook(lambda g: g.clamp(-0.5, 0.5))
        h = (x @ w).tanh()
        h.retain_grad()
        h.register_hook(lambda g: g * v)
        loss = (h * h).sum() + (h @ v).sum()
        loss.backward()
        return [t.grad.detach().numpy() for t in (x, w, h)]

    ours = run(core, lambda a: core.tensor(a, requires_grad=True))
    theirs = run(torch, lambda a: torch.tensor(a, requires_grad=True))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-12)


class _ScaledLinear(core.nn.Module):
    """A module whose weight hook closes over the module itself: module -> weight -> hook -> closure -> module."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = core.nn.Linear(3, 2)
        self.scale = 2.0
        self.fc.weight.register_hook(lambda g: g * self.scale)

    def forward(self, x):
        return self.fc(x)


def test_a_module_whose_weight_hook_closes_over_the_module_is_collected():
    net = _ScaledLinear()
    net(core.ones(4, 3)).sum().backward()
    assert net.fc.weight.grad.tolist() == [[8.0, 8.0, 8.0]] * 2  # the hook ran: 2 * (4 rows of ones)
    module, weight = weakref.ref(net), weakref.ref(net.fc.weight)
    del net
    gc.collect()
    assert module() is None and weight() is None


def hook_on_itself(t, seen):
    """Registers a hook whose closure holds t itself (a `del` of the caller's name leaves the cycle whole)."""
    t.register_hook(lambda g: seen.append(t.shape) or g * t.detach())
    return t


def test_a_leaf_whose_hook_refers_to_the_leaf_is_collected():
    seen = []
    x = hook_on_itself(vec(1.0, 2.0), seen)
    (x * 3).sum().backward()
    assert seen == [(2,)]
    assert x.grad.tolist() == [3.0, 6.0]
    ref = weakref.ref(x)
    del x
    gc.collect()
    assert ref() is None


def test_a_non_leaf_whose_hook_refers_to_the_non_leaf_is_collected_with_its_graph():
    base, seen = live(), []
    x = vec(1.0, 2.0)
    h = hook_on_itself(x * 3, seen)
    h.sum().backward()
    assert seen == [(2,)]
    assert x.grad.tolist() == [9.0, 18.0]  # the hook: [1, 1] * h = [3, 6]; times 3
    ref = weakref.ref(h)
    del h
    assert live() == base
    assert ref() is None


def test_a_hook_on_a_non_leaf_whose_python_object_was_collected_still_runs():
    x = vec(1.0, 2.0)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    h.itself = h  # a cycle through its __dict__: only the collector frees this object
    loss = (h * h).sum()
    ref = weakref.ref(h)
    del h
    gc.collect()
    assert ref() is None
    loss.backward()
    assert seen == [[4.0, 8.0]]
    assert x.grad.tolist() == [80.0, 160.0]


PASSES = 3000


def test_hooks_added_and_removed_on_one_thread_while_another_runs_backward():
    x = vec(1.0, 2.0)
    for _ in range(200):  # a long list, so that the engine's copy of it overlaps the other thread's changes
        x.register_hook(lambda g: None)
    stop, failures = threading.Event(), []

    def churn():
        try:
            while not stop.is_set():
                handles = [x.register_hook(lambda g: g * 1) for _ in range(50)]
                for handle in handles:
                    handle.remove()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            failures.append(e)

    worker = threading.Thread(target=churn)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # each hook takes the GIL from the busy worker: hand it over quickly
    worker.start()
    try:
        for _ in range(PASSES):  # the unguarded list failed within a few hundred passes
            x.grad = None
            (x * 3).sum().backward()
            assert x.grad.tolist() == [3.0, 3.0]
    finally:
        stop.set()
        worker.join()
        sys.setswitchinterval(interval)
    assert failures == []
