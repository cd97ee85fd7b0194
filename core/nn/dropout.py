"""Dropout: zeroes each element with probability p during training, scaling the rest by 1 / (1 - p)."""
from __future__ import annotations

from core import _C
from core.nn import functional as F
from core.nn.module import Module

Tensor = _C.Tensor


class Dropout(Module):
    """Active in training mode only; in eval mode it returns its input. Draws come from core's generator.

    >>> drop = core.nn.Dropout(0.1).eval()
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability must be between 0 and 1, got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
