"""Module forward hooks: PyTorch's call order, return-value replacement, with_kwargs, removal, and that hooks
live beside the state dict, not in it."""
import gc
import weakref

import numpy as np
import pytest

import core
import core.nn as nn


class Scale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(core.tensor([2.0, 3.0]))

    def forward(self, x, shift=0.0):
        return x * self.w + shift


def test_pre_hook_sees_the_arguments_and_its_result_replaces_them():
    m = Scale()
    seen = []
    m.register_forward_pre_hook(lambda mod, args: seen.append((mod, args)))
    m.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))
    x = core.tensor([1.0, 1.0])
    assert m(x).tolist() == [4.0, 6.0]
    assert seen[0][0] is m and seen[0][1][0] is x


def test_pre_hook_returning_one_value_is_taken_as_the_only_argument():
    m = Scale()
    m.register_forward_pre_hook(lambda mod, args: core.zeros(2))
    assert m(core.ones(2)).tolist() == [0.0, 0.0]


def test_forward_hook_gets_the_pre_hooked_arguments_and_may_replace_the_output():
    m = Scale()
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 10,))
    got = {}
    m.register_forward_hook(lambda mod, args, out: got.update(args=args, out=out))
    m.register_forward_hook(lambda mod, args, out: out.sum())
    out = m(core.ones(2))
    assert got["args"][0].tolist() == [10.0, 10.0]
    assert got["out"].tolist() == [20.0, 30.0]
    assert out.item() == 50.0


def test_hooks_with_kwargs_see_and_replace_keyword_arguments():
    m = Scale()
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"shift": kwargs["shift"] * 2}), with_kwargs=True)
    got = {}
    m.register_forward_hook(lambda mod, args, kwargs, out: got.update(kwargs=kwargs), with_kwargs=True)
    assert m(core.zeros(2), shift=1.5).tolist() == [3.0, 3.0]
    assert got["kwargs"] == {"shift": 3.0}


def test_pre_hook_with_kwargs_must_return_args_and_kwargs():
    m = Scale()
    m.register_forward_pre_hook(lambda mod, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(TypeError, match=r"with_kwargs=True must return None or a tuple \(new_args, new_kwargs\), "
                                        r"got 5"):
        m(core.zeros(2))


def test_hooks_run_in_registration_order_and_prepend_puts_one_first():
    m = Scale()
    order = []
    m.register_forward_hook(lambda *a: order.append("first"))
    m.register_forward_hook(lambda *a: order.append("second"))
    m.register_forward_hook(lambda *a: order.append("prepended"), prepend=True)
    m.register_forward_pre_hook(lambda *a: order.append("pre"))
    m(core.zeros(2))
    assert order == ["pre", "prepended", "first", "second"]


def test_removed_hook_no_longer_runs_and_a_second_remove_does_nothing():
    m = Scale()
    calls = []
    handle = m.register_forward_hook(lambda *a: calls.append(1))
    kept = m.register_forward_pre_hook(lambda *a: calls.append(2), with_kwargs=True)
    m(core.zeros(2))
    handle.remove()
    handle.remove()
    m(core.zeros(2))
    assert calls == [2, 1, 2]
    assert handle.id != kept.id
    kept.remove()
    assert not m._forward_pre_hooks and not m._forward_pre_hooks_with_kwargs


def test_handle_as_a_context_manager_removes_the_hook_at_the_end_of_the_block():
    m = Scale()
    with m.register_forward_hook(lambda mod, args, out: out * 0):
        assert m(core.ones(2)).tolist() == [0.0, 0.0]
    assert m(core.ones(2)).tolist() == [2.0, 3.0]


def test_hooks_on_a_submodule_run_when_the_parent_is_called():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    feats = {}
    net[1].register_forward_hook(lambda mod, args, out: feats.update(hidden=out))
    out = net(core.randn(5, 3))
    assert feats["hidden"].shape == (5, 4)
    np.testing.assert_allclose(net[2](feats["hidden"]).detach().numpy(), out.detach().numpy())


def test_gradients_flow_through_a_replaced_output():
    m = Scale()
    m.register_forward_hook(lambda mod, args, out: out * 3)
    m(core.ones(2)).sum().backward()
    assert m.w.grad.tolist() == [3.0, 3.0]


def test_hooks_survive_state_dict_round_trips_and_are_not_saved():
    m = Scale()
    m.register_forward_hook(lambda mod, args, out: out + 100)
    sd = m.state_dict()
    assert list(sd) == ["w"]
    other = Scale()
    other.w.data.fill_(1.0)
    m.load_state_dict(other.state_dict())
    assert m(core.ones(2)).tolist() == [101.0, 101.0]
    m.double()
    assert m(core.ones(2, dtype=core.float64)).tolist() == [101.0, 101.0]


def test_a_handle_does_not_keep_its_module_alive():
    m = Scale()
    handle = m.register_forward_hook(lambda *a: None)
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None
    handle.remove()


def test_a_hook_that_is_not_callable_is_refused_at_registration():
    with pytest.raises(TypeError, match="register_forward_hook: hook must be callable, got int"):
        Scale().register_forward_hook(3)
    with pytest.raises(TypeError, match="register_forward_pre_hook: hook must be callable, got str"):
        Scale().register_forward_pre_hook("hook")
