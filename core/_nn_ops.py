"""PyTorch signatures of the neural-network ops (torch.nn.functional names): argument parsing only, the work and
the backward of each op happen in C++ (core/csrc/ops/nn_*.cpp).

>>> import core
>>> x = core.randn(4, 10, requires_grad=True)
>>> loss = core.cross_entropy(x, core.tensor([1, 0, 9, 3]))
>>> loss.backward()
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from core import _C
from core._loss_args import check_target_shape, resolve_reduction
from core._tensor import numpy_names

Tensor = _C.Tensor

__all__ = [
    "avg_pool2d", "conv1d", "conv2d", "cross_entropy", "dropout", "embedding", "layer_norm", "log_softmax",
    "max_pool2d", "mse_loss", "one_hot", "pad", "scaled_dot_product_attention", "softmax",
]


def _ints(value: Any, name: str) -> list[int]:
    """An int or a sequence of ints as a list (the C++ side checks how many it needs)."""
    if value is None:
        return []
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return [int(value)]
    if isinstance(value, (tuple, list)) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                for v in value):
        return [int(v) for v in value]
    raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}")


def _cast(input: Tensor, dtype: Any) -> Tensor:
    if dtype is None:
        return input
    from core._tensor import _check_dtype
    return _C.to_dtype(input, _check_dtype(dtype))


def _implicit_softmax_dim(ndim: int) -> int:
    return 0 if ndim in (0, 1, 3) else 1


@numpy_names
def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim, computed stably (the row max is subtracted first).

    >>> core.softmax(core.tensor([1.0, 2.0, 3.0]), dim=0).sum().item()
    1.0
    """
    x = _cast(input, dtype)
    return _C.softmax(x, _implicit_softmax_dim(x.ndim) if dim is None else int(dim))


@numpy_names
def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along dim: log-probabilities without the round-off of log(softmax(x))."""
    x = _cast(input, dtype)
    return _C.log_softmax(x, _implicit_softmax_dim(x.ndim) if dim is None else int(dim))


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalises over the trailing `normalized_shape` dims (mean 0, variance 1), then scales by weight and adds bias.

    >>> y = core.layer_norm(core.randn(2, 5, 8), (8,))
    """
    return _C.layer_norm(input, _ints(normalized_shape, "normalized_shape"), weight, bias, float(eps))


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits (N, C) or (N, C, d1, ...) (or (C,)) and targets, fused with log_softmax.
    Targets are class indices (int64; those equal to ignore_index count neither in the loss nor in the mean) or
    class probabilities of the input's shape (float; the mean is then over N * d1 * ...).

    >>> logits = core.randn(3, 5, requires_grad=True)
    >>> core.cross_entropy(logits, core.tensor([0, 4, 1]), label_smoothing=0.1).backward()
    """
    reduction = resolve_reduction("cross_entropy", reduction, size_average, reduce)
    return _C.cross_entropy(input, target, weight, int(ignore_index), reduction, float(label_smoothing))


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Mean (or sum, or elementwise with reduction='none') of the squared differences; a target of another shape
    is broadcast with a warning, as in PyTorch.

    >>> core.mse_loss(core.zeros(2), core.tensor([1.0, 3.0])).item()
    5.0
    """
    reduction = resolve_reduction("mse_loss", reduction, size_average, reduce)
    check_target_shape("mse_loss", input, target)
    return _C.mse_loss(input, target, reduction)


def _conv_padding(padding: Any, op: str) -> tuple[list[int], bool]:
    if isinstance(padding, str):
        if padding == "valid":
            return [0], False
        if padding == "same":
            return [], True
        raise ValueError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    return _ints(padding, "padding"), False


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """2-d convolution (cross-correlation, as PyTorch) of (N, C_in, H, W) or (C_in, H, W) input with a
    (C_out, C_in / groups, kH, kW) weight.

    >>> y = core.conv2d(core.randn(1, 3, 8, 8), core.randn(4, 3, 3, 3), padding="same")
    >>> y.shape
    (1, 4, 8, 8)
    """
    pads, same = _conv_padding(padding, "conv2d")
    return _C.conv2d(input, weight, bias, _ints(stride, "stride"), pads, same, _ints(dilation, "dilation"),
                     int(groups))


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """1-d convolution of (N, C_in, L) or (C_in, L) input with a (C_out, C_in / groups, k) weight."""
    pads, same = _conv_padding(padding, "conv1d")
    return _C.conv1d(input, weight, bias, _ints(stride, "stride"), pads, same, _ints(dilation, "dilation"),
                     int(groups))


def max_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Maximum over kH x kW windows; with return_indices, also the flat index of each maximum in its H*W plane."""
    values, indices = _C.max_pool2d(input, _ints(kernel_size, "kernel_size"), _ints(stride, "stride"),
                                    _ints(padding, "padding"), _ints(dilation, "dilation"), bool(ceil_mode))
    return (values, indices) if return_indices else values


def avg_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over kH x kW windows; count_include_pad decides whether zero padding counts in the divisor."""
    return _C.avg_pool2d(input, _ints(kernel_size, "kernel_size"), _ints(stride, "stride"),
                         _ints(padding, "padding"), bool(ceil_mode), bool(count_include_pad),
                         None if divisor_override is None else int(divisor_override))


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query key^T * scale + mask) value over (..., L, E), (..., S, E), (..., S, Ev), batch dims broadcast.
    A bool attn_mask marks the keys that take part (True); a float one is added to the scores. is_causal lets
    query i see keys j <= i. Memory beyond the inputs: one L x S score matrix per (batch, head) being computed.
    enable_gqa lets key and value have fewer heads (dim -3) than query, each shared by a group of query heads.

    >>> q = k = v = core.randn(2, 4, 10, 16)
    >>> core.scaled_dot_product_attention(q, k, v, is_causal=True).shape
    (2, 4, 10, 16)
    """
    if enable_gqa:
        key, value = _repeat_kv_heads(query, key, "key"), _repeat_kv_heads(query, value, "value")
    return _C.scaled_dot_product_attention(query, key, value, attn_mask, float(dropout_p), bool(is_causal),
                                           None if scale is None else float(scale))


def _repeat_kv_heads(query: Tensor, kv: Tensor, name: str) -> Tensor:
    """(..., Hkv, S, E) -> (..., Hq, S, E): head h of the result is head h // (Hq / Hkv) of kv (grouped-query)."""
    if query.ndim < 3 or kv.ndim < 3:
        raise ValueError(f"scaled_dot_product_attention: enable_gqa needs (..., heads, L, E) inputs, got query of "
                         f"shape {query.shape} and {name} of shape {kv.shape}")
    hq, hkv = query.shape[-3], kv.shape[-3]
    if hkv == 0 or hq % hkv != 0:
        raise ValueError(f"scaled_dot_product_attention: query has {hq} heads, not a multiple of the {hkv} heads of "
                         f"{name} (shape {kv.shape})")
    if hq == hkv:
        return kv
    lead, (s, e) = list(kv.shape[:-3]), kv.shape[-2:]
    grouped = _C.expand(_C.unsqueeze(kv, -3), lead + [hkv, hq // hkv, s, e])
    return _C.reshape(grouped, lead + [hq, s, e])


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of weight (num_embeddings, dim) picked by the integer ids in input; the padding_idx row gets no gradient.

    >>> core.embedding(core.tensor([[0, 2]]), core.randn(5, 3)).shape
    (1, 2, 3)
    """
    return _C.embedding(input, weight, None if padding_idx is None else int(padding_idx))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes each element with probability p and scales the rest by 1 / (1 - p) when training; the identity
    otherwise. The mask comes from core's generator, so core.manual_seed makes it reproducible."""
    if inplace:
        raise ValueError("dropout: inplace=True is not supported; use the returned tensor")
    out = _C.dropout(input, float(p), bool(training))
    return out if training else input


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pads the last len(pad) // 2 dims: pad = (last_before, last_after, second_last_before, ...). Modes:
    'constant' (negative values crop), 'reflect', 'replicate', 'circular'.

    >>> core.pad(core.ones(2, 3), (1, 1), value=0.0).shape
    (2, 5)
    """
    if mode != "constant" and value not in (None, 0, 0.0):
        raise ValueError(f"pad: value is only used in 'constant' mode, got mode={mode!r} and value={value!r}")
    return _C.pad(input, _ints(list(pad), "pad"), mode, 0.0 if value is None else float(value))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dim of num_classes (max + 1 when -1)."""
    return _C.one_hot(tensor, int(num_classes))


@numpy_names
def _softmax_method(self: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    return softmax(self, dim, dtype=dtype)


@numpy_names
def _log_softmax_method(self: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    return log_softmax(self, dim, dtype=dtype)


Tensor.softmax = _softmax_method
Tensor.log_softmax = _log_softmax_method
