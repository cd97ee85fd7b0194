"""Losses as modules (their settings kept, `forward(input, target)`), over core.nn.functional."""
from __future__ import annotations

from core import _C
from core.nn import functional as F
from core.nn.module import Module

Tensor = _C.Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction: str, who: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{who}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


class MSELoss(Module):
    """Squared error, averaged (reduction="mean"), summed ("sum") or per element ("none").

    >>> core.nn.MSELoss(reduction="sum")(core.zeros(2), core.ones(2)).item()
    2.0
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _reduction(reduction, "MSELoss")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(Module):
    """Cross entropy of logits (N, C, ...) against class indices; `weight` (per class) is kept as a buffer.

    >>> core.nn.CrossEntropyLoss(label_smoothing=0.1)(core.zeros(2, 3), core.tensor([0, 1])).item()  # ln 3
    1.0986123085021973
    """

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = _reduction(reduction, "CrossEntropyLoss")
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        extra = [f"ignore_index={self.ignore_index}"] if self.ignore_index != -100 else []
        extra += [f"reduction={self.reduction!r}"] if self.reduction != "mean" else []
        extra += [f"label_smoothing={self.label_smoothing}"] if self.label_smoothing else []
        return ", ".join(extra)
