"""Tensors in and out of safetensors files: every core dtype, memory-mapped loads, atomic writes, state dicts.

>>> core.io.save_file({"w": core.randn(3, 4)}, "w.safetensors", metadata={"format": "pt"})
>>> core.io.load_file("w.safetensors")["w"].shape
(3, 4)
>>> core.io.save(model, "model.safetensors"); model.load_state_dict(core.io.load("model.safetensors"))
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Mapping

import numpy as np

import core
from core import _C
from core.io.safetensors import SafetensorsError, SafetensorsFile, save_arrays

Tensor = _C.Tensor

# core dtype -> safetensors tag; bfloat16 has no numpy dtype and travels as raw 16-bit patterns.
TAG_OF_DTYPE = {
    core.float64: "F64", core.float32: "F32", core.float16: "F16", core.bfloat16: "BF16",
    core.int64: "I64", core.int32: "I32", core.bool: "BOOL",
}
DTYPE_OF_TAG = {tag: dt for dt, tag in TAG_OF_DTYPE.items()}


def _array_of(name: str, t: Tensor) -> tuple[str, np.ndarray]:
    if not isinstance(t, Tensor):
        raise TypeError(f"save_file: value of {name!r} is a {type(t).__name__}, expected a core Tensor")
    tag = TAG_OF_DTYPE[t.dtype]
    if t.dtype == core.bfloat16:
        return tag, _C._half_bits(t)
    return tag, _C.detach(t).contiguous().numpy()


def save_file(tensors: Mapping[str, Tensor], path: str | os.PathLike,
              metadata: Mapping[str, str] | None = None) -> None:
    """Writes tensors to a safetensors file atomically (temp file in the same folder, fsync, rename).

    Any core dtype (float32/64, float16, bfloat16, int64, int32, bool); metadata is a str -> str mapping
    stored in the header's "__metadata__". Non-contiguous tensors are written in row-major order.
    """
    if not isinstance(tensors, Mapping):
        raise TypeError(f"save_file: expected a mapping of names to tensors, got {type(tensors).__name__}")
    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"save_file: tensor names must be strings, got {name!r}")
        arrays[name] = _array_of(name, t)
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("save_file: metadata must map strings to strings")
    _check_no_shared_storage(tensors)
    save_arrays(arrays, path, metadata)


def _check_no_shared_storage(tensors: Mapping[str, Tensor]) -> None:
    # Two names for one memory (tied weights) would load back as two independent copies; say so instead.
    seen: dict[tuple[int, int, tuple, tuple], str] = {}
    for name, t in tensors.items():
        if t.numel() == 0:
            continue
        key = (t.data_ptr(), t.numel(), tuple(t.shape), tuple(t.stride()))
        if key in seen:
            raise ValueError(f"save_file: {seen[key]!r} and {name!r} are the same tensor (tied weights); "
                             "save one name and tie them again after loading")
        seen[key] = name


def load_file(path: str | os.PathLike, mmap: bool = True) -> dict[str, Tensor]:
    """Reads every tensor of a safetensors file, in file order.

    With mmap=True (default) the tensors share one copy-on-write memory map of the file: nothing is read
    until used, and an in-place write changes only this process's copy, never the file. mmap=False copies
    into ordinary memory. A truncated or malformed file raises SafetensorsError naming the file and the byte
    offset; dtypes core lacks (I8, I16, U8) raise TypeError.
    """
    f = SafetensorsFile(path, copy_on_write=True)
    out: dict[str, Tensor] = {}
    for name in f.names():
        tag = f.dtype(name)
        if tag not in DTYPE_OF_TAG:
            raise TypeError(f"{f.path}: tensor {name!r} has dtype {tag}, which core does not support "
                            f"(supported: {', '.join(DTYPE_OF_TAG)})")
        arr = f.array(name)
        if not mmap:
            arr = np.array(arr, copy=True)
        dt = DTYPE_OF_TAG[tag]
        if dt == core.bfloat16:
            out[name] = _C._from_half_bits(arr, dt)
        else:
            out[name] = _C.from_numpy(arr)
    return out


def load_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The "__metadata__" of a safetensors file (validated, without mapping the data)."""
    return SafetensorsFile(path).metadata


def save(obj: Any, path: str | os.PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Saves a Module's state_dict (or a state dict itself) as safetensors, atomically.

    >>> core.io.save(model, "model.safetensors")
    """
    from core.nn.module import Module

    state = obj.state_dict() if isinstance(obj, Module) else obj
    if not isinstance(state, Mapping):
        raise TypeError(f"save: expected a Module or a state dict, got {type(obj).__name__}")
    save_file(state, path, metadata)


def load(path: str | os.PathLike, mmap: bool = True) -> OrderedDict[str, Tensor]:
    """A state dict from a safetensors file, ready for `module.load_state_dict` (memory-mapped by default)."""
    return OrderedDict(load_file(path, mmap=mmap))


__all__ = ["SafetensorsError", "load", "load_file", "load_metadata", "save", "save_file"]
