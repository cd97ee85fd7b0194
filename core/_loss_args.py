"""The arguments PyTorch's losses share, checked as PyTorch checks them: `reduction` (or the deprecated
size_average / reduce it replaced), and whether the target's shape fits the input's."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

REDUCTIONS = ("mean", "sum", "none")
KL_DIV_REDUCTIONS = REDUCTIONS + ("batchmean",)  # kl_div's own: the sum divided by the batch size


def resolve_reduction(who: str, reduction: str, size_average: Any = None, reduce: Any = None,
                      valid: tuple[str, ...] = REDUCTIONS) -> str:
    """The reduction a loss applies: `reduction`, which must be one of `valid`; or, when the deprecated
    size_average or reduce is given, PyTorch's legacy rule with a warning (`reduction` is then ignored, as there):
    reduce=False gives "none", else size_average=False "sum", else "mean".

    >>> resolve_reduction("mse_loss", "mean", size_average=False)  # warns: pass reduction='sum'
    'sum'
    """
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        legacy = ("mean" if size_average else "sum") if reduce else "none"
        warnings.warn(f"{who}: size_average and reduce are deprecated; pass reduction={legacy!r} instead",
                      UserWarning, stacklevel=3)
        return legacy
    if not isinstance(reduction, str) or reduction not in valid:
        choices = ", ".join(map(repr, valid[:-1])) + f" or {valid[-1]!r}"
        raise ValueError(f"{who}: reduction must be one of {choices}, got {reduction!r}")
    return reduction


def check_target_shape(who: str, input: Any, target: Any, broadcast: bool = True) -> None:
    """A target of the input's shape passes. With broadcast=True (the pointwise regression losses) one that
    broadcasts against it passes with a warning, as in PyTorch, since it is nearly always a mistake (an (N, 1)
    prediction against an (N,) target gives N * N losses); otherwise, or if the shapes do not broadcast, ValueError.
    """
    a, b = tuple(input.shape), tuple(target.shape)
    if a == b:
        return
    if not broadcast:
        raise ValueError(f"{who}: target shape {b} must be the same as input shape {a}")
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        raise ValueError(f"{who}: input shape {a} and target shape {b} do not broadcast; give the target the "
                         "input's shape") from None
    warnings.warn(f"{who}: target shape {b} differs from input shape {a}; broadcasting them will likely give "
                  "incorrect results, so please give them the same shape", UserWarning, stacklevel=3)
