"""In-place writes that autograd records, as PyTorch records `h += y`, `h.relu_()` or `buf[0] = x`.

A write that needs autograd (grad mode on, and the target or a written value requires grad) is computed out of
place with its graph, its values are copied into the target, and the target takes the result's place in the graph
(PyTorch rebases the tensor's grad_fn the same way). Without autograd the write goes straight into the memory.

Refused, each with a RuntimeError that says what to do instead:
- a leaf that requires grad (a parameter): PyTorch refuses it too;
- a target whose memory another tensor also holds: a view of it, the tensor it is a view of, or a value a backward
  keeps. PyTorch rewrites the views' histories too (CopySlices); we do not track views, and a view whose values
  changed while its gradient did not would give wrong gradients without a word.
"""
from __future__ import annotations

from typing import Any

from core import _C

Tensor = _C.Tensor


def needs_graph(target: Tensor, *values: Any) -> bool:
    """True when writing `values` into `target` must be recorded for backward."""
    if not _C.is_grad_enabled():
        return False
    return target.requires_grad or any(isinstance(v, Tensor) and v.requires_grad for v in values)


def check_writable(target: Tensor) -> None:
    """Refuse a recorded in-place write that autograd could not get right (see the module's docstring)."""
    if target.requires_grad and target.is_leaf:
        raise RuntimeError("a leaf tensor that requires grad cannot be written in place; wrap the write in "
                           "core.no_grad(), or write into a copy (x = x.clone())")
    if target._storage_users() > 1:
        raise RuntimeError(
            "an in-place write that autograd must record needs a tensor that owns its memory alone, and this one "
            "shares it (with a view of it, the tensor it is a view of, or a value kept for a backward); use the "
            "out-of-place op (x = x + y, x = x.relu(); for part of a tensor, x[i] = x[i] + y)")


def write_recorded(target: Tensor, new: Tensor, overwrite: bool = False) -> Tensor:
    """Copy `new` (a function of the values being written, recorded by autograd) into target, which then stands
    for `new` in the graph. check_writable must have passed before `new` was computed. `overwrite`: new does not
    depend on target's old values (fill_, copy_, zero_)."""
    if new.dtype != target.dtype:
        new = _C.to_dtype(new, target.dtype)
    if tuple(new.shape) != tuple(target.shape):
        new = _C.expand(new, list(target.shape))
    if target.requires_grad and (overwrite or not new.requires_grad):
        # every old value is overwritten: target's old history stays in the graph with a zero gradient, as in
        # PyTorch (its inputs get zeros from a backward, not None)
        new = _C.where(_C.full(list(target.shape), True, _C.dtype.bool), new, target)
    elif new.is_leaf:
        new = _C.view(new, list(new.shape))  # a leaf written whole: target's history is a view of it
    prev = _C.is_grad_enabled()
    _C.set_grad_enabled(False)
    try:
        _C.copy_(target, new)
    finally:
        _C.set_grad_enabled(prev)
    target._take_history(new)
    return target
