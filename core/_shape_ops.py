"""Joining, splitting, sorting and row-wise ops with PyTorch's signatures over core._C, and DLPack.

Importing this module also installs the matching Tensor methods (``t.split``, ``t.topk``, ``t.var``, ...).
"""
from __future__ import annotations

import builtins
import math
from typing import Any, Sequence

from core import _C
from core import _tensor as T

Tensor = _C.Tensor


def _tensors(op: str, tensors: Any) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected a Tensor at position {i}, got {type(t).__name__}")
    return list(tensors)


def _int(op: str, name: str, v: Any) -> int:
    if isinstance(v, Tensor) and v.numel() == 1 and not v.dtype.is_floating_point:
        v = v.item()
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError(f"{op}: {name} must be an integer, got {type(v).__name__}")
    return v.__index__()


@T.numpy_names
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenates tensors along an existing dim (dtypes are promoted; 1-d empty tensors are skipped).

    >>> core.cat([core.zeros(2, 3), core.ones(1, 3)]).shape
    (3, 3)
    """
    return _C.cat(_tensors("cat", tensors), _int("cat", "dim", dim))


@T.numpy_names
def concat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Alias of cat."""
    return cat(tensors, dim)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Alias of cat with numpy's argument name."""
    return cat(tensors, axis)


@T.numpy_names
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Joins equal-shaped tensors along a new dim.

    >>> core.stack([core.zeros(3), core.ones(3)], dim=1).shape
    (3, 2)
    """
    return _C.stack(_tensors("stack", tensors), _int("stack", "dim", dim))


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Views of equal pieces of `split_size` (the last may be smaller), or of the listed sizes.

    >>> [p.shape for p in core.split(core.arange(5), 2)]
    [(2,), (2,), (1,)]
    """
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [_int("split", "split sizes", s) for s in split_size_or_sections]
        return tuple(_C.split_with_sizes(tensor, sizes, _int("split", "dim", dim)))
    size = _int("split", "split_size", split_size_or_sections)
    return tuple(_C.split(tensor, size, _int("split", "dim", dim)))


@T.numpy_names
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of `chunks` nearly equal pieces (pieces of ceil(size / chunks); there may be fewer).

    >>> [p.shape for p in core.chunk(core.arange(5), 3)]
    [(2,), (2,), (1,)]
    """
    return tuple(_C.chunk(input, _int("chunk", "chunks", chunks), _int("chunk", "dim", dim)))


@T.numpy_names
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along `dim` as views, with that dim removed."""
    d, n = _int("unbind", "dim", dim), input.ndim
    if n == 0:
        raise IndexError("unbind: cannot unbind a zero-dimensional tensor")
    if not -n <= d < n:
        raise IndexError(f"unbind: dimension {d} is out of range for a tensor with {n} dimensions")
    return tuple(_C.select(input, d, i) for i in range(input.shape[d]))


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """A view with dim split into `sizes` (one of them may be -1, inferred); flatten's inverse.

    >>> core.zeros(2, 6).unflatten(1, (3, -1)).shape
    (2, 3, 2)
    """
    d, n = _int("unflatten", "dim", dim), input.ndim
    if not -n <= d < n or n == 0:
        raise IndexError(f"unflatten: dimension {d} is out of range for a tensor with {n} dimensions")
    d %= n
    sizes = T._shape((sizes,))
    if not sizes:
        raise ValueError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1 or builtins.any(s < -1 for s in sizes):
        raise ValueError(f"unflatten: sizes {tuple(sizes)} must be >= 0, with at most one -1 to infer")
    size, known = input.shape[d], math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if known == 0 or size % known:
            raise ValueError(f"unflatten: cannot infer the -1 in sizes {tuple(sizes)} for dimension {d} of size "
                             f"{size} (shape {input.shape})")
        sizes[sizes.index(-1)] = size // known
    elif known != size:
        raise ValueError(f"unflatten: sizes {tuple(sizes)} multiply up to {known}, but dimension {d} of shape "
                         f"{input.shape} has size {size}")
    shape = list(input.shape)
    return _C.view(input, shape[:d] + sizes + shape[d + 1:])


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (elements above `diagonal` set to zero); a copy."""
    return _C.tril(input, _int("tril", "diagonal", diagonal))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (elements below `diagonal` set to zero); a copy."""
    return _C.triu(input, _int("triu", "diagonal", diagonal))


@T.numpy_names
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j] = input[index[i][j]][j] for dim 0 (and likewise for other dims); index is int64. Gradients are
    dense: sparse_grad=True is refused.

    >>> core.gather(core.tensor([[1, 2], [3, 4]]), 1, core.tensor([[1], [0]])).tolist()
    [[2], [3]]
    """
    if sparse_grad:
        raise ValueError("gather: sparse_grad=True is not supported (core has no sparse tensors); leave it False")
    return _C.gather(input, _int("gather", "dim", dim), index)


@T.numpy_names
def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, value: Any = None) -> Tensor:
    """A copy of input with src (a tensor) or value (a number) written at index along dim (gather's inverse)."""
    if src is None and value is None:
        raise TypeError("scatter: expected src (a tensor) or value (a number)")
    src = value if src is None else src
    d = _int("scatter", "dim", dim)
    if isinstance(src, Tensor):
        return _C.scatter(input, d, index, src)
    if not hasattr(src, "__float__") and not hasattr(src, "__index__"):
        raise TypeError(f"scatter: src must be a tensor or a number, got {type(src).__name__}")
    return _C.scatter_value(input, d, index, _C._to_operand(src))


@T.numpy_names
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of input with src added at index along dim; repeated indices accumulate."""
    return _C.scatter_add(input, _int("scatter_add", "dim", dim), index, src)


@T.numpy_names
def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) sorted along dim. Always stable; NaN sorts as the largest value.

    >>> core.sort(core.tensor([3, 1, 2])).indices.tolist()
    [1, 2, 0]
    """
    del stable  # every sort here is stable
    return T.values_indices(*_C.sort(input, _int("sort", "dim", dim), bool(descending)))


@T.numpy_names
def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort input along dim (stable)."""
    del stable
    return _C.argsort(input, _int("argsort", "dim", dim), bool(descending))


@T.numpy_names
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """(values, indices) of the k largest (or smallest) elements along dim, in order; ties go to the lower index.

    >>> core.topk(core.tensor([1.0, 5.0, 3.0]), 2).values.tolist()
    [5.0, 3.0]
    """
    return T.values_indices(*_C.topk(input, _int("topk", "k", k), _int("topk", "dim", dim), bool(largest),
                                     bool(sorted)))


@T.numpy_names
def cumsum(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """Running sums along dim; integer and bool inputs give int64 (as in PyTorch).

    >>> core.cumsum(core.tensor([1, 2, 3]), 0).tolist()
    [1, 3, 6]
    """
    return _C.cumsum(input, _int("cumsum", "dim", dim), None if dtype is None else T._check_dtype(dtype))


@T.numpy_names
def cumprod(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """Running products along dim; integer and bool inputs give int64 (as in PyTorch). The gradient is exact where
    the input holds zeros.

    >>> core.cumprod(core.tensor([2, 3, 4]), 0).tolist()
    [2, 6, 24]
    """
    return _C.cumprod(input, _int("cumprod", "dim", dim), None if dtype is None else T._check_dtype(dtype))


def _correction(op: str, dim: Any, unbiased: Any, correction: Any) -> tuple[Any, float]:
    if isinstance(dim, bool):  # var(t, True): the old var(input, unbiased) form
        dim, unbiased = None, dim
    if correction is not None and unbiased is not None:
        raise TypeError(f"{op}: pass either unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, float(correction)


@T.numpy_names
def var(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Variance over dim (all dims by default) with Bessel's correction (correction=1) unless told otherwise.

    >>> core.var(core.tensor([1.0, 2.0, 3.0, 4.0])).item()
    1.6666666269302368
    """
    dim, c = _correction("var", dim, unbiased, correction)
    return _C.var(input, T._dims(dim), c, bool(keepdim))


@T.numpy_names
def std(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Standard deviation: the square root of var with the same arguments."""
    dim, c = _correction("std", dim, unbiased, correction)
    return _C.std(input, T._dims(dim), c, bool(keepdim))


@T.numpy_names
def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple[Tensor, Tensor]:
    """(var, mean) over dim, var with the same arguments as core.var.

    >>> [v.item() for v in core.var_mean(core.tensor([1.0, 3.0]))]
    [2.0, 2.0]
    """
    dim, c = _correction("var_mean", dim, unbiased, correction)
    return _C.var(input, T._dims(dim), c, bool(keepdim)), _C.mean(input, T._dims(dim), bool(keepdim))


@T.numpy_names
def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple[Tensor, Tensor]:
    """(std, mean) over dim, std with the same arguments as core.std."""
    dim, c = _correction("std_mean", dim, unbiased, correction)
    return _C.std(input, T._dims(dim), c, bool(keepdim)), _C.mean(input, T._dims(dim), bool(keepdim))


@T.numpy_names
def logsumexp(input: Tensor, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over dim, computed stably (the maximum is subtracted first).

    >>> round(core.logsumexp(core.tensor([1000.0, 1000.0]), 0).item(), 4)
    1000.6932
    """
    if dim is None:
        raise TypeError("logsumexp: dim is required (an int or a tuple of ints)")
    return _C.logsumexp(input, T._dims(dim), bool(keepdim))


def flip(input: Tensor, dims: int | Sequence[int]) -> Tensor:
    """A copy with the order of elements reversed along dims."""
    return _C.flip(input, T._dims(dims))


def _int_list(op: str, name: str, v: Any) -> list[int]:
    return [_int(op, name, x) for x in v] if isinstance(v, (list, tuple)) else [_int(op, name, v)]


def _wrap_dim(op: str, d: int, ndim: int) -> int:
    n = builtins.max(ndim, 1)  # a 0-d tensor takes dims 0 and -1
    if not -n <= d < n:
        raise IndexError(f"{op}: dimension {d} is out of range for a tensor with {ndim} dimensions "
                         f"(expected to be in [{-n}, {n - 1}])")
    return d % n


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """A copy with the elements moved `shifts` places along dims (wrapping around); without dims, along the
    flattened tensor, keeping its shape. Differentiable.

    >>> core.roll(core.tensor([1, 2, 3, 4]), 1).tolist()
    [4, 1, 2, 3]
    >>> core.roll(core.tensor([[1, 2], [3, 4]]), (1, -1), (0, 1)).tolist()
    [[4, 3], [2, 1]]
    """
    steps = _int_list("roll", "shifts", shifts)
    if dims is None:
        if len(steps) != 1:
            raise ValueError(f"roll: without dims, shifts must be one integer, got {tuple(steps)}; pass dims to roll "
                             "several dimensions")
        return _C.reshape(roll(_C.reshape(input, [-1]), steps, 0), list(input.shape))
    axes = _int_list("roll", "dims", dims)
    if input.ndim == 0:
        raise IndexError(f"roll: a 0-d tensor has no dimension {axes[0] if axes else ''} to roll along; leave dims "
                         "out")
    if len(steps) != len(axes) or not steps:
        raise ValueError(f"roll: shifts {tuple(steps)} and dims {tuple(axes)} must have the same, non-zero length")
    out = input
    for step, axis in zip(steps, axes):
        d = _wrap_dim("roll", axis, input.ndim)
        size = input.shape[d]
        k = step % size if size else 0
        if k:
            out = _C.cat([_C.narrow(out, d, size - k, k), _C.narrow(out, d, 0, size - k)], d)
    return _C.clone(out) if out is input else out


def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """A view with the dims at source moved to the positions at destination, the other dims keeping their order.

    >>> core.zeros(2, 3, 4).movedim(0, -1).shape
    (3, 4, 2)
    """
    src, dst = _int_list("movedim", "source", source), _int_list("movedim", "destination", destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {tuple(src)} and destination {tuple(dst)} must name the same number of "
                         "dims")
    n = input.ndim
    src = [_wrap_dim("movedim", d, n) for d in src]
    dst = [_wrap_dim("movedim", d, n) for d in dst]
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise ValueError(f"movedim: a dim appears more than once in {name} {tuple(ds)}")
    if n == 0:
        return _C.permute(input, [])
    order: list[int | None] = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(n) if d not in src)
    return _C.permute(input, [next(rest) if d is None else d for d in order])


def moveaxis(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """Alias of movedim (numpy's name)."""
    return movedim(input, source, destination)


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """Alias of transpose (numpy's name): a view with the two dims exchanged."""
    return _C.transpose(input, _int("swapaxes", "axis0", axis0), _int("swapaxes", "axis1", axis1))


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Alias of transpose: a view with the two dims exchanged."""
    return _C.transpose(input, _int("swapdims", "dim0", dim0), _int("swapdims", "dim1", dim1))


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """Repeats input along each dim; with fewer dims than input.ndim, leading ones are assumed."""
    reps = T._shape((dims,))
    return _C.repeat(input, [1] * (input.ndim - len(reps)) + reps)


def from_dlpack(ext: Any) -> Tensor:
    """A tensor sharing memory with any DLPack producer on the CPU (numpy arrays, tensors) or a capsule.

    >>> a = numpy.zeros(3, dtype=numpy.float32); t = core.from_dlpack(a); a[0] = 5; t[0].item()
    5.0
    """
    return _C.from_dlpack(ext)


def _split(self: Tensor, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    return split(self, split_size, dim)


def _repeat(self: Tensor, *args: Any, repeats: Any = None) -> Tensor:
    return _C.repeat(self, T._shape(T._one_of("repeat", "repeats", args, repeats)))


def _tile(self: Tensor, *args: Any, dims: Any = None) -> Tensor:
    return tile(self, T._shape(T._one_of("tile", "dims", args, dims)))


def _flip(self: Tensor, *args: Any, dims: Any = None) -> Tensor:
    dims = T._one_of("flip", "dims", args, dims)
    return flip(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else list(dims))


def _in_place(fn):
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        _C.copy_(self, fn(self, *args, **kwargs))
        return self
    method.__name__ = fn.__name__ + "_"
    return method


METHODS: dict[str, Any] = {
    "split": _split, "chunk": chunk, "unbind": unbind, "tril": tril, "triu": triu, "tril_": _in_place(tril),
    "triu_": _in_place(triu), "gather": gather, "scatter": scatter, "scatter_": _in_place(scatter),
    "scatter_add": scatter_add, "scatter_add_": _in_place(scatter_add), "sort": sort, "argsort": argsort,
    "topk": topk, "cumsum": cumsum, "var": var, "std": std, "logsumexp": logsumexp, "flip": _flip,
    "repeat": _repeat, "tile": _tile, "unflatten": unflatten, "cumprod": cumprod, "cumprod_": _in_place(cumprod),
    "roll": roll, "movedim": movedim, "moveaxis": moveaxis, "swapaxes": swapaxes, "swapdims": swapdims,
}


def install() -> None:
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)


install()
