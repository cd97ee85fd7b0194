"""LayerNorm, BatchNorm1d/2d and GroupNorm: normalisation with a learnable per-feature scale and shift."""
from __future__ import annotations

from typing import Sequence

import core
from core import _C
from core.nn import functional as F
from core.nn import init
from core.nn.module import Module
from core.nn.parameter import Parameter

Tensor = _C.Tensor


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims (biased var).

    >>> ln = core.nn.LayerNorm(384)
    >>> ln(core.randn(2, 7, 384)).shape
    (2, 7, 384)
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype: core.dtype | None = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(core.empty(shape, dtype=dtype))
            if bias:
                self.bias = Parameter(core.empty(shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight = 1, bias = 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


def _affine_parameters(module: Module, affine: bool, features: int, dtype: core.dtype | None) -> None:
    """weight = 1 and bias = 0 of `features` values, or both declared absent."""
    if affine:
        module.weight = Parameter(core.ones(features, dtype=dtype))
        module.bias = Parameter(core.zeros(features, dtype=dtype))
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


class _BatchNorm(Module):
    """Batch normalisation over (N, C, *): batch statistics in training, running ones in eval (PyTorch's buffers
    running_mean, running_var and num_batches_tracked, so its state dicts load unchanged)."""

    _dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: core.dtype | None = None) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, affine, num_features, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", core.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", core.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", core.tensor(0))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            with core.no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._dims:
            dims = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{type(self).__name__}: expected {dims} input, got shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels (dim 1), got shape "
                             f"{tuple(input.shape)}")
        momentum = self.momentum or 0.0
        if self.training and self.track_running_stats:
            with core.no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average over the batches seen
                momentum = 1.0 / self.num_batches_tracked.item()
        batch_stats = self.training or not self.track_running_stats
        keep = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if keep else None, self.running_var if keep else None,
                            self.weight, self.bias, batch_stats, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L).

    >>> core.nn.BatchNorm1d(3)(core.randn(8, 3)).shape
    (8, 3)
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W).

    >>> core.nn.BatchNorm2d(3)(core.randn(2, 3, 4, 4)).shape
    (2, 3, 4, 4)
    """

    _dims = (4,)


class GroupNorm(Module):
    """Normalises each sample's channels in num_groups groups, then a per-channel scale and shift.

    >>> core.nn.GroupNorm(2, 4)(core.randn(3, 4, 5)).shape
    (3, 4, 5)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype: core.dtype | None = None) -> None:
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _affine_parameters(self, affine, num_channels, dtype)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input (N, {self.num_channels}, ...), got shape "
                             f"{tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
