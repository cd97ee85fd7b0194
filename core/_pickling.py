"""Pickling and copying of tensors (pickle, copy.copy, copy.deepcopy), with PyTorch's semantics.

A pickled tensor carries its values (contiguous), dtype, `requires_grad` and Python attributes, never its graph:
it loads as a new leaf. This is for the user's own objects; weights are loaded from safetensors files and
never unpickled.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from core import _C

Tensor = _C.Tensor

_HALF_BITS = (_C.dtype.bfloat16,)  # no numpy dtype: pickled as raw uint16 bits


def _values(t: Tensor) -> np.ndarray:
    """t's values as a contiguous numpy array (bfloat16 as its raw bits)."""
    t = _C.detach(t)
    if t.dtype in _HALF_BITS:
        return _C._half_bits(t)
    return _C.contiguous(t).numpy()


def _as_class(cls: type, t: Tensor, requires_grad: bool) -> Tensor:
    """A `cls` instance (Tensor or a subclass such as Parameter) holding t, without running cls.__init__."""
    out = t if cls is Tensor else cls.__new__(cls)
    if out is not t:
        Tensor.__init__(out, t)
    out.requires_grad = requires_grad
    return out


def _rebuild_tensor(cls: type, values: np.ndarray, dtype_name: str, requires_grad: bool,
                    state: dict | None) -> Tensor:
    """The unpickling side of `_reduce_ex`."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"unpickling a tensor: {cls!r} is not a core.Tensor class")
    dtype = getattr(_C.dtype, dtype_name)
    arr = np.asarray(values, order="C")  # a 0-d array too (ascontiguousarray makes it 1-d)
    t = _C._from_half_bits(arr, dtype) if dtype in _HALF_BITS else _C.from_numpy(arr)
    out = _as_class(cls, _C.clone(t), requires_grad)
    if state:
        out.__dict__.update(state)
    return out


def _reduce_ex(self: Tensor, protocol: int) -> tuple:
    state = dict(self.__dict__) or None
    return _rebuild_tensor, (type(self), _values(self), self.dtype.name, self.requires_grad, state)


def _copy(self: Tensor) -> Tensor:
    """copy.copy: a new tensor object sharing self's memory, as PyTorch's (a leaf keeping requires_grad)."""
    out = _as_class(type(self), _C.detach(self), self.requires_grad)
    out.__dict__.update(self.__dict__)
    return out


def _deepcopy(self: Tensor, memo: dict) -> Tensor:
    """copy.deepcopy, as PyTorch's: the storage is copied once per deepcopy and the copy is a view of that copy with
    self's shape, strides and offset, so views that shared memory (tied weights, a tensor and its slices) still
    share it; requires_grad, .grad and Python attributes are copied."""
    if not self.is_leaf:
        raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol "
                           f"at the moment; this one comes from '{self.grad_fn}'. Deepcopy t.detach() (and set "
                           "requires_grad on the copy) to copy its values.")
    source = _C.detach(self)
    key = ("core.storage", source._storage_key(), self.dtype.name)
    storage = memo.get(key)
    if storage is None:
        storage = _C.clone(_C.as_strided(source, [source._storage_numel()], [1], 0))
        memo[key] = storage
        memo.setdefault(id(memo), []).append(source)  # keeps the storage alive, so its key is not reused meanwhile
    values = _C.as_strided(storage, list(self.shape), list(self.stride()), self.storage_offset())
    out = _as_class(type(self), values, self.requires_grad)
    memo[id(self)] = out
    if self.grad is not None:
        out.grad = copy.deepcopy(self.grad, memo)
    for key, value in self.__dict__.items():
        setattr(out, key, copy.deepcopy(value, memo))
    return out


METHODS: dict[str, Any] = {"__reduce_ex__": _reduce_ex, "__copy__": _copy, "__deepcopy__": _deepcopy}


def install() -> None:
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
