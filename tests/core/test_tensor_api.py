"""Small Tensor API a PyTorch user expects: nelement, new_*, unflatten, index_select, nonzero, mean(dtype=),
and == / != with None."""
import numpy as np
import pytest

import core


def test_nelement_is_numel():
    assert core.zeros(2, 3, 4).nelement() == 24 and core.tensor(1.0).nelement() == 1
    assert core.zeros(0, 3).nelement() == 0


@pytest.mark.parametrize("dt", [core.float16, core.int32, core.bool])
def test_new_factories_take_self_dtype_unless_told(dt):
    x = core.zeros(1, dtype=dt)
    assert x.new_zeros(2, 3).dtype == dt and x.new_zeros((2, 3)).shape == (2, 3)
    assert x.new_ones([2]).dtype == dt and x.new_ones(2).tolist() == core.ones(2, dtype=dt).tolist()
    assert x.new_empty(0, 4).shape == (0, 4) and x.new_empty(3).dtype == dt
    assert x.new_full((2,), 1).dtype == dt
    assert x.new_tensor([1, 0]).dtype == dt and x.new_tensor([1, 0], dtype=core.int64).dtype == core.int64
    assert x.new_zeros(2, dtype=core.float64).dtype == core.float64


def test_new_full_keeps_self_dtype_over_the_fill_value_and_new_tensor_copies():
    x = core.zeros(2, dtype=core.int64)
    assert x.new_full((2,), 3.7).tolist() == [3, 3]
    data = np.array([1.5, 2.5])
    y = core.zeros(1).new_tensor(data, requires_grad=True)
    data[0] = 9
    assert y.tolist() == [1.5, 2.5] and y.dtype == core.float32 and y.requires_grad
    assert core.zeros(1).new_zeros(2, requires_grad=True).requires_grad


def test_unflatten_splits_one_dim_into_a_view():
    x = core.arange(24).reshape(2, 12)
    y = x.unflatten(1, (3, -1))
    assert y.shape == (2, 3, 4) and y._shares_storage(x)
    np.testing.assert_array_equal(y.numpy(), np.arange(24).reshape(2, 3, 4))
    assert core.unflatten(x, -1, [2, 2, 3]).shape == (2, 2, 2, 3)
    assert x.t().unflatten(0, (6, 2)).shape == (6, 2, 2)
    np.testing.assert_array_equal(x.t().unflatten(0, (6, 2)).numpy(), np.arange(24).reshape(2, 12).T.reshape(6, 2, 2))
    assert core.zeros(0, 6).unflatten(1, (2, 3)).shape == (0, 2, 3)


def test_unflatten_gradient_flows_back():
    x = core.tensor(np.arange(6.0), dtype=core.float64, requires_grad=True)
    (x.unflatten(0, (2, 3)) * core.tensor([[1.0], [2.0]], dtype=core.float64)).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("sizes,match", [((), "non-empty"), ((4,), "multiply up to 4"), ((-1, -1), "at most one"),
                                         ((5, -1), "cannot infer"), ((-2, -3), ">= 0")])
def test_unflatten_refuses_sizes_that_do_not_fit(sizes, match):
    with pytest.raises(ValueError, match=match):
        core.zeros(2, 6).unflatten(1, sizes)


def test_unflatten_refuses_a_dim_out_of_range():
    with pytest.raises(IndexError, match="out of range"):
        core.zeros(2, 6).unflatten(2, (2, 3))
    with pytest.raises(IndexError, match="out of range"):
        core.tensor(1.0).unflatten(0, (1,))


def test_index_select_function_and_method():
    x = core.tensor([[1, 2, 3], [4, 5, 6]])
    assert x.index_select(1, core.tensor([2, 0, 2])).tolist() == [[3, 1, 3], [6, 4, 6]]
    assert core.index_select(x, 0, core.tensor([1])).tolist() == [[4, 5, 6]]
    w = core.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=core.float64, requires_grad=True)
    w.index_select(0, core.tensor([1, 1])).sum().backward()
    assert w.grad.tolist() == [[0.0, 0.0], [2.0, 2.0]]
    with pytest.raises(IndexError, match="out of bounds"):
        x.index_select(1, core.tensor([3]))
    with pytest.raises(TypeError, match="index must be an int64 or int32 tensor"):
        x.index_select(1, core.tensor([1.0]))


def test_nonzero_gives_int64_coordinates_or_a_tuple_per_dim():
    a = np.array([[0, 1.5, 0], [2, 0, -1]])
    x = core.tensor(a)
    nz = x.nonzero()
    assert nz.dtype == core.int64 and nz.shape == (3, 2)
    np.testing.assert_array_equal(nz.numpy(), np.argwhere(a))
    parts = core.nonzero(x, as_tuple=True)
    assert len(parts) == 2 and all(p.dtype == core.int64 for p in parts)
    for got, want in zip(parts, np.nonzero(a)):
        np.testing.assert_array_equal(got.numpy(), want)
    assert core.nonzero(core.zeros(0, 3)).shape == (0, 2)
    assert core.tensor(5).nonzero().shape == (1, 0)
    assert [p.tolist() for p in core.tensor(5).nonzero(as_tuple=True)] == [[0]]
    assert [p.tolist() for p in core.tensor(0).nonzero(as_tuple=True)] == [[]]


def test_mean_with_dtype_converts_the_input_first():
    assert core.tensor([1, 2]).mean(dtype=core.float64).item() == 1.5
    assert core.tensor([1, 2]).mean(dtype=core.float64).dtype == core.float64
    y = core.mean(core.tensor([[1.0, 2.0], [3.0, 5.0]]), 1, keepdim=True, dtype=core.float16)
    assert y.dtype == core.float16 and y.float().tolist() == [[1.5], [4.0]]
    with pytest.raises(TypeError, match="dtype must be a floating point dtype"):
        core.tensor([1.0, 2.0]).mean(dtype=core.int64)
    with pytest.raises(TypeError, match="floating point"):
        core.tensor([1, 2]).mean()


def test_equality_with_none_is_false_and_inequality_true():
    x = core.tensor([1, 2])
    assert (x == None) is False and (x != None) is True  # noqa: E711
    assert (x == "a") is False and (x != "a") is True
    assert (x == 1).tolist() == [True, False] and (x != 1).tolist() == [False, True]
    assert None in [None, x] and x in [None, x]


# ---------------------------------------------------------------------------------------------- PyTorch's keyword
# names and keyword-only arguments, found by a sweep against PyTorch

def test_elementwise_ops_take_pytorch_argument_names():
    x = core.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert core.exp(input=core.tensor([0.0])).tolist() == [1.0]
    assert core.abs(input=x).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert core.logical_not(input=core.tensor([True])).tolist() == [False]
    assert x.mul(other=2).tolist() == [[2.0, -4.0], [6.0, 8.0]]
    assert core.maximum(x, other=core.zeros(2, 2)).tolist() == [[1.0, 0.0], [3.0, 4.0]]
    assert x.gt(other=2).tolist() == [[False, False], [True, True]]
    assert core.eq(input=x, other=3).tolist() == [[False, False], [True, False]]
    assert core.pow(x, exponent=2).tolist() == [[1.0, 4.0], [9.0, 16.0]]
    assert x.remainder(other=3).tolist() == [[1.0, 1.0], [0.0, 1.0]]
    assert core.bmm(core.ones(1, 2, 3), mat2=core.ones(1, 3, 1)).tolist() == [[[3.0], [3.0]]]
    assert core.where(condition=x > 0, input=x, other=0).tolist() == [[1.0, 0.0], [3.0, 4.0]]
    assert x.masked_fill(mask=x < 0, value=9).tolist() == [[1.0, 9.0], [3.0, 4.0]]


def test_view_ops_take_pytorch_argument_names():
    x = core.arange(6).reshape(2, 3)
    assert x.transpose(dim0=0, dim1=1).shape == (3, 2)
    assert core.transpose(input=x, dim0=1, dim1=0).shape == (3, 2)
    assert x.unsqueeze(dim=0).shape == (1, 2, 3)
    assert x.narrow(dim=1, start=1, length=2).tolist() == [[1, 2], [4, 5]]
    assert core.select(x, dim=1, index=-1).tolist() == [2, 5]


def test_add_and_sub_scale_other_by_alpha():
    x = core.tensor([1.0, 2.0])
    assert x.add(core.tensor([1.0, 1.0]), alpha=2).tolist() == [3.0, 4.0]
    assert core.sub(x, 1, alpha=3).tolist() == [-2.0, -1.0]
    assert core.tensor([2 ** 62]).add(1, alpha=2 ** 61).tolist() == [2 ** 62 + 2 ** 61]  # exact in int64
    assert core.tensor([1, 2], dtype=core.int32).sub(1, alpha=3).dtype == core.int32
    p = core.tensor([1.0, 2.0])
    assert p.add_(core.tensor([1.0, 1.0]), alpha=-0.5) is p and p.tolist() == [0.5, 1.5]
    with pytest.raises(TypeError, match="alpha must be an integer"):
        core.tensor([1, 2]).add(3, alpha=2.5)
    with pytest.raises(TypeError):
        x.add(x, 2)  # alpha is keyword-only, as in PyTorch


def test_add_with_alpha_is_differentiable():
    x = core.tensor([1.0, 2.0], requires_grad=True)
    y = core.tensor([3.0, 4.0], requires_grad=True)
    x.sub(y, alpha=3).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and y.grad.tolist() == [-3.0, -3.0]


def test_div_rounding_mode_floors_or_truncates_the_quotient():
    n = core.tensor([-7, 7, 6, -6])
    assert n.div(2, rounding_mode="trunc").tolist() == [-3, 3, 3, -3]
    assert n.div(2, rounding_mode="floor").tolist() == [-4, 3, 3, -3]
    assert n.div(2, rounding_mode="trunc").dtype == core.int64
    assert n.div(2, rounding_mode=None).tolist() == [-3.5, 3.5, 3.0, -3.0]
    big = 2 ** 62 + 1  # exact: no detour through float32
    assert core.tensor([big, -big]).div(3, rounding_mode="trunc").tolist() == [big // 3, -(big // 3)]
    assert core.tensor([-7, 7], dtype=core.int32).div(2.0, rounding_mode="trunc").tolist() == [-3.0, 3.0]
    assert core.div(core.tensor([-7.5, 7.5]), 2, rounding_mode="trunc").tolist() == [-3.0, 3.0]
    t = core.tensor([-7.5, 7.5])
    assert t.div_(2, rounding_mode="floor") is t and t.tolist() == [-4.0, 3.0]
    with pytest.raises(ValueError, match="rounding_mode must be None, 'trunc' or 'floor', got 'round'"):
        t.div(2, rounding_mode="round")
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        n.div(0, rounding_mode="trunc")


def test_shape_methods_take_their_shape_as_a_keyword_too():
    x = core.arange(6).reshape(2, 3)
    assert x.reshape(shape=(3, 2)).shape == (3, 2) and x.view(size=(6,)).shape == (6,)
    assert x.permute(dims=(1, 0)).tolist() == [[0, 3], [1, 4], [2, 5]]
    assert x[:1].expand(size=(2, 3)).tolist() == [[0, 1, 2], [0, 1, 2]]
    assert x.repeat(repeats=(1, 2)).shape == (2, 6) and x.tile(dims=(2,)).shape == (2, 6)
    assert x.flip(dims=(1,)).tolist() == [[2, 1, 0], [5, 4, 3]]
    assert [p.shape for p in x.split(split_size=2, dim=1)] == [(2, 2), (2, 1)]
    assert x.stride(dim=0) == 3 and x.stride(-1) == 1 and x.stride() == (3, 1)
    with pytest.raises(TypeError, match="got shape twice"):
        x.reshape(3, 2, shape=(3, 2))
    with pytest.raises(IndexError, match="0-d tensor has no dimensions"):
        core.tensor(1.0).stride(0)


def test_factories_take_size_and_input_as_keywords():
    assert core.zeros(size=(2, 3)).shape == (2, 3) and core.ones(size=[2], dtype=core.int64).tolist() == [1, 1]
    assert core.empty(size=(0, 2)).shape == (0, 2) and core.randn(size=(4,)).shape == (4,)
    assert core.rand(size=(1, 2)).shape == (1, 2)
    x = core.zeros(2, dtype=core.int32)
    assert x.new_zeros(size=(3,)).dtype == core.int32 and x.new_ones(size=(1, 2)).shape == (1, 2)
    assert x.new_empty(size=(2,)).shape == (2,)
    assert core.zeros_like(input=x).dtype == core.int32 and core.full_like(input=x, fill_value=7).tolist() == [7, 7]
    assert core.ones_like(input=x).tolist() == [1, 1] and core.rand_like(input=core.zeros(3)).shape == (3,)
    with pytest.raises(TypeError, match="got size twice"):
        core.zeros(2, size=(2,))


def test_arange_and_randint_take_pytorch_argument_forms():
    assert core.arange(end=3).tolist() == [0, 1, 2]
    core.manual_seed(0)
    r = core.randint(5, (200,))  # randint(high, size)
    assert r.shape == (200,) and r.dtype == core.int64 and 0 <= r.min().item() and r.max().item() <= 4
    assert core.randint(high=3, size=(2, 2)).shape == (2, 2)
    assert core.randint(2, 4, size=(50,)).min().item() >= 2
    assert core.randint_like(core.zeros(3), high=2).dtype == core.float32


def test_max_and_min_take_other_as_a_keyword():
    a, b = core.tensor([1.0, 5.0]), core.tensor([3.0, 2.0])
    assert a.max(other=b).tolist() == [3.0, 5.0] and core.min(a, other=b).tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="both dim=0 and other"):
        a.max(0, other=b)


def test_prod_with_dtype_computes_in_that_dtype():
    x = core.tensor([[1.5, 2.0], [3.0, 4.0]])
    y = x.prod(dtype=core.float64)
    assert y.dtype == core.float64 and y.item() == 36.0
    assert core.prod(x, 1, dtype=core.float64).tolist() == [3.0, 12.0]
    z = core.tensor([2 ** 20, 2 ** 20]).prod(dtype=core.int32)  # 2**40 wraps to 0 in int32, as PyTorch
    assert z.dtype == core.int32 and z.item() == 0


def test_to_copies_when_asked_and_refuses_arguments_it_does_not_know():
    t = core.tensor([1.0, 2.0])
    assert t.to(core.float32) is t and t.to("cpu") is t and t.to() is t
    c = t.to(core.float32, copy=True)
    assert not c._shares_storage(t) and c.tolist() == [1.0, 2.0]
    assert not t.to(copy=True)._shares_storage(t)
    assert not t.to("cpu", core.float32, False, True)._shares_storage(t)  # (device, dtype, non_blocking, copy)
    assert t.to(core.float64, False, True).dtype == core.float64
    assert t.to(dtype=core.int64, device="cpu", non_blocking=True).dtype == core.int64
    with pytest.raises(TypeError):
        t.to(core.float64, bogus=True)
    with pytest.raises(TypeError, match="dtype given twice"):
        t.to(core.float64, dtype=core.float16)


def test_python_types_as_dtypes_mean_what_they_mean_in_pytorch():
    assert core.zeros(2, dtype=float).dtype == core.float64  # float is float64 as a dtype, as in PyTorch
    assert core.tensor([1, 2]).to(float).dtype == core.float64
    assert core.zeros(2, dtype=int).dtype == core.int64 and core.zeros(2, dtype=bool).dtype == core.bool


def test_numpy_scalars_keep_their_dtype_in_tensor_and_full():
    assert core.tensor(np.float64(2.5)).dtype == core.float64
    assert core.tensor(np.int32(2)).dtype == core.int32 and core.tensor(np.int32(2)).item() == 2
    assert core.tensor(np.float32(1.5)).dtype == core.float32 and core.tensor(np.bool_(True)).dtype == core.bool
    assert core.as_tensor(np.float64(2.5)).dtype == core.float64
    assert core.tensor(2.5).dtype == core.float32  # a Python float stays float32
    assert core.full((2,), np.int32(1)).dtype == core.int64  # an integer fill value, as a Python int


def test_factories_take_device_cpu_and_requires_grad():
    x = core.zeros(2, 3)
    made = [core.zeros(2, device="cpu"), core.ones(2, device=x.device), core.empty(2, device=None),
            core.full((2,), 1.0, device="cpu"), core.rand(2, device="cpu"), core.randn(2, device="cpu"),
            core.arange(3, device="cpu"), core.linspace(0, 1, 3, device="cpu"), core.eye(2, device="cpu"),
            core.tensor([1.0], device="cpu"), core.as_tensor([1.0], device="cpu"), core.randint(3, (2,), device="cpu"),
            core.zeros_like(x, device="cpu"), core.full_like(x, 2, device="cpu"), x.new_zeros(2, device="cpu"),
            x.new_ones(2, device="cpu"), x.new_empty(2, device="cpu"), x.new_full((2,), 1, device="cpu"),
            x.new_tensor([1.0], device="cpu")]
    assert all(t.device == "cpu" for t in made)
    with pytest.raises(ValueError, match="CPU only, got device 'cuda'"):
        core.zeros(2, device="cuda")
    with pytest.raises(ValueError, match="CPU only"):
        x.new_zeros(2, device="cuda:0")
    grads = [core.eye(2, requires_grad=True), core.linspace(0, 1, 3, requires_grad=True),
             core.empty_like(x, requires_grad=True), core.full_like(x, 2.0, requires_grad=True),
             core.rand_like(x, requires_grad=True), core.randn_like(x, requires_grad=True)]
    assert all(t.requires_grad and t.is_leaf for t in grads)


def test_copy_numpy_and_gather_take_pytorch_keywords():
    t = core.zeros(2)
    assert t.copy_(core.ones(2), non_blocking=True).tolist() == [1.0, 1.0]
    w = core.ones(2, requires_grad=True)
    a = w.numpy(force=True)
    assert a.tolist() == [1.0, 1.0] and not a.flags.owndata  # still shares w's memory
    with pytest.raises(RuntimeError, match="requires grad"):
        w.numpy()
    x = core.tensor([[1, 2], [3, 4]])
    assert core.gather(x, 1, core.tensor([[1], [0]]), sparse_grad=False).tolist() == [[2], [3]]
    with pytest.raises(ValueError, match="sparse_grad=True is not supported"):
        x.gather(1, core.tensor([[1], [0]]), sparse_grad=True)


def test_functional_avg_pool2d_takes_divisor_override():
    import core.nn.functional as F

    x = core.ones(1, 1, 2, 2)
    assert F.avg_pool2d(x, 2, divisor_override=1).tolist() == [[[[4.0]]]]


def test_functional_attention_takes_enable_gqa():
    import core.nn.functional as F

    core.manual_seed(0)
    q, k, v = core.randn(1, 4, 3, 8), core.randn(1, 2, 3, 8), core.randn(1, 2, 3, 8)
    got = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    k4, v4 = k[:, [0, 0, 1, 1]], v[:, [0, 0, 1, 1]]  # each key/value head serves two query heads
    np.testing.assert_allclose(got.numpy(), core.scaled_dot_product_attention(q, k4, v4).numpy(), rtol=1e-5, atol=1e-6)


def test_integer_arange_is_exact_past_two_to_the_53():
    big = 2 ** 62
    assert core.arange(big, big + 3).tolist() == [big, big + 1, big + 2]  # through doubles: no elements at all
    assert core.arange(2 ** 63 - 3, 2 ** 63 - 1).tolist() == [2 ** 63 - 3, 2 ** 63 - 2]
    assert core.arange(-2 ** 63, -2 ** 63 + 2).tolist() == [-2 ** 63, -2 ** 63 + 1]
    assert core.arange(10, 0, -3).tolist() == [10, 7, 4, 1] and core.arange(5, 5, -1).shape == (0,)
    assert core.arange(-5, 5, 3, dtype=core.int32).tolist() == [-5, -2, 1, 4]
    with pytest.raises(ValueError, match="step must be nonzero"):
        core.arange(0, 5, 0)
    with pytest.raises(ValueError, match="inconsistent"):
        core.arange(0, 10, -1)


def test_dim_and_keepdim_take_numpys_axis_and_keepdims_aliases():
    x = core.tensor([[1.0, 5.0], [3.0, 2.0]])
    assert x.sum(axis=0).tolist() == [4.0, 7.0] and core.mean(x, axis=1, keepdims=True).tolist() == [[3.0], [2.5]]
    assert x.max(axis=1).indices.tolist() == [1, 0] and x.argmin(axis=0).tolist() == [0, 1]
    assert x.amax(axis=(0, 1)).item() == 5.0 and x.std(axis=0, keepdims=True).shape == (1, 2)
    assert x.cumsum(axis=1).tolist() == [[1.0, 6.0], [3.0, 5.0]] and x.sort(axis=0).values.tolist()[0] == [1.0, 2.0]
    assert core.cat([x, x], axis=1).shape == (2, 4) and core.stack([x, x], axis=0).shape == (2, 2, 2)
    assert x.softmax(axis=1).shape == (2, 2) and x.unsqueeze(axis=0).shape == (1, 2, 2)
    assert x.gather(axis=1, index=core.tensor([[1], [0]])).tolist() == [[5.0], [3.0]]
    with pytest.raises(TypeError, match="got both dim= and its alias axis="):
        x.sum(dim=0, axis=0)


def test_where_with_only_a_condition_gives_the_indices():
    cond = core.tensor([[True, False], [False, True]])
    rows, cols = core.where(cond)
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1]
    with pytest.raises(TypeError, match="pass both input and other, or neither"):
        core.where(cond, 1.0)


def test_in_place_methods_pass_a_positional_none_through():
    t = core.tensor([-2.0, 0.5, 3.0])
    assert t.clamp_(None, 1.0).tolist() == [-2.0, 0.5, 1.0]  # max=1, not min=1
    assert t.clamp_(0.0, None).tolist() == [0.0, 0.5, 1.0]
    assert t.add_(other=1).tolist() == [1.0, 1.5, 2.0]


@pytest.mark.parametrize("name, ref", [
    ("exp_", np.exp), ("log_", np.log), ("sqrt_", np.sqrt), ("abs_", np.abs), ("neg_", np.negative),
    ("sigmoid_", lambda a: 1 / (1 + np.exp(-a))), ("tanh_", np.tanh), ("relu_", lambda a: np.maximum(a, 0)),
])
def test_in_place_unary_methods_write_through_views_and_return_self(name, ref):
    base = core.tensor([[-1.5, 0.5, 2.0], [0.25, -0.75, 3.0]], dtype=core.float64)
    expected = base.numpy().copy()
    with np.errstate(invalid="ignore"):  # log and sqrt of the negative entry are nan, in numpy as here
        expected[:, 1:] = ref(expected[:, 1:])
    view = base[:, 1:]
    version = base._version
    assert getattr(view, name)() is view
    np.testing.assert_allclose(base.numpy(), expected)
    assert base._version > version


def test_in_place_unary_methods_keep_integer_dtypes_or_refuse_a_float_result():
    t = core.tensor([-2, 3])
    assert t.abs_().tolist() == [2, 3] and t.neg_().tolist() == [-2, -3] and t.relu_().tolist() == [0, 0]
    with pytest.raises(TypeError, match="can't be cast to the desired output type"):
        core.tensor([1, 2]).exp_()
    u = core.tensor([-1.0, 2.0])
    assert core.relu_(u) is u and u.tolist() == [0.0, 2.0]


def test_in_place_unary_methods_refuse_a_tensor_that_requires_grad():
    # copy_ raises ValueError here, where docs/tensors.md and the indexing path say RuntimeError
    with pytest.raises(RuntimeError, match="requires grad cannot be written in place"):
        core.ones(2, requires_grad=True).exp_()


def test_pytorch_alias_names_are_the_same_ops():
    a, b = core.tensor([6.0, 1.0]), core.tensor([3.0, 2.0])
    assert core.true_divide(a, b).tolist() == a.divide(b).tolist() == [2.0, 0.5]
    assert core.divide(core.tensor([7]), 2, rounding_mode="floor").tolist() == [3]
    assert core.multiply(a, b).tolist() == a.multiply(b).tolist() == [18.0, 2.0]
    assert core.subtract(a, b, alpha=2).tolist() == [0.0, -3.0] and a.subtract(b).tolist() == [3.0, -1.0]
    assert core.greater(a, b).tolist() == a.greater(b).tolist() == [True, False]
    assert core.less(a, b).tolist() == a.less(b).tolist() == [False, True]
    assert core.greater_equal(a, 6.0).tolist() == a.greater_equal(6.0).tolist() == [True, False]
    assert core.less_equal(a, 1.0).tolist() == a.less_equal(1.0).tolist() == [False, True]
    assert core.not_equal(a, 1.0).tolist() == a.not_equal(1.0).tolist() == [True, False]


def test_tensor_where_takes_self_where_condition_holds():
    x = core.tensor([1.0, -2.0], requires_grad=True)
    cond = core.tensor([True, False])
    assert x.where(cond, 0.0).tolist() == [1.0, 0.0]
    assert x.where(cond, core.tensor([5.0, 6.0])).tolist() == [1.0, 6.0]
    x.where(cond, 0.0).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("data, expected", [
    ([np.float64(1.5)], core.float64),  # was float32: a numpy scalar keeps its dtype inside a list too
    ([1, np.float64(2.0)], core.float64),
    ([[np.float64(1.0)], [2.0]], core.float64),
    ([np.float32(1.5), 2], core.float32),
    ([np.int32(1), 2.5], core.float32),  # PyTorch's promotion; numpy's would give float64
    ([np.float16(1.0), 2.0], core.float32),  # a Python float counts as float32; numpy's would keep float16
    ([np.int32(3)], core.int32),
    ([np.int32(1), 2], core.int64),
    ([True, np.int32(2)], core.int32),
    ([np.bool_(True), False], core.bool),
    ([np.arange(2, dtype=np.float64), [1.0, 2.0]], core.float64),
    ([1.0, 2], core.float32),
])
def test_tensor_of_a_sequence_holding_numpy_numbers_takes_pytorchs_dtype(data, expected):
    # the dtypes torch.tensor(data) gives in PyTorch 2.13
    assert core.tensor(data).dtype == expected


def test_tensor_of_mixed_numbers_rounds_each_number_once():
    # through numpy's float16 first, 0.1 would come out as 0.0999755859375
    assert core.tensor([np.float16(1.0), 0.1]).tolist()[1] == float(np.float32(0.1))


def test_any_and_all_over_an_empty_dim_list_reduce_nothing():
    # PyTorch 2.13: any/all(dim=[]) is elementwise != 0, while sum(dim=[]) still reduces everything
    t = core.tensor([[2.0, 0.0], [float("nan"), -1.0]])
    for r in (t.any(dim=[]), t.all(dim=()), core.any(t, dim=[]), core.all(t, ())):
        assert r.dtype == core.bool and r.tolist() == [[True, False], [True, True]]
    assert t.any(dim=[0]).tolist() == [True, True] and core.tensor([1, 2]).sum(dim=[]).item() == 3
