"""core.nn.utils: gradient clipping over a model's parameters, as torch.nn.utils.

>>> net = core.nn.Linear(3, 2)
>>> net(core.randn(4, 3)).sum().backward()
>>> total = core.nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)   # the norm before clipping
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import core
from core._C import Tensor


def _grads(parameters: Tensor | Iterable[Tensor], who: str) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: parameters must be tensors, got {type(p).__name__}")
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale the gradients of parameters (a tensor or an iterable of them) in place so that their norm, taken over
    all of them together as if concatenated into one vector, is at most max_norm; returns that norm before the
    scaling (0-d, in the gradients' dtype, promoted as torch.stack does if they differ; 0 when no parameter has a
    gradient). norm_type is any p of vector_norm, inf included. The scale is max_norm / (norm + 1e-6), capped at 1, as
    PyTorch computes it. As there, a NaN norm makes every gradient NaN and an infinite one makes them 0 (NaN
    where a gradient was infinite); with error_if_nonfinite either raises RuntimeError and scales nothing.
    `foreach` is accepted for PyTorch's signature and changes nothing here.
    """
    grads = _grads(parameters, "clip_grad_norm_")
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return core.tensor(0.0)
    with core.no_grad():
        norms = [core.linalg.vector_norm(g.detach(), norm_type) for g in grads]
        norms = core.stack(norms)  # in the promoted dtype of them all, as torch.stack
        total = core.linalg.vector_norm(norms, norm_type)
        if error_if_nonfinite and not math.isfinite(total.item()):
            raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                               f"{total.item()}, so they cannot be clipped; pass error_if_nonfinite=False to scale "
                               f"them by it anyway")
        scale = core.clamp(max_norm / (total + 1e-6), max=1.0)
        for g in grads:
            g *= scale.to(g.dtype)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient of parameters in place to [-clip_value, clip_value], as torch.nn.utils."""
    clip_value = float(clip_value)
    with core.no_grad():
        for g in _grads(parameters, "clip_grad_value_"):
            g.clamp_(-clip_value, clip_value)
