"""core.nn.functional (imported as F): PyTorch's functional names as thin wrappers over core's ops.

>>> import core.nn.functional as F
>>> F.relu(core.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""
from __future__ import annotations

from core import _C
from core import _tensor as T

Tensor = _C.Tensor


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias, with weight of shape (out_features, in_features)."""
    return T.linear(input, weight, bias)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) elementwise."""
    return _inplace_result(input, _C.relu(input), inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit: x * Phi(x) (approximate="none", erf) or its tanh approximation ("tanh")."""
    return T.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return _inplace_result(input, _C.silu(input), inplace)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return _C.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _C.tanh(input)


def _inplace_result(input: Tensor, result: Tensor, inplace: bool) -> Tensor:
    if not inplace:
        return result
    input.copy_(result)
    return input
