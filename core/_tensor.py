"""PyTorch-style signatures over core._C: argument parsing only, the work happens in C++."""
from __future__ import annotations

import builtins
import functools
from collections import namedtuple
from typing import Any, Iterable, Sequence

import numpy as np

from core import _C

Tensor = _C.Tensor
dtype = _C.dtype

bool_ = _C.dtype.bool
int32 = _C.dtype.int32
int64 = _C.dtype.int64
float16 = _C.dtype.float16
bfloat16 = _C.dtype.bfloat16
float32 = _C.dtype.float32
float64 = _C.dtype.float64

_DEFAULT_FLOAT = float32
_NUMPY_OF = {bool_: np.bool_, int32: np.int32, int64: np.int64, float16: np.float16, float32: np.float32,
             float64: np.float64}

values_indices = namedtuple("values_indices", ["values", "indices"])


def _shape(args: tuple) -> list[int]:
    """Accepts f(2, 3), f((2, 3)) and f([2, 3]) as PyTorch does."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = a.item()
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"shape entries must be integers, got {type(a).__name__} in {args}")
        out.append(int(a))
    return out


def _dims(dim: int | Sequence[int] | None) -> list[int]:
    if dim is None:
        return []
    if isinstance(dim, (int, np.integer)):
        return [int(dim)]
    return [int(d) for d in dim]


def _check_dtype(dt: Any) -> dtype:
    if isinstance(dt, dtype):
        return dt
    if dt is builtins.float:  # as in PyTorch: dtype=float is float64, though a Python float operand counts as float32
        return float64
    if dt is builtins.int:
        return int64
    if dt is builtins.bool:
        return bool_
    try:
        return _from_numpy_dtype(np.dtype(dt))
    except TypeError:
        raise TypeError(f"expected a core dtype (core.float32, core.int64, ...), got {dt!r}") from None


def _from_numpy_dtype(nd: np.dtype) -> dtype:
    table = {np.dtype(v): k for k, v in _NUMPY_OF.items()}
    if nd not in table:
        raise TypeError(f"numpy dtype {nd} is not supported (supported: bool, int32, int64, float16, float32, float64)")
    return table[nd]


# ---------------------------------------------------------------------------------------------- creation

def tensor(data: Any, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor copied from data (nested lists, numbers, numpy arrays or tensors).

    >>> core.tensor([[1.0, 2.0], [3.0, 4.0]]).shape
    (2, 2)
    """
    _on_cpu("tensor", device)
    if isinstance(data, Tensor):
        t = _C.clone(_C.detach(data))
    else:
        mixed = None if isinstance(data, (np.ndarray, np.generic)) else _sequence_dtype(data)
        arr = np.asarray(data, dtype=mixed)  # each number rounded once, straight to the dtype it ends in
        if arr.dtype == object:
            raise TypeError("tensor: data must be numbers, nested sequences of numbers, or arrays")
        python_numbers = mixed is None and not isinstance(data, (np.ndarray, np.generic))
        if python_numbers:  # float32 and int64, as in PyTorch
            if arr.dtype.kind == "f":
                arr = arr.astype(np.float32)
            elif arr.dtype.kind in "iu":
                _check_fits(arr, np.int64 if dtype is None or _check_dtype(dtype) not in (int32, bool_)
                            else _NUMPY_OF[_check_dtype(dtype)])
                arr = arr.astype(np.int64)
        elif mixed is None:
            arr = arr.astype(_narrowed(arr.dtype), copy=False)
        t = _C.clone(_C.from_numpy(np.array(arr, copy=True, order="C")))
    if dtype is not None:
        t = _C.to_dtype(t, _check_dtype(dtype))
    return _created(t, requires_grad)


def _sequence_dtype(data: Any) -> Any:
    """The numpy dtype PyTorch gives a nested sequence holding numpy scalars or arrays, None if it holds none: each
    numpy element keeps its dtype, a Python float counts as float32, an int as int64, a bool as bool, and all are
    promoted together (`[1, np.float64(2)]` is float64, `[np.int32(3)]` int32). numpy's own rule differs
    (a Python float beside a float16 stays float16)."""
    kinds: set[Any] = set()

    def walk(x: Any) -> None:
        if isinstance(x, (np.ndarray, np.generic)):
            kinds.add(x.dtype)
        elif isinstance(x, bool):
            kinds.add("bool")
        elif isinstance(x, int):
            kinds.add("int")
        elif isinstance(x, float):
            kinds.add("float")
        elif isinstance(x, (list, tuple)):
            for item in x:
                walk(item)

    walk(data)
    if {k for k in kinds if isinstance(k, str)} == kinds:  # Python numbers only (core shadows any/all here)
        return None
    python = {"float": float32, "int": int64, "bool": bool_}
    ours = {python[k] if isinstance(k, str) else _from_numpy_dtype(_narrowed(k)) for k in kinds}
    target = ours.pop()
    for other in ours:  # PyTorch's promotion (float32 with int64 stays float32), not numpy's
        target = _C.result_type(_C.full([], 0, target), _C.full([], 0, other))
    return _NUMPY_OF[target]


def _narrowed(nd: np.dtype) -> np.dtype:
    """The numpy dtype core stores a numpy array of dtype nd in: other integer widths become int64."""
    return np.dtype(np.int64) if nd.kind in "iu" and nd not in (np.int32, np.int64) else nd


def _check_fits(arr: np.ndarray, target: Any) -> None:
    """Python integers that do not fit the tensor's integer dtype raise instead of wrapping around."""
    if target is np.bool_ or not arr.size:
        return
    info = np.iinfo(target)
    lo, hi = int(arr.min()), int(arr.max())
    if lo < info.min or hi > info.max:
        bad = hi if hi > info.max else lo
        raise OverflowError(f"tensor: value {bad} does not fit in {np.dtype(target).name}")


def as_tensor(data: Any, dtype: dtype | None = None, device: Any = None) -> Tensor:
    _on_cpu("as_tensor", device)
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or _from_numpy_dtype(data.dtype) == dtype):
        return _C.from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with a numpy array (PyTorch's torch.from_numpy)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(arr).__name__}")
    return _C.from_numpy(arr)


def _one_of(op: str, name: str, args: tuple, keyword: Any) -> tuple:
    """The varargs of f(2, 3) / f((2, 3)), or f(name=(2, 3)) as one argument: PyTorch takes either, not both."""
    if keyword is None:
        return args
    if args:
        raise TypeError(f"{op}: got {name} twice, as {args} and as {name}={keyword!r}")
    return (keyword,)


def _on_cpu(op: str, device: Any) -> None:
    """Factories and to() take device= as PyTorch's do; the CPU is the only one (t.device is "cpu")."""
    if device not in (None, "cpu"):
        raise ValueError(f"{op}: zoohub runs on the CPU only, got device {device!r}")


def _created(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        t.requires_grad = True
    return t


def _creation(fn, op, shape, size, dtype, device, requires_grad):
    _on_cpu(op, device)
    t = fn(_shape(_one_of(op, "size", shape, size)), _check_dtype(dtype) if dtype is not None else _DEFAULT_FLOAT)
    return _created(t, requires_grad)


def zeros(*shape: Any, size: Sequence[int] | None = None, dtype: dtype | None = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    return _creation(_C.zeros, "zeros", shape, size, dtype, device, requires_grad)


def ones(*shape: Any, size: Sequence[int] | None = None, dtype: dtype | None = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    return _creation(_C.ones, "ones", shape, size, dtype, device, requires_grad)


def empty(*shape: Any, size: Sequence[int] | None = None, dtype: dtype | None = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    return _creation(_C.empty, "empty", shape, size, dtype, device, requires_grad)


def full(size: Sequence[int], fill_value: float, dtype: dtype | None = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    _on_cpu("full", device)
    if dtype is None:
        dtype = bool_ if isinstance(fill_value, bool) else int64 if isinstance(fill_value, (int, np.integer)) \
            else _DEFAULT_FLOAT
    return _created(_C.full(_shape((size,)), fill_value, _check_dtype(dtype)), requires_grad)


def rand(*shape: Any, size: Sequence[int] | None = None, dtype: dtype | None = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    return _creation(_C.rand, "rand", shape, size, dtype, device, requires_grad)


def randn(*shape: Any, size: Sequence[int] | None = None, dtype: dtype | None = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    return _creation(_C.randn, "randn", shape, size, dtype, device, requires_grad)


def randint(low: int = 0, high: int | None = None, size: Sequence[int] = (), dtype: dtype | None = None,
            device: Any = None, requires_grad: bool = False) -> Tensor:
    """Random integers in [low, high): randint(low, high, size), randint(high, size) or randint(high=, size=).

    >>> core.randint(10, (2, 3)).shape
    (2, 3)
    """
    _on_cpu("randint", device)
    if isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    t = _C.randint(int(low), int(high), _shape((size,)), _check_dtype(dtype) if dtype else int64)
    return _created(t, requires_grad)


def arange(start: float = 0, end: float | None = None, step: float = 1, dtype: dtype | None = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    _on_cpu("arange", device)
    if end is None:
        start, end = 0, start
    is_int = builtins.all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end, step))
    dtype = _check_dtype(dtype) if dtype is not None else int64 if is_int else _DEFAULT_FLOAT
    if is_int and not dtype.is_floating_point:  # in int64, exact past 2**53; float dtypes count in doubles, as PyTorch
        return _created(_C.arange_int(int(start), int(end), int(step), dtype), requires_grad)
    return _created(_C.arange(float(start), float(end), float(step), dtype), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: dtype | None = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    _on_cpu("linspace", device)
    t = _C.linspace(float(start), float(end), int(steps), _check_dtype(dtype) if dtype else _DEFAULT_FLOAT)
    return _created(t, requires_grad)


def eye(n: int, m: int | None = None, dtype: dtype | None = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    _on_cpu("eye", device)
    t = _C.eye(int(n), int(n if m is None else m), _check_dtype(dtype) if dtype else _DEFAULT_FLOAT)
    return _created(t, requires_grad)


def zeros_like(input: Tensor, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def ones_like(input: Tensor, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def empty_like(input: Tensor, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return empty(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: float, dtype: dtype | None = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def rand_like(input: Tensor, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def randn_like(input: Tensor, dtype: dtype | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, dtype: dtype | None = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
    """randint(low, high) (or randint(high)) with input's shape and, unless told otherwise, its dtype."""
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def manual_seed(seed: int) -> None:
    """Seeds the global generator (xoshiro256** through splitmix64; see docs/tensors.md)."""
    _C.manual_seed(int(seed) & 0xFFFFFFFFFFFFFFFF)


# ---------------------------------------------------------------------------------------------- autograd

class no_grad:
    """Context manager (and decorator) under which ops record nothing for backward."""

    _enable = False

    def __enter__(self) -> None:
        self._prev = _C.is_grad_enabled()
        _C.set_grad_enabled(self._enable)

    def __exit__(self, *exc: object) -> None:
        _C.set_grad_enabled(self._prev)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapped


class enable_grad(no_grad):
    _enable = True


class set_grad_enabled(no_grad):
    """Grad mode on or off (`mode`), as torch.set_grad_enabled: called plainly it switches at once; as a context
    manager or decorator it switches for the block or call and restores the mode it found.

    >>> with core.set_grad_enabled(is_training):
    ...     loss = model(x).sum()
    """

    def __init__(self, mode: bool) -> None:
        self._mode = bool(mode)
        self._prev = _C.is_grad_enabled()
        _C.set_grad_enabled(self._mode)

    def __enter__(self) -> None:
        pass  # switched in __init__ already; __exit__ restores what __init__ found

    def __call__(self, fn):
        import functools
        _C.set_grad_enabled(self._prev)  # as a decorator, only calls of fn switch

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with set_grad_enabled(self._mode):
                return fn(*args, **kwargs)
        return wrapped


class inference_mode(no_grad):
    """As torch.inference_mode (context manager or decorator): for inference, ops record nothing for backward, as
    under no_grad; inference_mode(False) leaves grad mode as it is. PyTorch also marks tensors made inside as
    inference tensors that autograd refuses later; core does not mark them (it has no cost to save that way)."""

    def __new__(cls, mode: Any = True):
        if callable(mode):  # @core.inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self._mode = bool(mode)

    def __enter__(self) -> None:
        self._prev = _C.is_grad_enabled()
        if self._mode:
            _C.set_grad_enabled(False)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with inference_mode(self._mode):
                return fn(*args, **kwargs)
        return wrapped


def is_grad_enabled() -> bool:
    return _C.is_grad_enabled()


def _backward(self: Tensor, gradient: Tensor | None = None, retain_graph: bool = False,
              create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulates d(self)/d(leaf) into every leaf's .grad (only into inputs' .grad when given, intermediate
    tensors included: see core.autograd.backward); frees the graph unless retain_graph."""
    if inputs is not None:
        from core import autograd  # it imports this module

        autograd.backward(self, gradient, bool(retain_graph or create_graph), create_graph, inputs)
        return
    self._backward(gradient, bool(retain_graph or create_graph), bool(create_graph))


# ---------------------------------------------------------------------------------------------- ops

def numpy_names(fn):
    """Lets fn take numpy's axis= and keepdims= for dim= and keepdim=, as PyTorch's functions do (t.sum(axis=0))."""
    def call(*args, **kwargs):
        for numpy_name, name in (("axis", "dim"), ("keepdims", "keepdim")):
            if numpy_name in kwargs:
                if name in kwargs:
                    raise TypeError(f"{fn.__name__}: got both {name}= and its alias {numpy_name}=")
                kwargs[name] = kwargs.pop(numpy_name)
        return fn(*args, **kwargs)
    return functools.wraps(fn)(call)


def _reduce(fn):
    def op(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, **kw) -> Tensor:
        return fn(input, _dims(dim), bool(keepdim), **kw)
    return op


@numpy_names
def sum(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False,
        dtype: dtype | None = None) -> Tensor:
    return _C.sum(input, _dims(dim), bool(keepdim), _check_dtype(dtype) if dtype is not None else None)


@numpy_names
def mean(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
         dtype: dtype | None = None) -> Tensor:
    """Mean over dim (all dims by default). With dtype (a floating one) the input is converted to it first, which
    is how an integer tensor is averaged.

    >>> core.tensor([1, 2]).mean(dtype=core.float64).item()
    1.5
    """
    if dtype is not None:
        dtype = _check_dtype(dtype)
        if not dtype.is_floating_point:
            raise TypeError(f"mean: dtype must be a floating point dtype, got {dtype!r}")
        input = _C.to_dtype(input, dtype)
    return _C.mean(input, _dims(dim), bool(keepdim))


@numpy_names
def amax(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return _C.amax(input, _dims(dim), bool(keepdim))


@numpy_names
def amin(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return _C.amin(input, _dims(dim), bool(keepdim))


@numpy_names
def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Tensor | None = None):
    """max(t) -> the largest value; max(t, dim) -> (values, indices); max(a, b) or max(a, other=b) ->
    elementwise maximum."""
    if other is not None:
        if dim is not None:
            raise TypeError(f"max: got both dim={dim!r} and other; pass one of them")
        return _C.maximum(input, other)
    if isinstance(dim, Tensor):
        return _C.maximum(input, dim)
    if dim is None:
        return _C.amax(input, [], False)
    return values_indices(*_C.max_dim(input, int(dim), bool(keepdim)))


@numpy_names
def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Tensor | None = None):
    """min(t) -> the smallest value; min(t, dim) -> (values, indices); min(a, b) or min(a, other=b) ->
    elementwise minimum."""
    if other is not None:
        if dim is not None:
            raise TypeError(f"min: got both dim={dim!r} and other; pass one of them")
        return _C.minimum(input, other)
    if isinstance(dim, Tensor):
        return _C.minimum(input, dim)
    if dim is None:
        return _C.amin(input, [], False)
    return values_indices(*_C.min_dim(input, int(dim), bool(keepdim)))


@numpy_names
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _C.argmax(input, None if dim is None else int(dim), bool(keepdim))


@numpy_names
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _C.argmin(input, None if dim is None else int(dim), bool(keepdim))


@numpy_names
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: dtype | None = None) -> Tensor:
    """Product over dim (all elements by default); integer and bool inputs give int64. With dtype the input is
    converted to it first.

    >>> core.tensor([1.5, 4.0]).prod(dtype=core.float64).item()
    6.0
    """
    if dtype is None:
        return _C.prod(input, None if dim is None else int(dim), bool(keepdim))
    dtype = _check_dtype(dtype)  # an integer product comes back int64: wrapping it to int32 is int32's product
    return _C.to_dtype(_C.prod(_C.to_dtype(input, dtype), None if dim is None else int(dim), bool(keepdim)), dtype)


@numpy_names
def any(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    if _no_dims(dim):  # an empty dim list reduces nothing here, as in PyTorch (sum's reduces everything)
        return _C.ne(input, False)
    return _C.any(input, _dims(dim), bool(keepdim))


@numpy_names
def all(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    if _no_dims(dim):
        return _C.ne(input, False)
    return _C.all(input, _dims(dim), bool(keepdim))


def _no_dims(dim: Any) -> bool:
    return isinstance(dim, (list, tuple)) and len(dim) == 0


_FLOAT_RANK = {float16: 1, bfloat16: 1, float32: 2, float64: 3}


def vector_norm(x: Tensor, ord: float = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
                dtype: dtype | None = None) -> Tensor:
    """(sum |x|^ord)^(1/ord) over dim (all dims by default): ord=inf is max |x|, -inf min |x|, 0 the count of
    nonzeros. x must be floating; dtype (a floating dtype at least as wide) converts it first. The gradient of
    the 2-norm of a zero vector is 0, as in PyTorch.

    >>> core.linalg.vector_norm(core.tensor([3.0, -4.0])).item()
    5.0
    >>> core.linalg.vector_norm(core.tensor([[3.0, -4.0]]), ord=1, dim=1).tolist()
    [7.0]
    """
    if isinstance(ord, (bool, str)) or not isinstance(ord, (int, float, np.integer, np.floating)):
        raise TypeError(f"vector_norm: ord must be a number, got {ord!r}" +
                        ("; core.norm takes 'fro'" if isinstance(ord, str) else ""))
    if dtype is not None:
        dtype = _check_dtype(dtype)
        if not dtype.is_floating_point:
            raise TypeError(f"vector_norm: dtype must be a floating point dtype, got {dtype!r}")
        if not x.dtype.is_floating_point:
            raise TypeError(f"vector_norm: expected a floating point tensor, got {x.dtype!r}; convert it with "
                            ".float()")
        if dtype != x.dtype and _FLOAT_RANK[dtype] <= _FLOAT_RANK[x.dtype]:
            raise TypeError(f"vector_norm: dtype {dtype!r} would narrow the input's {x.dtype!r}; pass a wider dtype "
                            "or convert the input first")
        x = _C.to_dtype(x, dtype)
    return _C.vector_norm(x, builtins.float(ord), _dims(dim), bool(keepdim))


def norm(input: Tensor, p: float | str | None = "fro", dim: int | Sequence[int] | None = None,
         keepdim: bool = False, dtype: dtype | None = None) -> Tensor:
    """The vector p-norm of input over dim (all dims by default), as core.linalg.vector_norm; p='fro' (over at most
    two dims) and None are the 2-norm. The nuclear norm ('nuc') is not implemented.

    >>> core.tensor([[1.0, 2.0], [2.0, 4.0]]).norm(dim=1).tolist()
    [2.2360680103302, 4.4721360206604]
    """
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("norm: the nuclear norm (p='nuc') is not implemented in core")
        if p != "fro":
            raise ValueError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
        if len(_dims(dim)) > 2:
            raise ValueError(f"norm: p='fro' takes at most two dims, got dim={dim!r}; use a number p for more")
        p = 2
    return vector_norm(input, 2 if p is None else p, dim, keepdim, dtype=dtype)


def clamp(input: Tensor, min: float | Tensor | None = None, max: float | Tensor | None = None) -> Tensor:
    """Limits input to [min, max] (max wins where min > max); bounds may be numbers or broadcastable tensors.

    >>> core.clamp(core.tensor([1, 5]), 1.5, 3.5).tolist()  # a float bound makes an integer tensor float
    [1.5, 3.5]
    """
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if min is None and max is None:
            return _C.clamp(input, None, None)  # raises: one bound is needed
        out = input if min is None else _C.where(_past_bound(_C.lt(input, min), min), min, input)
        out = out if max is None else _C.where(_past_bound(_C.gt(out, max), max), max, out)
        if not builtins.any(isinstance(a, Tensor) and a.requires_grad for a in (input, min, max)):
            return out
        return _clamp_graph(input, min, max, _C.detach(out))
    if not input.dtype.is_floating_point and builtins.any(isinstance(b, (float, np.floating)) for b in (min, max)):
        input = _C.to_dtype(input, _DEFAULT_FLOAT)
    elif input.dtype == bool_ and builtins.any(isinstance(b, (int, np.integer)) and not isinstance(b, (bool, np.bool_))
                                               for b in (min, max)):
        input = _C.to_dtype(input, int64)  # a bool tensor with an integer bound clamps in int64, as in PyTorch
    return _C.clamp(input, min, max)


def _clamp_graph(input: Tensor, min: Tensor | None, max: Tensor | None, value: Tensor) -> Tensor:
    """Clamp's result `value` rebuilt so the gradient goes where PyTorch sends it: to input inside [min, max], to min
    below it (when min < max), to max above it or when max < min, and to none of them where a NaN makes the result
    NaN (a NaN input, or a NaN bound; PyTorch still gives max its gradient where input > max or max < min)."""
    nan = _C.ne(value, value)
    if max is None:
        return _C.where(_C.ge(input, min), input, _C.where(_C.lt(input, min), min, value))
    # NaN where the result is, with max's gradient; a number bound has none, and the result is it (or NaN) there
    at_max = _C.where(nan, _C.add(max, value), max) if isinstance(max, Tensor) else value
    if min is None:
        return _C.where(_C.le(input, max), input, _C.where(_C.gt(input, max), at_max, value))
    inside = _C.logical_and(_C.ge(input, min), _C.le(input, max))
    min_lt_max = _C.lt(min, max) if isinstance(min, Tensor) else _C.gt(max, min)
    max_lt_min = _C.gt(min, max) if isinstance(min, Tensor) else _C.lt(max, min)
    below = _C.logical_and(_C.lt(input, min), min_lt_max)
    above = _C.logical_or(_C.gt(input, max), max_lt_min)
    return _C.where(inside, input, _C.where(below, min, _C.where(above, at_max, value)))


def _past_bound(beyond: Tensor, bound: Any) -> Tensor:
    """Where clamp takes the bound: past it, or where the bound is NaN (PyTorch's clamp propagates a NaN bound)."""
    if isinstance(bound, Tensor):
        return _C.logical_or(beyond, _C.ne(bound, bound))
    return _C.logical_or(beyond, _C.full([], bound != bound, bool_))


def pow(input: Any, exponent: Any) -> Tensor:
    if isinstance(input, Tensor) and isinstance(exponent, (int, float)) and not isinstance(exponent, bool) \
            and input.dtype.is_floating_point:
        return _C.pow_scalar(input, float(exponent))
    if isinstance(input, Tensor) and input.dtype in (int32, int64) and isinstance(exponent, int) \
            and not isinstance(exponent, bool) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed (PyTorch's rule); use a floating "
                           "point tensor, e.g. t.float() ** -1")
    return _C.pow(input, exponent)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Rounds to the nearest integer, halves to even (as PyTorch and numpy), or to `decimals` decimal places
    (negative: to tens, hundreds, ...). Integer tensors come back unchanged (a copy); the gradient is zero.

    >>> core.round(core.tensor([0.5, 1.5, 2.5, -2.5])).tolist()
    [0.0, 2.0, 2.0, -2.0]
    >>> core.round(core.tensor([1234.5678]), decimals=-2).tolist()
    [1200.0]
    """
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round: decimals must be an integer, got {type(decimals).__name__}")
    return _C.round(input, int(decimals))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _C.gelu(input, approximate == "tanh")


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    return _C.linear(input, weight, bias)


def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    return _C.reshape(input, _shape((shape,)))


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    return _C.permute(input, _shape((dims,)))


@numpy_names
def squeeze(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """Removes dims of size 1: all of them, the one `dim`, or those among a tuple of dims."""
    if not isinstance(dim, (tuple, list)):
        return _C.squeeze(input, dim)
    n = builtins.max(input.ndim, 1)
    for d in dim:
        if not -n <= d < n:
            raise IndexError(f"squeeze: dimension {d} is out of range for a tensor with {input.ndim} dimensions "
                             f"(expected to be in [{-n}, {n - 1}])")
    wrapped = [d % n for d in dim]
    if len(set(wrapped)) != len(wrapped):
        raise ValueError(f"squeeze: a dimension appears more than once in {tuple(dim)}")
    for d in sorted(wrapped, reverse=True):
        input = _C.squeeze(input, d)
    return input


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    n = input.ndim
    if n == 0:
        return _C.reshape(input, [1])
    s, e = start_dim % n if -n <= start_dim < n else None, end_dim % n if -n <= end_dim < n else None
    if s is None or e is None:
        raise IndexError(f"flatten: dims ({start_dim}, {end_dim}) out of range for a {n}-d tensor")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = list(input.shape)
    return _C.reshape(input, shape[:s] + [-1 if 0 not in shape[s:e + 1] else 0] + shape[e + 1:])


def t(input: Tensor) -> Tensor:
    if input.ndim > 2:
        raise ValueError(f"t() expects a tensor with <= 2 dimensions, got shape {input.shape}")
    return _C.transpose(input, 0, 1) if input.ndim == 2 else input


@numpy_names
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of input at `index` (a 0-d or 1-d int64/int32 tensor) along dim; a copy, differentiable.

    >>> core.index_select(core.tensor([[1, 2, 3]]), 1, core.tensor([2, 0])).tolist()
    [[3, 1]]
    """
    return _C.index_select(input, int(dim), index)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """The indices of the nonzero elements in row-major order: an int64 tensor (N, ndim), or with as_tuple=True
    one 1-d tensor per dim (numpy's nonzero; a 0-d input counts as 1-d).

    >>> core.tensor([[0, 1], [2, 0]]).nonzero().tolist()
    [[0, 1], [1, 0]]
    """
    if not as_tuple:
        return _C.nonzero(input)
    coords = _C.nonzero(_C.reshape(input, [1]) if input.ndim == 0 else input)
    return tuple(_C.select(coords, 1, i) for i in range(coords.shape[1]))


def where(condition: Tensor, input: Any = None, other: Any = None) -> Tensor | tuple[Tensor, ...]:
    """input where condition holds, other elsewhere (broadcast, promoted); where(condition) alone is
    nonzero(condition, as_tuple=True), as in PyTorch.

    >>> core.where(core.tensor([True, False]), 1.0, 0.0).tolist()
    [1.0, 0.0]
    """
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: pass both input and other, or neither (where(condition) gives the indices)")
    return _C.where(condition, input, other)


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    return _C.masked_fill(input, mask, value)


def relu_(input: Tensor) -> Tensor:
    """relu written into input itself; returns input."""
    return input.relu_()


def _float_test(name: str, input: Tensor) -> Tensor | None:
    """Checks input for isnan / isinf / isfinite; None for a floating tensor (test its values), else the answer
    every element of an integer or bool tensor gets (never NaN or infinite)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if input.dtype.is_floating_point:
        return None
    return _C.full(list(input.shape), name == "isfinite", bool_)


def isnan(input: Tensor) -> Tensor:
    """True where input is NaN (bool tensor of input's shape); integer and bool tensors have none, as torch.isnan.

    >>> core.isnan(core.tensor([1.0, float("nan")])).tolist()
    [False, True]
    """
    fixed = _float_test("isnan", input)
    return fixed if fixed is not None else _C.ne(input, input)


def isinf(input: Tensor) -> Tensor:
    """True where input is +inf or -inf, as torch.isinf.

    >>> core.isinf(core.tensor([1.0, float("-inf"), float("nan")])).tolist()
    [False, True, False]
    """
    fixed = _float_test("isinf", input)
    return fixed if fixed is not None else _C.eq(_C.abs(input), float("inf"))


def isfinite(input: Tensor) -> Tensor:
    """True where input is neither NaN nor infinite (every element of an integer tensor), as torch.isfinite.

    >>> core.isfinite(core.tensor([1.0, float("inf"), float("nan")])).tolist()
    [True, False, False]
    """
    fixed = _float_test("isfinite", input)
    return fixed if fixed is not None else _C.lt(_C.abs(input), float("inf"))


def _export(names: Iterable[str]) -> dict[str, Any]:
    return {n: getattr(_C, n) for n in names}


globals().update({n: numpy_names(getattr(_C, n)) for n in ("unsqueeze", "narrow", "select")})
globals().update(_export([
    "neg", "abs", "sign", "floor", "ceil", "trunc", "remainder", "fmod", "floor_divide", "exp", "log", "log1p",
    "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu", "silu", "erf",
    "logical_not", "add", "sub", "mul", "div", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "matmul", "bmm", "transpose", "clone", "detach",
    "contiguous",
]))
# PyTorch's other names for the same ops
true_divide = divide = _C.div
multiply, subtract = _C.mul, _C.sub
greater, less, greater_equal, less_equal, not_equal = _C.gt, _C.lt, _C.ge, _C.le, _C.ne
