"""Tensor methods and operators with PyTorch's names, installed on core._C.Tensor."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from core import _C
from core import _tensor as T
from core.hooks import RemovableHandle
from core._indexing import getitem, setitem
from core._inplace import check_writable, needs_graph, write_recorded

Tensor = _C.Tensor


def _shape_args(args: tuple) -> list[int]:
    return T._shape(args)


def _to(self: Tensor, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False,
        copy: bool = False) -> Tensor:
    """t.to(dtype), t.to("cpu", dtype), t.to(other_tensor), each optionally followed by non_blocking and copy, or
    their keywords: the CPU is the only device. Without copy=True, t itself comes back when nothing changes.

    >>> t = core.zeros(2); t.to(core.float32, copy=True)._shares_storage(t)
    False
    """
    rest = list(args)
    if rest and (rest[0] is None or isinstance(rest[0], str)):
        if device is not None:
            _to_error(f"device given twice ({rest[0]!r} and device={device!r})")
        device = rest.pop(0)
    if rest and not isinstance(rest[0], bool):
        target = rest.pop(0)
        if dtype is not None:
            _to_error(f"dtype given twice ({target!r} and dtype={dtype!r})")
        dtype = target.dtype if isinstance(target, Tensor) else target
    if len(rest) > 2 or not all(isinstance(a, bool) for a in rest):
        _to_error(f"expected (device, dtype or tensor, non_blocking, copy), got {args!r}")
    copy = rest[1] if len(rest) == 2 else copy
    T._on_cpu("to", device)
    if dtype is not None and T._check_dtype(dtype) != self.dtype:
        return _C.to_dtype(self, T._check_dtype(dtype))
    return _C.clone(self) if copy else self


def _to_error(message: str):
    raise TypeError(f"to: {message}")


def _repr(self: Tensor) -> str:
    if self.dtype == T.bfloat16:
        arr = _C.to_dtype(_C.detach(self), T.float32).numpy()
    else:
        arr = _C.detach(self).numpy()
    body = np.array2string(arr, separator=", ", precision=4, prefix="tensor(")
    extras = []
    if self.dtype not in (T.float32, T.int64, T.bool_):
        extras.append(f"dtype={self.dtype!r}")
    if self.grad_fn is not None:
        extras.append(f"grad_fn=<{self.grad_fn}>")
    elif self.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _size(self: Tensor, dim: int | None = None):
    if dim is None:
        return self.shape
    n = self.ndim
    if not -max(n, 1) <= dim < max(n, 1):
        raise IndexError(f"size: dimension {dim} is out of range for a tensor with {n} dimensions")
    return self.shape[dim]


def _tolist(self: Tensor):
    if self.dtype == T.bfloat16:
        return _C.to_dtype(_C.detach(self), T.float32).numpy().tolist()
    return _C.detach(self).numpy().tolist()


def _array(self: Tensor, dtype=None, copy=None):
    if self.requires_grad and _C.is_grad_enabled():  # np.asarray(t) is t.numpy(): the same refusal
        raise RuntimeError("can't convert a tensor that requires grad to a numpy array; use tensor.detach()")
    a = _C.detach(self).numpy() if self.dtype != T.bfloat16 else _C.to_dtype(_C.detach(self), T.float32).numpy()
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    return a.copy() if copy else a  # numpy 2 asks for copy=True from np.array(t)


def _bool(self: Tensor) -> bool:
    if self.numel() != 1:
        raise RuntimeError(f"the truth value of a tensor with {self.numel()} elements is ambiguous; "
                           "use .any() or .all()")
    return bool(self.item())


def _iter(self: Tensor):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (_C.select(self, 0, i) for i in range(self.shape[0]))


def _len(self: Tensor) -> int:
    if self.ndim == 0:
        raise TypeError("len() of a 0-d tensor")
    return self.shape[0]


def _inplace(op):
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        recorded = needs_graph(self, *args, *kwargs.values())
        if recorded:
            check_writable(self)
        # recorded: the op reads a copy, so what its backward keeps of self is not overwritten below
        result = op(_C.clone(self) if recorded else self, *args, **kwargs)
        if _loses_category(result.dtype, self.dtype):
            raise TypeError(f"result type {result.dtype!r} can't be cast to the desired output type {self.dtype!r} "
                            "of an in-place op; use the out-of-place op, e.g. x = x + y")
        if recorded:
            return write_recorded(self, result)
        _C.copy_(self, result)
        return self
    return method


def _loses_category(result: Any, target: Any) -> bool:
    """True when writing `result` into `target` would drop a category (floating -> integer -> bool), as PyTorch
    refuses for in-place ops."""
    def rank(dt: Any) -> int:
        return 2 if dt.is_floating_point else 0 if dt == T.bool_ else 1
    return rank(result) > rank(target)


def _invert(self: Tensor) -> Tensor:
    if self.dtype != T.bool_:
        raise TypeError(f"~ is only supported for bool tensors (got {self.dtype!r}); integer bitwise not is not "
                        "implemented")
    return _C.logical_not(self)


def _bitwise(name: str, logical: Any):
    """`&` and `|` of bool tensors; integer bitwise ops are not implemented, and must not silently act as logical."""
    def method(self: Tensor, other: Any) -> Tensor:
        other_dtype = other.dtype if isinstance(other, Tensor) else T.bool_ if isinstance(other, bool) else None
        if self.dtype != T.bool_ or other_dtype != T.bool_:
            found = other_dtype if other_dtype is not None else type(other).__name__
            raise TypeError(f"{name} is only supported between bool tensors (got {self.dtype!r} and {found}); "
                            "use core.logical_and / core.logical_or for truth values")
        return logical(self, other)
    return method


def _register_hook(self: Tensor, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
    """Calls hook(grad) with this tensor's gradient on every backward that reaches it; a tensor returned (same
    shape and dtype) replaces the gradient for the rest of the backward, None keeps it. A leaf's hooks see its whole
    gradient once, before it is added to .grad; a non-leaf's see it summed over its consumers. Returns a handle
    whose remove() unregisters the hook.

    >>> x = core.ones(3, requires_grad=True)
    >>> handle = x.register_hook(lambda g: g * 2)
    >>> x.sum().backward(); x.grad.tolist()
    [2.0, 2.0, 2.0]
    """
    if not callable(hook):
        raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
    remove, key = self._register_hook(hook)
    return RemovableHandle(remove, key)


def _requires_grad_(self: Tensor, requires_grad: bool = True) -> Tensor:
    self.requires_grad = requires_grad
    return self


def _zero_(self: Tensor) -> Tensor:
    return _fill_(self, 0)


def _fill_(self: Tensor, value: Any) -> Tensor:
    if needs_graph(self, value):
        check_writable(self)
        if isinstance(value, Tensor) and value.ndim != 0:
            raise ValueError(f"fill_: value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
        number = _C._to_operand(value)
        _C._check_number_fits(number, self.dtype)
        return write_recorded(self, number, overwrite=True)
    _C.fill_(self, value)
    return self


def _copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """Writes src (a tensor or a number, broadcast and converted to self's dtype) into self; non_blocking is
    accepted for PyTorch's sake and changes nothing on the CPU."""
    if needs_graph(self, src):
        check_writable(self)
        number = not isinstance(src, Tensor)
        value = _C._to_operand(src)
        if number:
            _C._check_number_fits(value, self.dtype)
        _C.expand(value, list(self.shape))  # the shape error of the plain path, before anything is written
        return write_recorded(self, value, overwrite=True)
    _C.copy_(self, src)
    return self


def _rev(op):
    return lambda self, other: op(other, self)


def _expand(self: Tensor, *args: Any, size: Any = None) -> Tensor:
    return _C.expand(self, _shape_args(T._one_of("expand", "size", args, size)))


def _permute(self: Tensor, *args: Any, dims: Any = None) -> Tensor:
    return _C.permute(self, _shape_args(T._one_of("permute", "dims", args, dims)))


def _reshape(self: Tensor, *args: Any, shape: Any = None) -> Tensor:
    return _C.reshape(self, _shape_args(T._one_of("reshape", "shape", args, shape)))


def _view(self: Tensor, *args: Any, size: Any = None) -> Tensor:
    shape = T._one_of("view", "size", args, size)
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        _view_dtype_error(shape[0])
    return _C.view(self, _shape_args(shape))


def _view_dtype_error(dt: Any):
    raise TypeError(f"view: reinterpreting as {dt!r} is not supported; use .to(dtype) to convert")


def _pow(self: Tensor, exponent: Any) -> Tensor:
    return T.pow(self, exponent)


@T.numpy_names
def _max(self: Tensor, dim: Any = None, keepdim: bool = False, *, other: Tensor | None = None):
    return T.max(self, dim, keepdim, other=other)


@T.numpy_names
def _min(self: Tensor, dim: Any = None, keepdim: bool = False, *, other: Tensor | None = None):
    return T.min(self, dim, keepdim, other=other)


def _type_as(self: Tensor, other: Tensor) -> Tensor:
    return _C.to_dtype(self, other.dtype)


def _data(self: Tensor) -> Tensor:
    return _C.detach(self)


def _transposed(self: Tensor) -> Tensor:
    return _C.permute(self, list(range(self.ndim))[::-1])


def _new_zeros(self: Tensor, *shape: Any, size: Any = None, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    """Zeros of the given size with self's dtype unless told otherwise."""
    return T.zeros(*shape, size=size, dtype=self.dtype if dtype is None else dtype, device=device,
                   requires_grad=requires_grad)


def _new_ones(self: Tensor, *shape: Any, size: Any = None, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """Ones of the given size with self's dtype unless told otherwise."""
    return T.ones(*shape, size=size, dtype=self.dtype if dtype is None else dtype, device=device,
                  requires_grad=requires_grad)


def _new_empty(self: Tensor, *shape: Any, size: Any = None, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of the given size with self's dtype unless told otherwise."""
    return T.empty(*shape, size=size, dtype=self.dtype if dtype is None else dtype, device=device,
                   requires_grad=requires_grad)


def _new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """fill_value everywhere, with self's dtype unless told otherwise (not the fill value's)."""
    return T.full(size, fill_value, dtype=self.dtype if dtype is None else dtype, device=device,
                  requires_grad=requires_grad)


def _new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
                requires_grad: bool = False) -> Tensor:
    """A copy of data (as core.tensor) with self's dtype unless told otherwise.

    >>> core.zeros(2, dtype=core.float16).new_tensor([1, 2]).dtype
    core.float16
    """
    return T.tensor(data, dtype=self.dtype if dtype is None else dtype, device=device, requires_grad=requires_grad)


def _equality(op):
    """== and != with an operand that is neither a tensor nor a number (None, a string) give NotImplemented, so
    Python compares identities (`t == None` is False, `t != None` True), as in PyTorch."""
    def method(self: Tensor, other: Any) -> Any:
        if not isinstance(other, Tensor):
            try:
                _C._to_operand(other)
            except TypeError:
                return NotImplemented
            except OverflowError:
                pass  # an int past int64: the op decides (beside a float tensor it is a float)
        return op(self, other)
    return method


def _cast(dt):
    return lambda self: _C.to_dtype(self, dt)


METHODS: dict[str, Any] = {
    "__repr__": _repr, "__str__": _repr, "__len__": _len, "__iter__": _iter, "__bool__": _bool,
    "__float__": lambda self: float(self.item()), "__int__": lambda self: int(self.item()),
    "__index__": lambda self: int(self.item()) if self.dtype in (T.int64, T.int32) else _index_error(self),
    "__array__": _array, "__hash__": object.__hash__,
    "__getitem__": getitem, "__setitem__": setitem,
    "__add__": _C.add, "__radd__": _rev(_C.add), "__sub__": _C.sub, "__rsub__": _rev(_C.sub),
    "__mul__": _C.mul, "__rmul__": _rev(_C.mul), "__truediv__": _C.div, "__rtruediv__": _rev(_C.div),
    "__mod__": _C.remainder, "__rmod__": _rev(_C.remainder), "__floordiv__": _C.floor_divide,
    "__rfloordiv__": _rev(_C.floor_divide), "__pow__": _pow, "__rpow__": _rev(_C.pow), "__matmul__": _C.matmul,
    "__rmatmul__": _rev(_C.matmul),
    "__neg__": _C.neg, "__abs__": _C.abs, "__invert__": _invert,
    "__and__": _bitwise("&", _C.logical_and), "__or__": _bitwise("|", _C.logical_or),
    "__rand__": _bitwise("&", _C.logical_and), "__ror__": _bitwise("|", _C.logical_or),
    "__eq__": _equality(_C.eq), "__ne__": _equality(_C.ne), "__lt__": _C.lt, "__le__": _C.le, "__gt__": _C.gt,
    "__ge__": _C.ge,
    "__iadd__": _inplace(_C.add), "__isub__": _inplace(_C.sub), "__imul__": _inplace(_C.mul),
    "__itruediv__": _inplace(_C.div), "__imod__": _inplace(_C.remainder), "__ifloordiv__": _inplace(_C.floor_divide),
    "__ipow__": _inplace(T.pow), "pow_": _inplace(T.pow),
    "add_": _inplace(_C.add), "sub_": _inplace(_C.sub), "mul_": _inplace(_C.mul), "div_": _inplace(_C.div),
    "remainder_": _inplace(_C.remainder), "fmod_": _inplace(_C.fmod), "floor_divide_": _inplace(_C.floor_divide),
    "floor_": _inplace(_C.floor), "ceil_": _inplace(_C.ceil), "round_": _inplace(T.round), "trunc_": _inplace(_C.trunc),
    "clamp_": _inplace(T.clamp), "zero_": _zero_, "fill_": _fill_, "copy_": _copy_,
    "requires_grad_": _requires_grad_, "backward": T._backward, "register_hook": _register_hook,
    "size": _size, "nelement": lambda self: self.numel(), "tolist": _tolist,
    "new_zeros": _new_zeros, "new_ones": _new_ones, "new_empty": _new_empty, "new_full": _new_full,
    "new_tensor": _new_tensor, "index_select": T.index_select, "nonzero": T.nonzero,
    "to": _to, "cpu": lambda self: self, "type_as": _type_as,
    "float": _cast(T.float32), "double": _cast(T.float64), "half": _cast(T.float16),
    "bfloat16": _cast(T.bfloat16), "long": _cast(T.int64), "int": _cast(T.int32), "bool": _cast(T.bool_),
    "is_floating_point": lambda self: self.dtype.is_floating_point,
    "reshape": _reshape,
    "view": _view, "view_as": lambda self, other: _C.view(self, list(other.shape)),
    "reshape_as": lambda self, other: _C.reshape(self, list(other.shape)),
    "permute": _permute, "transpose": _C.transpose, "t": T.t, "expand": _expand,
    "expand_as": lambda self, other: _C.expand(self, list(other.shape)),
    "unsqueeze": T.unsqueeze, "squeeze": T.squeeze, "flatten": T.flatten, "narrow": T.narrow,
    "select": T.select, "contiguous": _C.contiguous, "clone": _C.clone, "detach": _C.detach,
    "sum": T.sum, "mean": T.mean, "amax": T.amax, "amin": T.amin, "max": _max, "min": _min,
    "argmax": T.argmax, "argmin": T.argmin, "prod": T.prod, "any": T.any, "all": T.all,
    "abs": _C.abs, "neg": _C.neg, "exp": _C.exp, "log": _C.log, "log1p": _C.log1p, "sqrt": _C.sqrt,
    "rsqrt": _C.rsqrt, "sin": _C.sin, "cos": _C.cos, "tanh": _C.tanh, "sigmoid": _C.sigmoid, "relu": _C.relu,
    "sign": _C.sign, "erf": _C.erf, "floor": _C.floor, "ceil": _C.ceil, "round": T.round, "trunc": _C.trunc,
    "fix": _C.trunc, "remainder": _C.remainder, "fmod": _C.fmod, "floor_divide": _C.floor_divide,
    "clamp": T.clamp, "clip": T.clamp, "pow": _pow,
    "add": _C.add, "sub": _C.sub, "mul": _C.mul, "div": _C.div, "matmul": _C.matmul,
    "maximum": _C.maximum, "minimum": _C.minimum, "eq": _C.eq, "ne": _C.ne, "lt": _C.lt, "le": _C.le,
    "gt": _C.gt, "ge": _C.ge, "logical_not": _C.logical_not, "masked_fill": T.masked_fill,
    "isnan": T.isnan, "isinf": T.isinf, "isfinite": T.isfinite,
    "masked_fill_": _inplace(T.masked_fill), "norm": T.norm,
    "exp_": _inplace(_C.exp), "log_": _inplace(_C.log), "sqrt_": _inplace(_C.sqrt), "abs_": _inplace(_C.abs),
    "neg_": _inplace(_C.neg), "sigmoid_": _inplace(_C.sigmoid), "tanh_": _inplace(_C.tanh),
    "relu_": _inplace(_C.relu),
    "true_divide": _C.div, "divide": _C.div, "multiply": _C.mul, "subtract": _C.sub, "greater": _C.gt,
    "less": _C.lt, "greater_equal": _C.ge, "less_equal": _C.le, "not_equal": _C.ne,
    "where": lambda self, condition, other: _C.where(condition, self, other),
}

PROPERTIES: dict[str, Any] = {
    "T": _transposed, "mT": lambda self: _C.transpose(self, -2, -1), "data": _data,
    "device": lambda self: "cpu", "is_cuda": lambda self: False,
}


def _index_error(self: Tensor):
    raise TypeError(f"only integer tensors of a single element can be converted to an index, got {self.dtype!r}")


def _as_method(fn: Any) -> Any:
    """Builtin (C++) functions are not descriptors, so wrap them to bind `self`."""
    if not isinstance(fn, type(_C.add)):
        return fn

    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = getattr(fn, "__name__", "method")
    method.__doc__ = fn.__doc__
    return method


def install() -> None:
    _C.dtype.__repr__ = lambda self: f"core.{self.name}"
    _C.dtype.__str__ = _C.dtype.__repr__
    for name, fn in METHODS.items():
        setattr(Tensor, name, _as_method(fn))
    for name, fn in PROPERTIES.items():
        setattr(Tensor, name, property(fn))
    # numpy defers to the tensor's reflected operators: np.float64(0.5) * t is a Tensor with its graph, as in
    # PyTorch, not a numpy array built from t's values
    Tensor.__array_ufunc__ = None
