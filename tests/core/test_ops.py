"""Forward (vs numpy, float64, three memory layouts) and finite-difference gradient checks for every op spec
in tests/core/specs_*.py; and the op table walk that fails for any op without them."""
import importlib
import math
import pathlib

import numpy as np
import pytest

import core
from tests.core.harness import check_forward, check_grad

SPECS = []
for path in sorted(pathlib.Path(__file__).parent.glob("specs_*.py")):
    SPECS.extend(importlib.import_module(f"tests.core.{path.stem}").SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_forward_matches_numpy(spec):
    check_forward(spec)


GRAD_SPECS = [s for s in SPECS if s.grad]


@pytest.mark.parametrize("spec", GRAD_SPECS, ids=[s.id for s in GRAD_SPECS])
def test_gradient_matches_finite_differences(spec):
    check_grad(spec)


def test_every_op_in_the_table_has_forward_and_gradient_tests():
    forward = {s.name for s in SPECS}
    grad = {s.name for s in GRAD_SPECS}
    table = core._C.op_table()
    assert len(table) > 50
    missing_fwd = sorted(n for n, _ in table if n not in forward)
    missing_grad = sorted(n for n, diff in table if diff and n not in grad)
    assert not missing_fwd, f"ops without a forward test: {missing_fwd}"
    assert not missing_grad, f"differentiable ops without a gradient check: {missing_grad}"


# ---------------------------------------------------------------------------------------------- what the sweep
# against PyTorch found

def test_linspace_with_one_step_is_the_start():
    assert core.linspace(0, 1, 1).tolist() == [0.0]
    assert core.linspace(2, 5, 2).tolist() == [2.0, 5.0]


def test_clamp_promotes_integers_to_float_bounds_and_max_wins_over_min():
    assert core.clamp(core.tensor([1, 5]), 1.5, 3.5).tolist() == [1.5, 3.5]
    assert core.tensor([1, 5]).clamp(2, 3).dtype == core.int64
    assert core.tensor([1.0, 5.0, float("nan")]).clamp(4, 2).tolist()[:2] == [2.0, 2.0]
    assert math.isnan(core.tensor([float("nan")]).clamp(0, 1).item())


def test_clamp_of_integers_is_exact_and_refuses_a_bound_the_dtype_cannot_hold():
    big = 2 ** 62 + 1  # the value and the bound both lose their last bit through a double
    assert core.tensor([big, 3]).clamp(min=0).tolist() == [big, 3]
    assert core.tensor([1, 5]).clamp(min=big).tolist() == [big, big]
    assert core.tensor([1, 2 ** 63 - 1]).clamp(max=big).tolist() == [1, big]
    with pytest.raises(RuntimeError, match="value 1099511627776 cannot be converted to core.int32"):
        core.tensor([1, 5], dtype=core.int32).clamp(min=2 ** 40)
    assert core.tensor([1, 5]).clamp(min=np.float32(2.5)).tolist() == [2.5, 5.0]  # a numpy float is a float bound
    assert core.tensor([1, 5]).clamp(min=True).tolist() == [1, 5]
    assert all(math.isnan(v) for v in core.tensor([1.0, 5.0]).clamp(min=float("nan")).tolist())  # as PyTorch


def test_in_place_methods_take_keyword_arguments():
    t = core.tensor([1.0, 5.0, -2.0])
    assert t.clamp_(min=0.0).tolist() == [1.0, 5.0, 0.0]
    assert t.clamp_(max=2.0).tolist() == [1.0, 2.0, 0.0]
    r = core.tensor([1.234, 5.678])
    assert r.round_(decimals=1).tolist() == pytest.approx([1.2, 5.7])


def test_argmax_and_argmin_refuse_bool_tensors_and_softmax_checks_the_dim_of_a_0d_tensor():
    for op in (core.argmax, core.argmin):
        with pytest.raises(TypeError, match="not supported for bool tensors"):
            op(core.tensor([True, False]))
    assert core.tensor([True, False]).int().argmax().item() == 0
    assert core.softmax(core.tensor(3.0), dim=-1).item() == 1.0
    with pytest.raises(IndexError, match="dimension 1 is out of range"):
        core.softmax(core.tensor(3.0), dim=1)


def test_clamp_with_tensor_bounds_broadcasts_them():
    x = core.tensor([[1.0, 5.0], [3.0, -1.0]], requires_grad=True)
    lo, hi = core.tensor([2.0, 0.0]), core.tensor([[4.0], [2.0]])
    out = x.clamp(lo, hi)
    assert out.tolist() == [[2.0, 4.0], [2.0, 0.0]]
    out.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert core.clamp(core.tensor([1.0, 5.0]), max=core.tensor(3.0)).tolist() == [1.0, 3.0]


def test_clamp_with_a_nan_tensor_bound_gives_nan_as_with_a_number():
    # the bound tensors went through lt/gt, which are false against NaN, so a NaN bound was ignored
    x = core.tensor([1.0, -3.0, 5.0])
    nan = core.tensor(float("nan"))
    for out in (core.clamp(x, min=nan), core.clamp(x, max=nan), x.clamp(nan, core.tensor(2.0)),
                core.clamp(x, min=nan.item())):
        assert np.isnan(out.numpy()).all()
    lo = core.tensor([0.0, float("nan"), 0.0])
    out = core.clamp(core.tensor([1, -3, 5], dtype=core.int32), min=lo, max=core.tensor(2.0))
    assert out.dtype == core.float32 and np.array_equal(out.numpy(), [1.0, np.nan, 2.0], equal_nan=True)
    assert np.isnan(core.clamp(core.tensor([float("nan")]), min=core.tensor(0.0)).item())


def test_pow_gradient_wrt_the_exponent_is_zero_at_a_zero_base():
    x = core.tensor([0.0, 0.0, 2.0], requires_grad=True)
    e = core.tensor([2.0, 0.0, 3.0], requires_grad=True)
    (x ** e).sum().backward()
    assert e.grad.tolist() == pytest.approx([0.0, 0.0, 8 * math.log(2.0)])
    assert x.grad.tolist() == [0.0, 0.0, 12.0]


def test_and_or_invert_refuse_non_bool_tensors_instead_of_acting_logically():
    a, b = core.tensor([True, False]), core.tensor([True, True])
    assert (a & b).tolist() == [True, False] and (a | b).tolist() == [True, True] and (~a).tolist() == [False, True]
    assert (a & True).tolist() == [True, False]
    for op in (lambda: core.tensor([1, 2]) | core.tensor([2, 2]), lambda: core.tensor([1, 2]) & core.tensor([3, 2]),
               lambda: ~core.tensor([1, 2]), lambda: a & core.tensor([1.0, 0.0])):
        with pytest.raises(TypeError, match="bool"):
            op()


def test_in_place_ops_refuse_a_result_of_a_higher_category():
    x = core.zeros(3, dtype=core.int64)
    with pytest.raises(TypeError, match="can't be cast"):
        x.add_(1.5)
    with pytest.raises(TypeError, match="can't be cast"):
        x /= 2
    with pytest.raises(TypeError, match="can't be cast"):
        core.ones(2, dtype=core.bool).add_(2)
    assert x.add_(2).tolist() == [2, 2, 2]
    assert core.ones(2).add_(core.tensor([1, 2])).tolist() == [2.0, 3.0]


def test_tensor_refuses_python_integers_that_do_not_fit():
    with pytest.raises(OverflowError, match="9223372036854775808"):
        core.tensor([2**63])
    with pytest.raises(OverflowError, match="int32"):
        core.tensor([1, 2**40], dtype=core.int32)
    assert core.tensor([2**63 - 1, -(2**63)]).tolist() == [2**63 - 1, -(2**63)]
    assert core.tensor([2**40], dtype=core.float32).item() == 2.0**40


# ---------------------------------------------------------------------------------------------- rounding

ROUNDING = [(core.floor, np.floor), (core.ceil, np.ceil), (core.trunc, np.trunc), (core.round, np.round)]


@pytest.mark.parametrize("ours,ref", ROUNDING, ids=[f.__name__ for f, _ in ROUNDING])
def test_rounding_matches_numpy_on_halves_signed_zeros_and_non_finite_values(ours, ref):
    x = np.array([-2.5, -1.5, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, 2.4999, -7.0, np.inf, -np.inf, np.nan])
    got = ours(core.tensor(x)).numpy()
    np.testing.assert_array_equal(got, ref(x))
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref(x)))


def test_round_halves_to_even_and_takes_decimals():
    assert core.round(core.tensor([0.5, 1.5, 2.5, -0.5, -2.5])).tolist() == [0.0, 2.0, 2.0, -0.0, -2.0]
    assert core.tensor([1.2345, -2.675]).round(decimals=2).tolist() == pytest.approx([1.23, -2.68])
    assert core.round(core.tensor([1234.5, 1250.0, 1350.0]), decimals=-2).tolist() == [1200.0, 1200.0, 1400.0]
    with pytest.raises(TypeError, match="decimals is only supported for floating point"):
        core.round(core.tensor([15, 25]), decimals=-1)
    with pytest.raises(TypeError, match="decimals must be an integer"):
        core.round(core.tensor([1.5]), decimals=1.5)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc"])
def test_rounding_keeps_integer_tensors_and_refuses_bool(name):
    x = core.tensor([3, -4], dtype=core.int32)
    y = getattr(core, name)(x)
    assert y.dtype == core.int32 and y.tolist() == [3, -4] and not y._shares_storage(x)
    with pytest.raises(TypeError, match=f"{name}: not supported for bool"):
        getattr(core, name)(core.tensor([True]))


@pytest.mark.parametrize("dt", [core.float16, core.bfloat16, core.float32, core.float64])
def test_rounding_keeps_the_floating_dtype(dt):
    x = core.tensor([1.5, -1.25, 2.5], dtype=dt)
    assert x.floor().dtype == dt and x.floor().float().tolist() == [1.0, -2.0, 2.0]
    assert x.round().dtype == dt and x.round().float().tolist() == [2.0, -1.0, 2.0]


def test_rounding_gradient_is_zero_and_in_place_variants_write_through():
    x = core.tensor([1.3, -2.7], dtype=core.float64, requires_grad=True)
    y = x.floor() + x.ceil() + x.round() + x.trunc()
    assert y.grad_fn is not None
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    z = core.tensor([1.7, -1.7])
    assert z.floor_() is z and z.tolist() == [1.0, -2.0]
    w = core.tensor([2.5, -0.4])
    assert w.round_().tolist() == [2.0, -0.0] and w.ceil_().tolist() == [2.0, 0.0]


# ---------------------------------------------------------------------------------------------- remainder, fmod, //

def test_integer_remainder_fmod_and_floor_divide_follow_python_and_c_signs():
    a = np.array([7, -7, 7, -7, 0, 6])
    b = np.array([3, 3, -3, -3, 5, -3])
    ta, tb = core.tensor(a), core.tensor(b)
    assert (ta % tb).tolist() == (a % b).tolist() == [1, 2, -2, -1, 0, 0]
    assert (ta // tb).tolist() == (a // b).tolist() == [2, -3, -3, 2, 0, -2]
    assert core.fmod(ta, tb).tolist() == np.fmod(a, b).tolist() == [1, -1, 1, -1, 0, 0]
    assert (7 % core.tensor([3, -3])).tolist() == [1, -2] and (7 // core.tensor([3, -3])).tolist() == [2, -3]


def test_float_floor_divide_is_floor_of_the_exact_quotient():
    a = np.array([5.0, -5.0, -0.0, 1e-30, -1e-30, 0.3, 7.5, 1.0, -1.0])
    b = np.array([2.5, 2.5, 1.0, 1.0, 1.0, 0.1, -2.0, np.inf, np.inf])
    got = core.floor_divide(core.tensor(a), core.tensor(b)).numpy()
    np.testing.assert_array_equal(got, np.floor_divide(a, b))
    np.testing.assert_array_equal(np.signbit(got), np.signbit(np.floor_divide(a, b)))
    np.testing.assert_array_equal(core.remainder(core.tensor(a), core.tensor(b)).numpy()[:8],
                                  np.remainder(a, b)[:8])


def test_float_division_by_zero_gives_inf_and_nan():
    x = core.tensor([5.0, -5.0, 0.0])
    assert (x // 0.0).tolist()[:2] == [math.inf, -math.inf] and math.isnan((x // 0.0).tolist()[2])
    assert all(math.isnan(v) for v in (x % 0.0).tolist() + core.fmod(x, 0.0).tolist())


@pytest.mark.parametrize("op", [core.remainder, core.fmod, core.floor_divide], ids=lambda f: f.__name__)
@pytest.mark.parametrize("dt", [core.int32, core.int64])
def test_integer_division_by_zero_raises_instead_of_crashing(op, dt):
    with pytest.raises(RuntimeError, match=f"{op.__name__}: integer division by zero"):
        op(core.tensor([5, -5], dtype=dt), core.tensor([1, 0], dtype=dt))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        op(core.tensor([5, -5], dtype=dt), 0)


def test_most_negative_integer_by_minus_one_does_not_trap():
    lo = -(2**63)
    x = core.tensor([lo, 7])
    assert (x % -1).tolist() == [0, 0] and core.fmod(x, -1).tolist() == [0, 0]
    assert (x // -1).tolist() == [lo, -7]  # wraps, as PyTorch
    i32 = core.tensor([-(2**31)], dtype=core.int32)
    assert (i32 // -1).tolist() == [-(2**31)] and (i32 % -1).tolist() == [0]


def test_division_ops_promote_and_broadcast_like_the_other_binary_ops():
    i32 = core.tensor([[5], [-5]], dtype=core.int32)
    assert (i32 % 3).dtype == core.int32 and (i32 // 3).dtype == core.int32
    assert (i32 % core.tensor([2, 3])).dtype == core.int64 and (i32 % core.tensor([2, 3])).shape == (2, 2)
    assert (i32 % 2.5).dtype == core.float32 and (i32 % 2.5).tolist() == [[0.0], [0.0]]
    assert (core.tensor([5.0], dtype=core.float16) // 2).dtype == core.float16
    assert core.fmod(core.tensor([5.5], dtype=core.bfloat16), 2).float().tolist() == [1.5]
    with pytest.raises(TypeError, match="remainder: not supported for bool"):
        core.tensor([True]) % core.tensor([True])
    with pytest.raises(ValueError, match="cannot be broadcast"):
        core.zeros(2, 3) // core.ones(4)


def test_remainder_and_fmod_gradients_and_floor_divide_has_none():
    a = core.tensor([5.5, -5.5, 3.0], dtype=core.float64, requires_grad=True)
    b = core.tensor([2.0, 2.0, -2.0], dtype=core.float64, requires_grad=True)
    (a % b).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0] and b.grad.tolist() == [-2.0, 3.0, 2.0]
    a.grad = b.grad = None
    core.fmod(a, b).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0] and b.grad.tolist() == [-2.0, 2.0, 1.0]
    q = a // b
    assert q.requires_grad and q.tolist() == [2.0, -3.0, -2.0]
    with pytest.raises(NotImplementedError, match="floor_divide"):
        q.sum().backward()


def test_in_place_remainder_and_floor_divide():
    x = core.tensor([7, -7])
    x %= 3
    assert x.tolist() == [1, 2]
    x //= 2
    assert x.tolist() == [0, 1]
    with pytest.raises(TypeError, match="can't be cast"):
        x //= 1.5
    y = core.tensor([7.5, -7.5])
    assert y.fmod_(2).tolist() == [1.5, -1.5] and y.remainder_(-1).tolist() == [-0.5, -0.5]


def test_integer_tensor_to_a_negative_integer_power_is_refused_as_in_pytorch():
    t = core.tensor([2, 3])
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        t ** -1
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        core.pow(t, -2)
    assert (t ** 2).tolist() == [4, 9] and (t ** 0).tolist() == [1, 1]
    assert (t.float() ** -1).tolist() == pytest.approx([0.5, 1 / 3])


@pytest.mark.parametrize("dtype, value", [
    (core.int64, float("nan")), (core.int64, float("inf")), (core.int64, -1e19), (core.int64, 2.0 ** 63),
    (core.int32, 2 ** 31), (core.int32, float("-inf")), (core.int32, 2147483647.5),
    (core.float32, 1e300), (core.float16, 70000), (core.float16, -65505.0), (core.bfloat16, 1e39),
])
def test_a_number_the_dtype_cannot_hold_is_refused_everywhere_and_nothing_is_written(dtype, value):
    # PyTorch's rule for a number written into a tensor (its checked conversion), one check in C++ for every way in
    t = core.tensor([1, 2, 3], dtype=dtype)
    name = repr(dtype)
    with pytest.raises(RuntimeError, match=f"value .* cannot be converted to {name} without overflow"):
        t[0] = value
    with pytest.raises(RuntimeError, match="without overflow"):
        t[core.tensor([1, 2])] = value
    with pytest.raises(RuntimeError, match="without overflow"):
        t[core.tensor([True, False, True])] = value
    with pytest.raises(RuntimeError, match="without overflow"):
        t.fill_(value)
    with pytest.raises(RuntimeError, match="without overflow"):
        t.copy_(value)
    with pytest.raises(RuntimeError, match="without overflow"):
        t.masked_fill_(core.tensor([True, False, False]), value)
    with pytest.raises(RuntimeError, match="without overflow"):
        t.scatter_(0, core.tensor([0]), value)
    assert t.tolist() == [1, 2, 3]
    with pytest.raises(RuntimeError, match="without overflow"):
        core.full((2,), value, dtype=dtype)
    with pytest.raises(RuntimeError, match="without overflow"):
        core.full_like(t, value)
    with pytest.raises(RuntimeError, match="without overflow"):
        core.masked_fill(t, core.tensor([True, False, False]), value)


def test_the_refusal_names_the_value_as_python_prints_it():
    with pytest.raises(RuntimeError, match=r"^value nan cannot be converted to core\.int64 without overflow$"):
        core.zeros(2, dtype=core.int64).fill_(float("nan"))
    with pytest.raises(RuntimeError, match=r"value 1000000.0 cannot be converted to core\.float16"):
        core.full((2,), 1e6, dtype=core.float16)
    with pytest.raises(RuntimeError, match=r"value 1e\+300 cannot be converted to core\.float32"):
        core.zeros(2).fill_(1e300)
    with pytest.raises(RuntimeError, match=r"value 4294967296 cannot be converted to core\.int32"):
        core.zeros(2, dtype=core.int32).fill_(2 ** 32)
    with pytest.raises(RuntimeError, match="nan cannot be converted"):  # a 0-d tensor given to fill_ is a number too
        core.zeros(2, dtype=core.int64).fill_(core.tensor(float("nan")))


def test_an_integer_past_int64_is_an_overflow_error_before_anything_is_written():
    t = core.tensor([1, 2, 3])
    for write in (lambda: t.__setitem__(0, 2 ** 63), lambda: t.fill_(-(2 ** 63) - 1), lambda: t + 2 ** 64,
                  lambda: core.full((2,), 2 ** 63), lambda: t * np.uint64(2 ** 63)):
        with pytest.raises(OverflowError, match="cannot be converted to core.int64 without overflow"):
            write()
    assert t.tolist() == [1, 2, 3]


def test_an_integer_past_int64_beside_a_float_tensor_is_a_float():
    # as PyTorch computes float_tensor + 2**63; beside an integer tensor it stays an OverflowError (test above)
    t = core.ones(2)
    for result in (t + 2 ** 63, 2 ** 63 + t, t.sub(2 ** 63) + 2 * 2 ** 63, 2 ** 64 * t):
        assert result.dtype == core.float32
    assert (t + 2 ** 63).tolist() == [2.0 ** 63] * 2 and (2 ** 64 * t).tolist() == [2.0 ** 64] * 2
    assert (core.ones(2, dtype=core.float64) == 2 ** 63).tolist() == [False, False]
    assert (t < 2 ** 63).tolist() == [True, True] and (t > -(2 ** 70)).tolist() == [True, True]
    with pytest.raises(OverflowError, match="int too large to convert to float: 401 digits"):
        t + 10 ** 400


def test_what_a_dtype_can_hold_is_written_infinities_and_nan_into_floats_included():
    h = core.zeros(3, dtype=core.float16)
    h.fill_(65504.0)
    h[1] = float("inf")
    h[2] = float("nan")
    assert h.tolist()[:2] == [65504.0, float("inf")] and math.isnan(h.tolist()[2])
    assert core.full((1,), float("-inf"), dtype=core.bfloat16).tolist() == [float("-inf")]
    b = core.zeros(2, dtype=core.bool)
    b.fill_(1e300)  # bool takes any number
    assert b.tolist() == [True, True]
    i = core.zeros(2, dtype=core.int32)
    i.fill_(-2147483648.0)
    assert i.tolist() == [-2147483648, -2147483648]


def test_python_integers_stay_exact_past_2_to_the_53():
    big = 2 ** 62 + 1  # not a double: through one it would become 2**62
    t = core.tensor([1, 2 ** 62 + 3])
    assert (t + (2 ** 53 + 1)).tolist()[0] == 2 ** 53 + 2
    assert (t == big).tolist() == [False, False] and (t - big).tolist() == [1 - big, 2]
    assert (t % big).tolist() == [1, 2] and (big - t).tolist() == [big - 1, -2]
    assert core.where(core.tensor([True, False]), t, big).tolist() == [1, big]
    assert core.full((2,), 2 ** 63 - 1).tolist() == [2 ** 63 - 1] * 2
    u = core.zeros(3, dtype=core.int64)
    u[0] = big
    u[core.tensor([1])] = big
    u.masked_fill_(core.tensor([False, False, True]), -(2 ** 63))
    assert u.tolist() == [big, big, -(2 ** 63)]
    assert u.fill_(np.int64(2 ** 62 + 7)).tolist() == [2 ** 62 + 7] * 3
    assert core.zeros(2, dtype=core.int64).scatter_(0, core.tensor([1]), big).tolist() == [0, big]
    assert (core.tensor([1], dtype=core.int32) + 2 ** 40).tolist() == [1]  # wraps into int32, as in PyTorch


def test_numbers_an_integer_tensor_can_hold_are_still_written():
    t = core.tensor([1, 2, 3])
    t[0] = 2 ** 40 + 1
    t[1] = 2.7  # truncated toward zero, as PyTorch
    t[2] = -(2 ** 63)
    assert t.tolist() == [2 ** 40 + 1, 2, -(2 ** 63)]
    f = core.zeros(2)
    f[0] = float("nan")
    assert math.isnan(f.tolist()[0])


def test_pow_in_place_keeps_the_tensor_and_its_dtype():
    # without __ipow__, x **= y rebound x to a new tensor of the promoted dtype and left its views behind
    x = core.tensor([1.0, 2.0], dtype=core.bfloat16)
    v = x[1:]
    x **= core.tensor([2.0], dtype=core.float64)
    assert x.dtype == core.bfloat16 and x.float().tolist() == [1.0, 4.0] and v.float().tolist() == [4.0]
    y = core.tensor([2, 3])
    assert y.pow_(2) is y and y.tolist() == [4, 9]
    with pytest.raises(TypeError, match="can't be cast"):
        z = core.tensor([2, 3], dtype=core.int32)
        z **= core.tensor(0.5, dtype=core.float64)
    w = core.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = w * 1
    h **= 2
    h.sum().backward()
    assert w.grad.tolist() == [2.0, 4.0, 6.0]
