"""Behaviour of the shape ops beyond the numpy specs: views vs copies, dtypes, ties and NaN, stability, and the
errors users get."""
import math

import numpy as np
import pytest

import core


def test_split_and_chunk_return_views_of_the_input():
    t = core.zeros(6, 2)
    parts = t.split(4)
    assert [p.shape for p in parts] == [(4, 2), (2, 2)]
    parts[1][0, 0] = 5.0
    assert t[4, 0].item() == 5.0
    assert all(p._shares_storage(t) for p in t.chunk(4))
    assert isinstance(core.chunk(t, 2), tuple)


def test_chunk_may_return_fewer_pieces_like_pytorch():
    assert [p.shape[0] for p in core.arange(6).chunk(4)] == [2, 2, 2]


def test_cat_stack_flip_repeat_return_new_storage():
    t = core.ones(2, 3)
    for out in (core.cat([t, t]), core.stack([t, t]), t.flip(0), t.repeat(1, 2), t.tril()):
        assert not out._shares_storage(t)


def test_cat_promotes_dtypes_and_keeps_gradients_in_each_input_dtype():
    a = core.ones(2, dtype=core.float32, requires_grad=True)
    b = core.ones(3, dtype=core.float64, requires_grad=True)
    out = core.cat([a, core.zeros(2, dtype=core.int64), b])
    assert out.dtype == core.float64 and out.shape == (7,)
    (out * core.arange(7.0, dtype=core.float64)).sum().backward()
    assert a.grad.dtype == core.float32 and a.grad.tolist() == [0.0, 1.0]
    assert b.grad.tolist() == [4.0, 5.0, 6.0]


def test_sort_is_stable_and_puts_nan_last():
    t = core.tensor([2.0, float("nan"), 1.0, 2.0, 1.0])
    values, indices = t.sort()
    assert indices.tolist() == [2, 4, 0, 3, 1]
    assert math.isnan(values[-1].item())
    assert t.sort(descending=True).indices.tolist() == [1, 0, 3, 2, 4]
    assert t.argsort().tolist() == [2, 4, 0, 3, 1]


def test_topk_breaks_ties_by_lower_index_and_treats_nan_as_largest():
    t = core.tensor([[3.0, 1.0, 3.0, float("nan")]])
    assert t.topk(2).indices.tolist() == [[3, 0]]
    assert t.topk(2, largest=False).indices.tolist() == [[1, 0]]


def test_sort_and_topk_of_integers_and_half():
    ints = core.tensor([5, -2, 7, 0], dtype=core.int32)
    assert ints.sort().values.dtype == core.int32
    assert ints.sort().values.tolist() == [-2, 0, 5, 7]
    half = core.tensor([0.5, -1.5, 2.0]).to(core.bfloat16)
    values, indices = half.topk(1)
    assert values.dtype == core.bfloat16 and indices.tolist() == [2]


def test_topk_gradient_reaches_only_the_chosen_elements():
    x = core.tensor([1.0, 4.0, 2.0, 3.0], requires_grad=True)
    x.topk(2).values.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 1.0]


def test_cumsum_of_bool_and_int_gives_int64_and_dtype_argument_wins():
    assert core.tensor([True, True, False]).cumsum(0).tolist() == [1, 2, 2]
    assert core.tensor([1, 2], dtype=core.int32).cumsum(0).dtype == core.int64
    assert core.tensor([1, 2]).cumsum(0, dtype=core.float64).dtype == core.float64


def test_var_and_std_of_one_element_are_nan_with_correction_and_zero_without():
    t = core.tensor([3.0])
    assert math.isnan(t.var().item()) and math.isnan(t.std().item())
    assert t.var(correction=0).item() == 0.0
    assert t.var(unbiased=False).item() == 0.0


def test_std_gradient_is_zero_where_std_is_zero():
    x = core.full((3,), 2.0, dtype=core.float64, requires_grad=True)
    x.std().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_var_is_accurate_for_a_large_offset():
    x = core.tensor([1e4 + 1, 1e4 + 2, 1e4 + 3], dtype=core.float32)
    assert x.var().item() == pytest.approx(1.0, rel=1e-6)


def test_logsumexp_is_stable_for_large_and_infinite_inputs():
    assert core.tensor([1000.0, 1000.0]).logsumexp(0).item() == pytest.approx(1000.0 + math.log(2))
    assert core.tensor([-1000.0, -1000.0]).logsumexp(0).item() == pytest.approx(-1000.0 + math.log(2))
    assert core.tensor([float("inf"), 1.0]).logsumexp(0).item() == math.inf
    assert core.tensor([-math.inf, -math.inf]).logsumexp(0).item() == -math.inf
    assert core.tensor([1, 2]).logsumexp(0).dtype == core.float32


def test_logsumexp_requires_dim():
    with pytest.raises(TypeError, match="dim is required"):
        core.logsumexp(core.zeros(2), None)


def test_gather_is_the_inverse_of_scatter():
    x = core.tensor([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    idx = core.tensor([[2, 0], [1, 1]])
    assert x.gather(1, idx).tolist() == [[30.0, 10.0], [50.0, 50.0]]
    assert core.zeros(2, 3).scatter(1, idx, x.gather(1, idx)).tolist() == [[10.0, 0.0, 30.0], [0.0, 50.0, 0.0]]


def test_scatter_add_accumulates_repeated_indices_and_bool_adds_as_or():
    out = core.zeros(3).scatter_add(0, core.tensor([0, 0, 2, 0]), core.tensor([1.0, 2.0, 3.0, 4.0]))
    assert out.tolist() == [7.0, 0.0, 3.0]
    b = core.tensor([False, False]).scatter_add(0, core.tensor([1, 1]), core.tensor([True, True]))
    assert b.tolist() == [False, True]


def test_scatter_in_place_methods_write_into_the_tensor():
    t = core.zeros(4)
    t.scatter_(0, core.tensor([1, 3]), 2.0)
    assert t.tolist() == [0.0, 2.0, 0.0, 2.0]
    m = core.ones(2, 2)
    m.triu_(1)
    assert m.tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_tile_pads_missing_dims_with_ones():
    assert core.tile(core.ones(2, 3), (2,)).shape == (2, 6)
    assert core.ones(3).tile(2, 1).shape == (2, 3)


def test_unbind_gives_views_without_the_dim():
    t = core.arange(6).reshape(2, 3)
    rows = core.unbind(t, 1)
    assert [r.tolist() for r in rows] == [[0, 3], [1, 4], [2, 5]]
    assert rows[0]._shares_storage(t)


@pytest.mark.parametrize("call, error, message", [
    (lambda: core.cat([]), ValueError, "non-empty list"),
    (lambda: core.cat([core.zeros(2, 3), core.zeros(4, 5)], 1), ValueError, r"shape \(2, 3\).*shape \(4, 5\)"),
    (lambda: core.cat([core.zeros(2, 3), core.zeros(3)]), ValueError, "same number of dimensions"),
    (lambda: core.cat([core.zeros(())]), ValueError, "zero-dimensional"),
    (lambda: core.cat([core.zeros(2)], 1), IndexError, "dimension 1 is out of range"),
    (lambda: core.cat(core.zeros(2)), TypeError, "list or tuple"),
    (lambda: core.stack([core.zeros(2), core.zeros(3)]), ValueError, r"\(2,\) at entry 0 and \(3,\) at entry 1"),
    (lambda: core.stack([core.zeros(2)], 2), IndexError, "out of range"),
    (lambda: core.split(core.zeros(5), [2, 2]), ValueError, "add up to 4"),
    (lambda: core.split(core.zeros(5), 0), ValueError, "split_size must be positive"),
    (lambda: core.chunk(core.zeros(5), 0), ValueError, "greater than 0"),
    (lambda: core.zeros(3).tril(), ValueError, "at least 2 dimensions"),
    (lambda: core.zeros(2, 3).gather(1, core.tensor([[3]])), IndexError, "index 3 is out of bounds"),
    (lambda: core.zeros(2, 3).gather(1, core.tensor([[-1]])), IndexError, "index -1 is out of bounds"),
    (lambda: core.zeros(2, 3).gather(1, core.tensor([0])), ValueError, "as many dimensions"),
    (lambda: core.zeros(2, 3).gather(1, core.zeros(2, 1)), TypeError, "int64"),
    (lambda: core.zeros(2, 3).gather(1, core.zeros(3, 1, dtype=core.int64)), ValueError, "larger than the input"),
    (lambda: core.zeros(2).scatter(0, core.tensor([0]), core.zeros(1, dtype=core.float64)), TypeError, "dtype"),
    (lambda: core.zeros(2, 3).topk(4), IndexError, "k=4 is out of range"),
    (lambda: core.zeros(2, 3).sort(2), IndexError, "dimension 2 is out of range"),
    (lambda: core.zeros(2, 3).var(dim=(0, 0)), ValueError, "more than once"),
    (lambda: core.zeros(2, dtype=core.int64).std(), TypeError, "floating point"),
    (lambda: core.zeros(2, 3).flip((1, -1)), ValueError, "more than once"),
    (lambda: core.zeros(2, 3).repeat(2), ValueError, "at least the number of dimensions"),
    (lambda: core.zeros(2).repeat(-1), ValueError, "non-negative"),
    (lambda: core.zeros(2).cumsum(1), IndexError, "out of range"),
])
def test_errors_name_the_op_and_the_values(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_methods_match_functions():
    x = core.tensor(np.arange(12.0).reshape(3, 4))
    assert x.cumsum(1).tolist() == core.cumsum(x, 1).tolist()
    assert x.flip(0, 1).tolist() == core.flip(x, [0, 1]).tolist()
    assert x.logsumexp(1).tolist() == core.logsumexp(x, 1).tolist()
    assert core.concat([x, x]).shape == core.concatenate([x, x], axis=0).shape == (6, 4)


# ---------------------------------------------------------------------------------------------- what the sweep
# against PyTorch found

@pytest.mark.parametrize("op", ["amax", "amin", "logsumexp"])
def test_reducing_non_empty_dims_of_an_empty_tensor_gives_an_empty_result(op):
    assert getattr(core.zeros(3, 0), op)(0).shape == (0,)
    assert getattr(core.zeros(0, 3), op)(1, keepdim=True).shape == (0, 1)


def test_amax_over_an_empty_dim_names_the_dim_and_the_shape():
    with pytest.raises(ValueError, match=r"dimension 0 of size 0 \(shape \(0, 3\)\)"):
        core.zeros(0, 3).amax(0)
    with pytest.raises(ValueError, match=r"empty tensor of shape \(3, 0\) to one value; pass dim"):
        core.zeros(3, 0).amin()
    assert core.zeros(0, 3).logsumexp(0).tolist() == [-math.inf] * 3


def test_mean_of_half_precision_accumulates_in_float32():
    assert core.ones(70000, dtype=core.float16).mean().item() == 1.0
    assert core.full((1, 100000), 1.5, dtype=core.bfloat16).mean(-1).item() == 1.5
    assert core.ones(4, dtype=core.float16).mean().dtype == core.float16


def test_squeeze_takes_a_tuple_of_dims():
    t = core.zeros(1, 2, 1, 1)
    assert t.squeeze((0, -1)).shape == (2, 1)
    assert core.squeeze(t, [0, 1]).shape == (2, 1, 1)
    with pytest.raises(IndexError, match="out of range"):
        t.squeeze((0, 4))
    with pytest.raises(ValueError, match="more than once"):
        t.squeeze((0, -4))


def test_writing_into_an_expanded_view_is_refused_where_positions_share_an_element():
    base = core.zeros(3)
    wide = base.expand(2, 3)
    for write in (lambda: wide.copy_(core.ones(2, 3)), lambda: wide.add_(1), lambda: wide.__setitem__(slice(None), 7),
                  lambda: wide.mul_(core.tensor([[1.0], [2.0]]))):
        with pytest.raises(RuntimeError, match=r"more than one element of the written-to tensor \(shape \(2, 3\), "
                                               r"strides \(0, 1\)\) refers to a single memory location"):
            write()
    assert base.tolist() == [0.0, 0.0, 0.0]
    wide.fill_(2.0)  # one value for every position: allowed, as in PyTorch
    assert base.tolist() == [2.0, 2.0, 2.0]
    wide[1] = core.tensor([4.0, 5.0, 6.0])  # a row repeats no element
    assert base.tolist() == [4.0, 5.0, 6.0]
    core.zeros(1).expand(1, 1).copy_(core.ones(1, 1))  # a stride-0 dim of size 1 shares nothing


def test_roll_returns_a_copy_even_when_nothing_moves():
    t = core.arange(4.0)
    for out in (t.roll(0), t.roll(4, 0), t.roll(-8)):
        assert out.tolist() == t.tolist() and not out._shares_storage(t)
    empty = core.zeros(0, 2)
    assert not empty.roll(1, 0)._shares_storage(empty)


def test_roll_gradient_is_rolled_back():
    x = core.arange(5.0, requires_grad=True)
    (x.roll(2) * core.arange(5.0)).sum().backward()
    assert x.grad.tolist() == [2.0, 3.0, 4.0, 0.0, 1.0]


@pytest.mark.parametrize("call, error, message", [
    (lambda t: t.roll((1, 2)), ValueError, r"without dims, shifts must be one integer, got \(1, 2\)"),
    (lambda t: t.roll((1, 2), 0), ValueError, r"shifts \(1, 2\) and dims \(0,\) must have the same"),
    (lambda t: t.roll((), ()), ValueError, "non-zero length"),
    (lambda t: t.roll(1, 2), IndexError, r"roll: dimension 2 is out of range .* \[-2, 1\]"),
    (lambda t: core.tensor(1.0).roll(1, 0), IndexError, "0-d tensor has no dimension 0"),
    (lambda t: t.roll(1.5, 0), TypeError, "shifts must be an integer"),
    (lambda t: t.movedim((0, 0), (1, 0)), ValueError, r"appears more than once in source \(0, 0\)"),
    (lambda t: t.movedim((0, 1), 1), ValueError, r"source \(0, 1\) and destination \(1,\) must name the same"),
    (lambda t: t.movedim(2, 0), IndexError, r"movedim: dimension 2 is out of range"),
    (lambda t: core.swapaxes(t, 0, 2), IndexError, "out of range"),
])
def test_roll_and_movedim_errors_name_what_was_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call(core.zeros(2, 3))


def test_movedim_moveaxis_swapaxes_swapdims_are_views():
    t = core.zeros(2, 3, 4)
    for out in (t.movedim(0, 2), core.moveaxis(t, (0, 1), (1, 0)), t.swapaxes(0, 1), core.swapdims(t, 2, 0)):
        assert out._shares_storage(t)
    assert t.movedim(-1, 0).shape == (4, 2, 3) and t.swapdims(0, 2).shape == (4, 3, 2)


def test_cumprod_gradient_is_exact_with_one_and_several_zeros():
    x = core.tensor([2.0, 0.0, 3.0, 0.0, 5.0], dtype=core.float64, requires_grad=True)
    x.cumprod(0).sum().backward()
    # d/dx_i sum_j prod_{m<=j} x_m: only products up to the first zero are nonzero
    assert x.grad.tolist() == [1.0, 2.0 + 2 * 3.0, 0.0, 0.0, 0.0]
    y = core.tensor([0.0, 4.0], requires_grad=True)
    y.cumprod(0).sum().backward()
    assert y.grad.tolist() == [5.0, 0.0]


def test_cumprod_of_bool_and_int_gives_int64_wrapping_and_dtype_wins():
    assert core.tensor([True, True, False]).cumprod(0).tolist() == [1, 1, 0]
    assert core.tensor([2 ** 40, 2 ** 40]).cumprod(0).tolist() == [2 ** 40, 0]
    assert core.tensor([3, 4], dtype=core.int32).cumprod(0, dtype=core.int32).dtype == core.int32
    assert core.tensor([1.5, 2.0]).cumprod(0, dtype=core.float64).dtype == core.float64
    with pytest.raises(IndexError, match=r"cumprod: dimension 2 is out of range .* \[-2, 1\]"):
        core.zeros(2, 3).cumprod(2)


def test_cumprod_in_place_keeps_the_dtype_and_writes_through_a_view():
    t = core.tensor([[2, 3, 4], [1, 5, 6]], dtype=core.int32)
    row = t[1]
    assert row.cumprod_(0) is row
    assert t.dtype == core.int32 and t.tolist() == [[2, 3, 4], [1, 5, 30]]


def test_cumprod_second_derivative_is_refused_not_wrong():
    x = core.tensor([1.0, 2.0], requires_grad=True)
    (g,) = core.autograd.grad(x.cumprod(0).sum(), x, create_graph=True)
    with pytest.raises(NotImplementedError, match="second derivative of 'cumprod'"):
        g.sum().backward()


def test_var_mean_and_std_mean_take_var_arguments():
    x = core.tensor([1.0, 2.0, 4.0])
    v, m = core.var_mean(x, 0, unbiased=False)
    assert v.item() == pytest.approx(14 / 9) and m.item() == pytest.approx(7 / 3)
    s, m = core.std_mean(x, True)
    assert s.item() == pytest.approx(math.sqrt(7 / 3)) and m.item() == pytest.approx(7 / 3)
    with pytest.raises(TypeError, match="floating point"):
        core.var_mean(core.tensor([1, 2]))
