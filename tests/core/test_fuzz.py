"""Hypothesis fuzzing of the bindings: random shapes (0-d and empty included), dtypes, dims, indices, slices,
reshape targets, matmul and broadcasting pairs, op arguments. Every call either succeeds and agrees with numpy
(PyTorch's semantics written with numpy) or raises one of the errors a user can catch; it never crashes."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core

ALLOWED = (ValueError, TypeError, IndexError, RuntimeError, NotImplementedError)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

DTYPES = {core.float32: np.float32, core.float64: np.float64, core.float16: np.float16, core.int32: np.int32,
          core.int64: np.int64, core.bool: np.bool_}
FLOATS = {core.float32, core.float64, core.float16, core.bfloat16}

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)
nonempty_shapes = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)
dtypes = st.sampled_from(list(DTYPES))
dims = st.integers(-5, 5)
big_ints = st.one_of(st.integers(-6, 6), st.sampled_from([2**31, -(2**31), 2**62, -(2**62), 2**63 - 1, -(2**63)]))
layouts = st.sampled_from(["contiguous", "transposed", "stepped"])


def make_array(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype == core.bool:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype in (core.int32, core.int64):
        return rng.integers(-5, 6, size=shape).astype(DTYPES[dtype])
    return rng.uniform(-3, 3, size=shape).round(2).astype(DTYPES[dtype])


def make_tensor(a, layout):
    """A tensor equal to `a` laid out contiguously, transposed in memory, or as a stepped slice."""
    if layout == "transposed" and a.ndim >= 2:
        return core.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).transpose(-1, -2)
    if layout == "stepped" and a.ndim >= 1 and a.shape[-1] > 0:
        return core.tensor(np.repeat(a, 2, axis=-1))[..., ::2]
    return core.tensor(a)


@st.composite
def tensors(draw, shape_strategy=shapes, dtype_strategy=dtypes):
    shape, dtype = draw(shape_strategy), draw(dtype_strategy)
    a = make_array(shape, dtype, draw(st.integers(0, 2**16)))
    return a, make_tensor(a, draw(layouts))


def as_np(t):
    if t.dtype == core.bfloat16:
        t = t.float()
    return t.detach().numpy()


def agree(ours, expected, tol=1e-5):
    got = as_np(ours)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != numpy {expected.shape}"
    if got.dtype == np.float16 or expected.dtype == np.float16:
        tol = 2e-2
    np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64), rtol=tol, atol=tol,
                               equal_nan=True)


def check(ours_fn, ref_fn, tol=1e-5, must_fail_with_numpy=False):
    """Runs ours; if it succeeds numpy must agree; if it raises, the error must be one users can catch.
    With must_fail_with_numpy, an input numpy (PyTorch semantics) rejects must be rejected by us too."""
    try:
        ref = ref_fn()
        ref_error = None
    except Exception as e:  # noqa: BLE001 - any numpy failure means "invalid input"
        ref, ref_error = None, e
    try:
        out = ours_fn()
    except ALLOWED:
        return
    if ref_error is not None:
        if must_fail_with_numpy:
            raise AssertionError(f"accepted an input numpy rejects ({ref_error!r})")
        return
    outs = out if isinstance(out, (tuple, list)) else [out]
    refs = ref if isinstance(ref, (tuple, list)) else [ref]
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        agree(o, r, tol)


# ---------------------------------------------------------------------------------------------- views

def np_squeeze(a, d):
    if d is None:
        return a.squeeze()
    d = range(max(a.ndim, 1))[d]
    return a.squeeze(d) if a.ndim and a.shape[d] == 1 else a


def np_narrow(a, d, start, length):
    d = range(a.ndim)[d]
    size = a.shape[d]
    if start < 0:
        start += size
    if start < 0 or length < 0 or start + length > size:
        raise IndexError("narrow")
    return np.take(a, np.arange(start, start + length), axis=d)


def np_select(a, d, i):
    d = range(a.ndim)[d]
    return np.take(a, [range(a.shape[d])[i]], axis=d).squeeze(d)


def np_reshape(a, target):
    if sum(s == -1 for s in target) > 1 or any(s < -1 for s in target):
        raise ValueError
    return a.reshape(target)


def np_expand(a, target):
    lead = len(target) - a.ndim
    if lead < 0 or any(s < 0 for s in target[:lead]):
        raise ValueError
    full = tuple(a.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(target))
    return np.broadcast_to(a, full)


def np_flatten(a, s, e):
    if a.ndim == 0:
        return a.reshape(1)
    s, e = range(a.ndim)[s], range(a.ndim)[e]
    if s > e:
        raise ValueError
    return a.reshape(a.shape[:s] + (-1,) + a.shape[e + 1:]) if a.size else \
        a.reshape(a.shape[:s] + (int(np.prod(a.shape[s:e + 1])),) + a.shape[e + 1:])


@FUZZ
@given(tensors(), st.data())
def test_view_ops_agree_with_numpy_or_raise(arr_t, data):
    a, t = arr_t
    op = data.draw(st.sampled_from(["reshape", "view", "permute", "transpose", "unsqueeze", "squeeze", "narrow",
                                    "select", "expand", "flatten", "t", "contiguous", "to"]))
    if op in ("reshape", "view"):
        target = tuple(data.draw(st.lists(st.sampled_from([-2, -1, 0, 1, 2, 3, 4, 6, 12]), max_size=4)))
        if op == "view":
            check(lambda: t.view(*target) if target else t.view(()), lambda: np_reshape(a, target))
        else:
            check(lambda: t.reshape(target), lambda: np_reshape(a, target), must_fail_with_numpy=True)
    elif op == "permute":
        perm = data.draw(st.lists(dims, max_size=5))
        check(lambda: t.permute(*perm), lambda: np.transpose(a, perm) if len(set(
            p % max(a.ndim, 1) for p in perm)) == len(perm) == a.ndim else np.transpose(a, perm + [99]),
            must_fail_with_numpy=True)
    elif op == "transpose":
        d0, d1 = data.draw(dims), data.draw(dims)
        check(lambda: t.transpose(d0, d1), lambda: np.swapaxes(a, d0, d1) if a.ndim else
              (a if d0 in (0, -1) and d1 in (0, -1) else np.swapaxes(a, 5, 5)), must_fail_with_numpy=True)
    elif op == "unsqueeze":
        d = data.draw(dims)
        check(lambda: t.unsqueeze(d), lambda: np.expand_dims(a, d), must_fail_with_numpy=True)
    elif op == "squeeze":
        d = data.draw(st.one_of(st.none(), dims))
        check(lambda: t.squeeze(d), lambda: np_squeeze(a, d), must_fail_with_numpy=True)
    elif op == "narrow":
        d, start, length = data.draw(dims), data.draw(big_ints), data.draw(big_ints)
        check(lambda: t.narrow(d, start, length), lambda: np_narrow(a, d, start, length), must_fail_with_numpy=True)
    elif op == "select":
        d, i = data.draw(dims), data.draw(big_ints)
        check(lambda: t.select(d, i), lambda: np_select(a, d, i), must_fail_with_numpy=True)
    elif op == "expand":
        target = tuple(data.draw(st.lists(st.sampled_from([-2, -1, 0, 1, 2, 3, 4]), max_size=5)))
        check(lambda: t.expand(*target) if target else t.expand(()), lambda: np_expand(a, target),
              must_fail_with_numpy=True)
    elif op == "flatten":
        s, e = data.draw(dims), data.draw(dims)
        check(lambda: t.flatten(s, e), lambda: np_flatten(a, s, e), must_fail_with_numpy=True)
    elif op == "t":
        check(lambda: t.t(), lambda: a.T if a.ndim <= 2 else np.swapaxes(a, 5, 5), must_fail_with_numpy=True)
    elif op == "contiguous":
        check(lambda: t.contiguous(), lambda: a, must_fail_with_numpy=True)
    else:
        target = data.draw(dtypes)
        check(lambda: t.to(target), lambda: a.astype(DTYPES[target]) if a.dtype.kind != "f" or
              DTYPES[target] not in (np.int32, np.int64) else np.trunc(a).astype(DTYPES[target]))


def test_as_strided_outside_the_storage_is_refused():
    t = core.zeros(4)
    for shape, strides, offset in [([5], [1], 0), ([2], [3], 2), ([1], [1], -1), ([2], [-1], 1), ([-1], [1], 0),
                                   ([2, 2], [2**62, 1], 0), ([1], [1], 2**62), ([3], [1], 2)]:
        with pytest.raises(ALLOWED):
            core._C.as_strided(t, shape, strides, offset)
    assert core._C.as_strided(t, [2, 2], [1, 2], 0).shape == (2, 2)
    assert core._C.as_strided(t, [0, 7], [100, 100], 4).shape == (0, 7)


@FUZZ
@given(tensors(), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3), st.lists(st.integers(-(2**63), 2**63 - 1),
                                                                                    max_size=3),
       st.integers(-(2**63), 2**63 - 1))
def test_as_strided_never_reads_outside_the_storage(arr_t, shape, strides, offset):
    _, t = arr_t
    try:
        v = core._C.as_strided(t, shape, strides[:len(shape)] + [1] * (len(shape) - len(strides)), offset)
    except (*ALLOWED, OverflowError):
        return
    v.contiguous()


# ---------------------------------------------------------------------------------------------- indexing

huge = st.sampled_from([2**62, -(2**62), 2**63 - 1, -(2**63)])
index_items = st.one_of(
    st.integers(-5, 5), huge,
    st.builds(slice, st.one_of(st.none(), st.integers(-6, 6), huge), st.one_of(st.none(), st.integers(-6, 6), huge),
              st.one_of(st.none(), st.integers(-2, 3), huge)),
    st.none(), st.just(Ellipsis),
    st.lists(st.one_of(st.integers(-5, 5), huge), min_size=0, max_size=3),
    st.lists(st.just(2**64 - 1), min_size=1, max_size=1),
)


@FUZZ
@given(tensors(), st.lists(index_items, max_size=4), st.booleans())
def test_getitem_agrees_with_numpy_or_raises(arr_t, key, as_tuple):
    a, t = arr_t
    k = tuple(key) if as_tuple or len(key) != 1 else key[0]

    def ref():
        if any(isinstance(x, slice) and x.step is not None and x.step <= 0 for x in key):
            raise ValueError("negative steps are not supported, as in PyTorch")
        if any(isinstance(x, list) and not x for x in key):
            raise IndexError("an empty list is a float array to numpy")
        return a[k]
    check(lambda: t[k], ref)


@FUZZ
@given(tensors(nonempty_shapes), st.integers(0, 2**16), st.booleans())
def test_getitem_with_a_mask_agrees_with_numpy(arr_t, seed, full):
    a, t = arr_t
    rng = np.random.default_rng(seed)
    if a.ndim == 0:
        return
    shape = a.shape if full else a.shape[:1]
    mask = rng.integers(0, 2, size=shape).astype(bool)
    check(lambda: t[core.tensor(mask)], lambda: a[mask], must_fail_with_numpy=True)


@FUZZ
@given(tensors(), st.lists(index_items, max_size=3), st.floats(-3, 3).map(lambda v: round(v, 2)))
def test_setitem_agrees_with_numpy_or_raises(arr_t, key, value):
    a, t = arr_t
    k = tuple(key)

    def ref():
        if any(isinstance(x, slice) and x.step is not None and x.step <= 0 for x in key):
            raise ValueError
        if any(isinstance(x, list) and not x for x in key):
            raise IndexError
        b = a.copy()
        b[k] = value
        return b

    def ours():
        u = t.clone()
        u[k] = value
        return u
    check(ours, ref)


# ---------------------------------------------------------------------------------------------- binary ops

def broadcastable_pair():
    return st.tuples(shapes, shapes)


BINARY = {
    "add": (core.add, np.add), "sub": (core.sub, np.subtract), "mul": (core.mul, np.multiply),
    "div": (core.div, np.true_divide), "maximum": (core.maximum, np.maximum), "minimum": (core.minimum, np.minimum),
    "eq": (core.eq, np.equal), "lt": (core.lt, np.less), "ge": (core.ge, np.greater_equal),
    "where": (lambda x, y: core.where(x > 0, x, y), lambda x, y: np.where(x > 0, x, y)),
}


@FUZZ
@given(broadcastable_pair(), dtypes, dtypes, st.sampled_from(sorted(BINARY)), st.integers(0, 2**16), layouts)
def test_binary_ops_broadcast_like_numpy_or_raise(pair, da, db, name, seed, layout):
    a, b = make_array(pair[0], da, seed), make_array(pair[1], db, seed + 1)
    ours = BINARY[name][0]
    ta, tb = make_tensor(a, layout), make_tensor(b, "contiguous")
    with np.errstate(all="ignore"):
        check(lambda: ours(ta, tb), lambda: binary_ref(name, a, b), tol=2e-2, must_fail_with_numpy=True)


def binary_ref(name, a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == np.bool_ and b.dtype == np.bool_ and name in ("add", "sub", "mul"):
        # bool arithmetic runs in int64 and casts back to bool: + is or, * is and, - (numpy refuses it) is xor
        return {"add": np.logical_or, "sub": np.not_equal, "mul": np.logical_and}[name](a, b)
    return BINARY[name][1](a.astype(np.float64), b.astype(np.float64))


@FUZZ
@given(tensors(), st.sampled_from([0, 1, -1, 2.5, True, -7]), st.sampled_from(["add", "mul", "sub", "div", "lt"]))
def test_binary_ops_with_python_scalars(arr_t, scalar, name):
    a, t = arr_t
    ours = BINARY[name][0]
    with np.errstate(all="ignore"):
        check(lambda: ours(t, scalar), lambda: binary_ref(name, a, scalar), tol=2e-2, must_fail_with_numpy=True)


# ---------------------------------------------------------------------------------------------- matmul

@FUZZ
@given(st.lists(st.integers(0, 3), max_size=4).map(tuple), st.lists(st.integers(0, 3), max_size=4).map(tuple),
       st.sampled_from([core.float32, core.float64, core.int64]), st.integers(0, 2**16), layouts)
def test_matmul_shape_pairs_agree_with_numpy_or_raise(sa, sb, dt, seed, layout):
    a, b = make_array(sa, dt, seed), make_array(sb, dt, seed + 1)
    check(lambda: core.matmul(make_tensor(a, layout), make_tensor(b, "contiguous")),
          lambda: np.matmul(a.astype(np.float64), b.astype(np.float64)), tol=1e-4,
          must_fail_with_numpy=True)


# ---------------------------------------------------------------------------------------------- reductions and
# the shape ops: any dims, any keepdim

def np_dims(a, d):
    if d is None or (not isinstance(d, int) and not list(d)):
        return None  # no dims means all dims, as in PyTorch
    ds = [d] if isinstance(d, int) else list(d)
    n = max(a.ndim, 1)
    wrapped = [range(n)[x] for x in ds]
    if len(set(wrapped)) != len(wrapped):
        raise ValueError("repeated dim")
    return tuple(wrapped) if a.ndim else None


REDUCTIONS = {
    "sum": (lambda t, d, k: t.sum(d, keepdim=k), lambda a, d, k: a.astype(np.float64).sum(np_dims(a, d), keepdims=k)),
    "mean": (lambda t, d, k: t.mean(d, keepdim=k), lambda a, d, k: _float_only(a).mean(np_dims(a, d), keepdims=k)),
    "amax": (lambda t, d, k: t.amax(d, keepdim=k), lambda a, d, k: a.max(np_dims(a, d), keepdims=k)),
    "var": (lambda t, d, k: t.var(d, keepdim=k), lambda a, d, k: _float_only(a).var(np_dims(a, d), ddof=1,
                                                                                      keepdims=k)),
    "std": (lambda t, d, k: t.std(d, keepdim=k, correction=0),
            lambda a, d, k: _float_only(a).std(np_dims(a, d), keepdims=k)),
    "logsumexp": (lambda t, d, k: t.logsumexp(d, keepdim=k),
                  lambda a, d, k: _logsumexp(a.astype(np.float64), np_dims(a, d), k)),
    # any/all over no dims reduce nothing in PyTorch (elementwise != 0), unlike sum & co.
    "any": (lambda t, d, k: t.any(d, keepdim=k),
            lambda a, d, k: a != 0 if isinstance(d, list) and not d else a.any(np_dims(a, d), keepdims=k)),
}


def _float_only(a):
    if a.dtype.kind != "f":
        raise TypeError("floating point only")
    return a.astype(np.float64)


def _logsumexp(a, axis, keepdims):
    from scipy import special
    if axis is None and a.ndim:
        raise ValueError("dim required")
    if a.ndim == 0:
        return a
    return special.logsumexp(a, axis=axis, keepdims=keepdims)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy warns on empty means and ddof >= n
@FUZZ
@given(tensors(), st.one_of(st.none(), dims, st.lists(dims, max_size=3)), st.booleans(),
       st.sampled_from(sorted(REDUCTIONS)))
def test_reductions_agree_with_numpy_or_raise(arr_t, d, keepdim, name):
    a, t = arr_t
    ours, ref = REDUCTIONS[name]
    with np.errstate(all="ignore"):
        check(lambda: ours(t, d, keepdim), lambda: ref(a, d, keepdim), tol=2e-2)


@FUZZ
@given(tensors(), dims, st.booleans(), st.integers(-1, 5))
def test_sort_topk_cumsum_agree_with_numpy_or_raise(arr_t, d, descending, k):
    a, t = arr_t
    if a.dtype == np.float16:
        a = a.astype(np.float32)  # numpy sorts float16 the same; compare in float32

    def axis():
        return range(max(a.ndim, 1))[d]

    def np_sort():
        if a.ndim == 0:
            axis()
            return a, np.array(0)
        key = -a.astype(np.float64) if descending else a
        idx = np.argsort(key, axis=axis(), kind="stable")
        return np.take_along_axis(a, idx, axis()), idx

    def np_topk():
        vals, idx = np_sort() if a.ndim else (a[None], np.array([0]))
        n = vals.shape[axis()] if a.ndim else 1
        if not 0 <= k <= n:  # a 0-d tensor takes k = 0 or 1 and gives its element either way, as torch
            raise IndexError("k")
        if a.ndim == 0:
            return a, np.array(0)
        return np.take(vals, np.arange(k), axis()), np.take(idx, np.arange(k), axis())

    def np_cumsum():
        if a.ndim == 0:
            axis()
            return a.astype(np.float64)
        return np.cumsum(a.astype(np.float64), axis())

    check(lambda: t.sort(d, descending=descending), np_sort, must_fail_with_numpy=True)
    check(lambda: t.topk(k, d, largest=descending), np_topk, must_fail_with_numpy=True)
    check(lambda: t.cumsum(d), np_cumsum, must_fail_with_numpy=True)


@FUZZ
@given(st.lists(tensors(), min_size=1, max_size=3), dims, st.integers(-2, 4), st.integers(0, 3), st.data())
def test_cat_stack_split_chunk_agree_with_numpy_or_raise(arr_ts, d, size, chunks, data):
    arrays = [a for a, _ in arr_ts]
    ts = [t for _, t in arr_ts]

    def np_cat():
        kept = [a for a in arrays if not (a.ndim == 1 and a.size == 0)] or arrays[:1]
        if any(a.ndim == 0 for a in arrays):
            raise ValueError("0-d")
        return np.concatenate([a.astype(np.float64) for a in kept], axis=range(kept[0].ndim)[d])

    def np_stack():
        return np.stack([a.astype(np.float64) for a in arrays], axis=d)

    a, t = arrays[0], ts[0]

    def np_split():
        n = a.shape[range(a.ndim)[d]]
        if size < 0 or (size == 0 and n > 0):
            raise ValueError
        if size == 0:
            return [a]
        return np.split(a, list(range(size, n, size)), axis=range(a.ndim)[d]) or [a]

    def np_chunk():
        if a.ndim == 0 or chunks <= 0:
            raise ValueError
        n = a.shape[range(a.ndim)[d]]
        if n == 0:
            return [a] * chunks
        step = -(-n // chunks)
        return np.split(a, list(range(step, n, step)), axis=range(a.ndim)[d])

    check(lambda: core.cat(ts, d), np_cat, must_fail_with_numpy=True)
    check(lambda: core.stack(ts, d), np_stack, must_fail_with_numpy=True)
    check(lambda: t.split(size, d), np_split, must_fail_with_numpy=True)
    check(lambda: t.chunk(chunks, d), np_chunk, must_fail_with_numpy=True)
    sizes = data.draw(st.lists(st.integers(-1, 3), max_size=4))

    def np_split_sizes():
        if not a.ndim or sum(sizes) != a.shape[range(a.ndim)[d]] or min(sizes, default=0) < 0:
            raise ValueError("sizes must be non-negative and add up to the dim size")
        return np.split(a, np.cumsum(sizes)[:-1].tolist(), axis=range(a.ndim)[d]) if sizes else []
    check(lambda: t.split(sizes, d), np_split_sizes, must_fail_with_numpy=True)


@FUZZ
@given(tensors(), st.lists(dims, max_size=3), st.lists(st.integers(-1, 3), max_size=4), st.integers(-4, 4))
def test_flip_repeat_tril_agree_with_numpy_or_raise(arr_t, flip_dims, reps, diagonal):
    a, t = arr_t

    def np_flip():
        axes = np_dims(a, flip_dims)  # validates the dims, 0-d included
        return np.flip(a, axes) if a.ndim and flip_dims else a
    check(lambda: t.flip(flip_dims), np_flip, must_fail_with_numpy=True)
    check(lambda: t.repeat(*reps) if reps else t.repeat(()),
          lambda: np.tile(a, reps) if len(reps) >= a.ndim and min(reps, default=0) >= 0 else np.tile(a, [-1]),
          must_fail_with_numpy=True)
    check(lambda: t.tril(diagonal), lambda: np.tril(a, diagonal) if a.ndim >= 2 else np.tril(a[None], 99)[5],
          must_fail_with_numpy=True)


@FUZZ
@given(tensors(nonempty_shapes), dims, st.integers(0, 2**16), st.integers(-2, 5))
def test_gather_scatter_agree_with_numpy_or_raise(arr_t, d, seed, hi):
    a, t = arr_t
    rng = np.random.default_rng(seed)
    idx_shape = tuple(int(rng.integers(0, s + 1)) for s in a.shape)
    idx = rng.integers(-1 if hi < 0 else 0, max(hi, 1), size=idx_shape)

    def np_gather():
        ax = range(max(a.ndim, 1))[d]
        if a.ndim == 0:
            if idx.size and not (0 <= idx.reshape(-1)[0] < 1):
                raise IndexError
            return a if idx.ndim == 0 else a.reshape(1)[idx]
        if idx.size and (idx.min() < 0 or idx.max() >= a.shape[ax]):
            raise IndexError
        corner = a[tuple(slice(0, s) if i != ax else slice(None) for i, s in enumerate(idx.shape))]
        return np.take_along_axis(corner, idx, ax)

    check(lambda: t.gather(d, core.tensor(idx)), np_gather, must_fail_with_numpy=True)
    try:
        t.scatter(d, core.tensor(idx), 1.0)
        t.scatter_add(d, core.tensor(idx), t.gather(d, core.tensor(np.clip(idx, 0, 0))))
    except ALLOWED:
        pass


# ---------------------------------------------------------------------------------------------- creation

@FUZZ
@given(st.lists(st.integers(-3, 5), max_size=4), st.sampled_from([core.zeros, core.ones, core.empty, core.rand,
                                                                  core.randn]), dtypes)
def test_creation_with_any_shape_and_dtype_raises_or_has_that_shape(shape, fn, dt):
    try:
        t = fn(*shape, dtype=dt) if shape else fn((), dtype=dt)
    except ALLOWED:
        assert min(shape, default=0) < 0 or (fn in (core.rand, core.randn) and dt not in FLOATS)
        return
    assert t.shape == tuple(shape) and t.dtype == dt


# ---------------------------------------------------------------------------------------------- numpy inputs

@FUZZ
@given(tensors(st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)), st.data())
def test_numpy_views_of_any_layout_convert_with_their_values(arr_t, data):
    a, _ = arr_t
    view = a[tuple(slice(None, None, data.draw(st.sampled_from([1, 2, -1, -2]))) for _ in range(a.ndim))]
    if data.draw(st.booleans()):
        view = view.T
    if data.draw(st.booleans()) and view.dtype.itemsize > 1:
        view = view.astype(view.dtype.newbyteorder(">"))
    expected = view.astype(view.dtype.newbyteorder("="))
    for convert in (core.from_numpy, core.tensor, core.from_dlpack):
        try:
            t = convert(view)
        except (*ALLOWED, BufferError):
            assert convert is core.from_dlpack and not view.dtype.isnative  # numpy refuses to export those
            continue
        np.testing.assert_array_equal(as_np(t), expected)


# ---------------------------------------------------------------------------------------------- autograd

LINEAR_OPS = {
    "reshape": lambda t, d, r: t.reshape(-1),
    "permute": lambda t, d, r: t.permute(*reversed(range(t.ndim))),
    "transpose": lambda t, d, r: t.transpose(d, r),
    "expand": lambda t, d, r: t.unsqueeze(0).expand(2, *t.shape),
    "narrow": lambda t, d, r: t.narrow(d, 0, r),
    "select": lambda t, d, r: t.select(d, r),
    "slice": lambda t, d, r: t[..., ::2],
    "getitem": lambda t, d, r: t[[0, 0]],
    "cat": lambda t, d, r: core.cat([t, t], d),
    "stack": lambda t, d, r: core.stack([t, t * 2], d),
    "split": lambda t, d, r: t.split(max(r, 1), d)[0],
    "flip": lambda t, d, r: t.flip(d),
    "repeat": lambda t, d, r: t.repeat(*([2] * t.ndim)),
    "tril": lambda t, d, r: t.tril(r - 1),
    "gather": lambda t, d, r: t.gather(d, core.zeros_like(t, dtype=core.int64)),
    "sort": lambda t, d, r: t.sort(d).values,
    "topk": lambda t, d, r: t.topk(r, d).values,
    "cumsum": lambda t, d, r: t.cumsum(d),
    "amax": lambda t, d, r: t.amax(d),
    "sum": lambda t, d, r: t.sum(d, keepdim=True),
}


@settings(FUZZ, max_examples=60)
@given(tensors(st.lists(st.integers(1, 4), max_size=3).map(tuple), st.just(core.float64)),
       st.lists(st.tuples(st.sampled_from(sorted(LINEAR_OPS)), st.integers(-3, 3), st.integers(0, 3)), max_size=4),
       st.integers(0, 2**16))
def test_backward_through_chains_of_linear_ops_is_the_transpose(arr_t, chain, seed):
    """For a (piecewise) linear f, <J^T c, x> == <c, f(x)>: the gradient is checked without finite differences."""
    a, _ = arr_t
    x = core.tensor(a, dtype=core.float64, requires_grad=True)
    out = x
    for name, d, r in chain:
        try:
            out = LINEAR_OPS[name](out, d, r)
        except ALLOWED:
            continue
    c = np.random.default_rng(seed).standard_normal(out.shape)
    loss = (out * core.tensor(c)).sum()
    if not loss.requires_grad:
        return
    loss.backward()
    grad = x.grad.numpy() if x.grad is not None else np.zeros_like(a)
    assert grad.shape == a.shape
    np.testing.assert_allclose((grad * x.detach().numpy()).sum(), loss.item(), rtol=1e-9, atol=1e-9)


@FUZZ
@given(tensors(), dims, st.lists(st.integers(-4, 4), max_size=3), dtypes, st.integers(0, 2**16))
def test_index_bindings_raise_or_agree(arr_t, d, idx, src_dtype, seed):
    """The C++ index ops behind advanced indexing, called directly with any arguments."""
    a, t = arr_t
    index = core.tensor(idx, dtype=core.int64) if idx else core.zeros(0, dtype=core.int64)
    src = make_tensor(make_array(a.shape, src_dtype, seed), "contiguous")

    def np_index_select():
        ax = range(a.ndim)[d]
        return np.take(a, [range(a.shape[ax])[i] for i in idx], axis=ax)
    check(lambda: core._C.index_select(t, d, index), np_index_select, must_fail_with_numpy=True)
    for call in (lambda: core._C.index_add(t, d, index, src), lambda: core._C.index_copy_(t.clone(), d, index, src),
                 lambda: core._C.nonzero(t)):
        try:
            call()
        except ALLOWED:
            pass


@FUZZ
@given(tensors(shape_strategy=shapes, dtype_strategy=st.sampled_from([core.float32, core.float64])), shapes, dtypes,
       st.sampled_from(["sum", "mul", "max", "sort", "cumsum", "logsumexp", "var"]), st.booleans())
def test_backward_with_any_gradient_argument_raises_or_runs(arr_t, gshape, gdtype, name, retain):
    a, _ = arr_t
    x = core.tensor(a, requires_grad=True)
    ops = {"sum": lambda v: v.sum(0) if v.ndim else v.sum(), "mul": lambda v: v * v, "max": lambda v: v.max(-1)[0],
           "sort": lambda v: v.sort(0)[0], "cumsum": lambda v: v.cumsum(0), "logsumexp": lambda v: v.logsumexp(-1),
           "var": lambda v: v.var(-1)}
    try:
        out = ops[name](x)
    except ALLOWED:
        return
    grad = make_tensor(make_array(gshape, gdtype, 0), "contiguous")
    for _ in range(2):
        try:
            out.backward(grad, retain_graph=retain)
        except ALLOWED:
            pass
    if x.grad is not None:
        assert x.grad.shape == x.shape


# ---------------------------------------------------------------------------------------------- what fuzzing found

def test_max_over_the_dim_of_a_0d_tensor_backpropagates():
    x = core.tensor(1.5, requires_grad=True)
    x.max(0).values.backward()
    assert x.grad.item() == 1.0


def test_index_ops_refuse_0d_tensors_instead_of_reading_past_the_shape():
    zero_d, index = core.tensor(1.0), core.tensor([0])
    with pytest.raises(IndexError, match="0-d"):
        core._C.index_add(zero_d, 0, index, core.ones(1))
    with pytest.raises(IndexError, match="0-d"):
        core._C.index_copy_(zero_d, 0, index, core.ones(1))
    with pytest.raises(IndexError, match="out of range"):
        core._C.index_add(core.zeros(2), 3, index, core.ones(1))


def test_slices_and_narrow_with_huge_integers():
    t = core.arange(6.0)
    assert t[:: 2**63 - 1].tolist() == [0.0]
    assert t[1 :: 2**62].tolist() == [1.0]
    assert core.zeros(2, 3)[:, :: 2**62].stride() == (3, 1)
    with pytest.raises(IndexError, match="do not fit"):
        t.narrow(0, 5, 2**63 - 1)


def test_transpose_of_a_0d_tensor_checks_its_dims():
    assert core.tensor(2.0).transpose(0, -1).item() == 2.0
    with pytest.raises(IndexError, match="out of range"):
        core.tensor(2.0).transpose(0, 1)


# ---------------------------------------------------------------------------------------------- what the sweep
# against PyTorch found

def test_assigning_an_overlapping_slice_reads_the_whole_source_first():
    t = core.arange(12.0).reshape(3, 4)
    t[1:] = t[:-1]
    assert t.tolist() == np.repeat(np.arange(12.0).reshape(3, 4), [2, 1, 0], axis=0).tolist()
    u = core.arange(5.0)
    u[1:].copy_(u[:-1])
    assert u.tolist() == [0.0, 0.0, 1.0, 2.0, 3.0]


def test_a_0d_bool_tensor_index_adds_a_dim_like_true_and_false():
    t = core.arange(6.0).reshape(2, 3)
    assert t[core.tensor(True)].shape == (1, 2, 3)
    assert t[core.tensor(False)].shape == (0, 2, 3)
    assert t[0, core.tensor(True)].shape == (1, 3)


def test_float_index_tensors_are_refused_and_an_empty_list_selects_nothing():
    t = core.arange(12.0).reshape(3, 4)
    with pytest.raises(IndexError, match="integer or bool"):
        t[core.tensor([0.7, 1.2])]
    assert t[[]].shape == (0, 4)
    assert t[:, []].shape == (3, 0)


def test_advanced_indices_on_a_tensor_with_an_empty_trailing_dim():
    # the gathered rows were reshaped with -1, which a 0-size dim beside it leaves undetermined
    t = core.zeros(3, 3, 0)
    assert t[core.tensor([1])].shape == (1, 3, 0)
    assert t[core.tensor([True, False, True])].shape == (2, 3, 0)
    assert t[[1, 2], 2].shape == (2, 0)
    assert core.zeros(2, 3, 0)[core.tensor([False, False]), 2].shape == (0, 0)
    t[core.tensor([0, 2])] = 1.0
    assert t.shape == (3, 3, 0)


def test_assigned_values_may_carry_extra_leading_dims_of_size_one():
    # PyTorch drops them before broadcasting: t[0] = v[None] writes v
    z = core.zeros(())
    z[...] = core.tensor([5.0])
    assert z.item() == 5.0
    m = core.zeros(2, dtype=core.bool)
    m[...] = core.tensor([[True]])
    assert m.tolist() == [True, True]
    for key in (0, core.tensor([0])):
        t = core.zeros(2, 3)
        t[key] = core.tensor([[[1.0, 2.0, 3.0]]])
        assert t.tolist() == [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]
    x = core.zeros(2, 3, requires_grad=True)
    h = x * 1
    v = core.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    h[1] = v  # recorded by autograd
    h.sum().backward()
    assert h.tolist() == [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]] and v.grad.tolist() == [[1.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="fewer dimensions"):
        core.zeros(2, 3)[0] = core.zeros(2, 3)  # a leading dim of 2 is not dropped


def test_assigning_through_separated_advanced_indices_of_a_contiguous_tensor():
    # the indexed dims 0 and 2 cannot be flattened into one view, and this raised "call .contiguous() first"
    h = core.arange(12.0).reshape(2, 3, 2)
    h[[0, 1], :, [1, 0]] = core.tensor([-1.0, -2.0, -3.0])
    expected = np.arange(12.0).reshape(2, 3, 2)
    expected[[0, 1], :, [1, 0]] = [-1.0, -2.0, -3.0]
    assert h.tolist() == expected.tolist()
    h = core.arange(12.0).reshape(2, 3, 2)
    h[:, 1:][[0, 1], :, [1, 0]] = 0.5  # through a view: written into h
    expected = np.arange(12.0).reshape(2, 3, 2)
    expected[:, 1:][[0, 1], :, [1, 0]] = 0.5
    assert h.tolist() == expected.tolist()
    with pytest.raises(RuntimeError, match="cannot be converted"):
        core.zeros(2, 3, 2, dtype=core.int64)[[0, 1], :, [1, 0]] = float("nan")
