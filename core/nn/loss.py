"""Losses as modules (their settings kept, `forward(input, target)`), over core.nn.functional. As PyTorch's, they
take the deprecated size_average and reduce (mapped to `reduction` once, with a warning) where PyTorch does."""
from __future__ import annotations

from core import _C
from core._loss_args import KL_DIV_REDUCTIONS, resolve_reduction
from core.nn import functional as F
from core.nn.module import Module

Tensor = _C.Tensor


class MSELoss(Module):
    """Squared error, averaged (reduction="mean"), summed ("sum") or per element ("none").

    >>> core.nn.MSELoss(reduction="sum")(core.zeros(2), core.ones(2)).item()
    2.0
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = resolve_reduction("MSELoss", reduction, size_average, reduce)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(Module):
    """Cross entropy of logits (N, C, ...) against class indices; `weight` (per class) is kept as a buffer.

    >>> core.nn.CrossEntropyLoss(label_smoothing=0.1)(core.zeros(2, 3), core.tensor([0, 1])).item()  # ln 3
    1.0986123085021973
    """

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None, ignore_index: int = -100,
                 reduce: bool | None = None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = resolve_reduction("CrossEntropyLoss", reduction, size_average, reduce)
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        extra = [f"ignore_index={self.ignore_index}"] if self.ignore_index != -100 else []
        extra += [f"reduction={self.reduction!r}"] if self.reduction != "mean" else []
        extra += [f"label_smoothing={self.label_smoothing}"] if self.label_smoothing else []
        return ", ".join(extra)


class L1Loss(Module):
    """Absolute error, averaged (reduction="mean"), summed ("sum") or per element ("none").

    >>> core.nn.L1Loss()(core.tensor([1.0, -2.0]), core.zeros(2)).item()
    1.5
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = resolve_reduction("L1Loss", reduction, size_average, reduce)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class SmoothL1Loss(Module):
    """0.5 d^2 / beta below |d| = beta, |d| - 0.5 beta above (F.smooth_l1_loss)."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__()
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be 0 or more, got {beta}")
        self.reduction = resolve_reduction("SmoothL1Loss", reduction, size_average, reduce)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, beta={self.beta}"


class HuberLoss(Module):
    """0.5 d^2 below |d| = delta, delta (|d| - 0.5 delta) above (F.huber_loss).

    >>> core.nn.HuberLoss(delta=2.0)(core.tensor([3.0]), core.zeros(1)).item()
    4.0
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__()
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.reduction = resolve_reduction("HuberLoss", reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, delta={self.delta}"


class BCELoss(Module):
    """Binary cross entropy of probabilities in [0, 1] (F.binary_cross_entropy); `weight` (broadcast over the
    input) is kept as a buffer. Prefer BCEWithLogitsLoss on logits."""

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.reduction = resolve_reduction("BCELoss", reduction, size_average, reduce)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(Module):
    """Binary cross entropy of logits, computed stably (F.binary_cross_entropy_with_logits); `weight` and
    `pos_weight` (per class, broadcast over the last dim) are kept as buffers.

    >>> loss = core.nn.BCEWithLogitsLoss(pos_weight=core.tensor([3.0, 1.0]))
    >>> loss(core.zeros(4, 2), core.ones(4, 2)).item()  # (3 + 1) / 2 * ln 2
    1.3862943649291992
    """

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", pos_weight: Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)
        self.reduction = resolve_reduction("BCEWithLogitsLoss", reduction, size_average, reduce)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class NLLLoss(Module):
    """Negative log likelihood of log-probabilities (N, C, ...) against class indices (F.nll_loss), with
    ignore_index; `weight` (per class) is kept as a buffer. log_softmax then NLLLoss is CrossEntropyLoss."""

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None, ignore_index: int = -100,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = resolve_reduction("NLLLoss", reduction, size_average, reduce)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)

    def extra_repr(self) -> str:
        extra = [f"ignore_index={self.ignore_index}"] if self.ignore_index != -100 else []
        return ", ".join(extra + [f"reduction={self.reduction!r}"])


class KLDivLoss(Module):
    """KL divergence of log-probabilities from a target distribution (F.kl_div); reduction="batchmean" gives the
    divergence per sample, "mean" (the default, as PyTorch's) the mean over every element."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__()
        self.reduction = resolve_reduction("KLDivLoss", reduction, size_average, reduce, valid=KL_DIV_REDUCTIONS)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"
