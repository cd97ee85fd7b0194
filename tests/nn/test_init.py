"""core.nn.init: formulas (bounds, standard deviations), determinism under core.manual_seed, default layer inits."""
import math

import numpy as np
import pytest

import core
import core.nn as nn
from core.nn import init


def values(t):
    return t.detach().double().numpy()


def test_same_seed_same_draws_and_different_seed_different_draws():
    def draw(seed):
        core.manual_seed(seed)
        return values(init.normal_(core.empty(50, 20))), values(nn.Linear(20, 10).weight)
    a, b, c = draw(5), draw(5), draw(6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_uniform_and_normal_statistics():
    core.manual_seed(0)
    u = values(init.uniform_(core.empty(200, 200), -2.0, 3.0))
    assert u.min() >= -2.0 and u.max() < 3.0
    assert u.mean() == pytest.approx(0.5, abs=0.03)
    n = values(init.normal_(core.empty(200, 200, dtype=core.float64), mean=1.0, std=2.0))
    assert n.mean() == pytest.approx(1.0, abs=0.03) and n.std() == pytest.approx(2.0, rel=0.02)


def test_constant_zeros_ones():
    t = core.empty(3, 2)
    assert values(init.constant_(t, 0.25)).tolist() == [[0.25] * 2] * 3
    assert values(init.zeros_(t)).sum() == 0 and values(init.ones_(t)).sum() == 6


def test_fan_in_and_fan_out_count_the_receptive_field():
    assert init._calculate_fan_in_and_fan_out(core.empty(16, 8, 3, 3)) == (72, 144)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init._calculate_fan_in_and_fan_out(core.empty(5))


def test_calculate_gain_table():
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unsupported"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("fn, bound", [
    (lambda t: init.xavier_uniform_(t, gain=2.0), 2.0 * math.sqrt(6 / (300 + 100))),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 1 / math.sqrt(300)),
    (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2) * math.sqrt(3 / 100)),
])
def test_uniform_initialisers_fill_their_bound(fn, bound):
    core.manual_seed(1)
    w = values(fn(core.empty(100, 300)))
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


@pytest.mark.parametrize("fn, std", [
    (lambda t: init.xavier_normal_(t), math.sqrt(2 / (300 + 100))),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2) / math.sqrt(300)),
])
def test_normal_initialisers_have_their_std(fn, std):
    core.manual_seed(2)
    assert values(fn(core.empty(100, 300))).std() == pytest.approx(std, rel=0.03)


def test_trunc_normal_stays_inside_and_matches_the_truncated_std():
    core.manual_seed(3)
    w = values(init.trunc_normal_(core.empty(200, 200), mean=0.5, std=1.0, a=-0.5, b=1.5))
    assert w.min() >= -0.5 and w.max() <= 1.5
    # N(0, 1) truncated to [-1, 1] has standard deviation 0.5379.
    assert w.std() == pytest.approx(0.5379, rel=0.02)
    assert w.mean() == pytest.approx(0.5, abs=0.02)
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(core.empty(2), a=1.0, b=0.0)


def test_init_keeps_requires_grad_and_records_no_graph():
    p = nn.Parameter(core.empty(4, 4))
    init.normal_(p)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None


def test_half_precision_tensors_are_filled():
    t = init.uniform_(core.empty(64).bfloat16(), -1, 1)
    assert t.dtype == core.bfloat16 and 0 < np.abs(values(t)).max() <= 1


def test_linear_default_init_is_pytorchs():
    core.manual_seed(4)
    fc = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (fc.weight, fc.bias):
        w = values(p)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound


def test_no_init_draws_nothing_and_leaves_the_generator_where_it_was():
    core.manual_seed(7)
    expected = values(core.rand(5))
    core.manual_seed(7)
    with init.no_init():
        fc = nn.Linear(300, 200)
        norm = nn.LayerNorm(4)
        assert init.normal_(core.zeros(3)).numpy().tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_array_equal(values(core.rand(5)), expected)
    assert fc.weight.shape == (200, 300) and norm.weight.shape == (4,)


def test_no_init_ends_with_its_block_even_on_an_exception():
    with pytest.raises(RuntimeError):
        with init.no_init():
            raise RuntimeError("boom")
    assert values(init.ones_(core.zeros(2))).tolist() == [1.0, 1.0]
    core.manual_seed(1)
    assert values(nn.Linear(4, 3).weight).std() > 0
