"""core.nn.functional (imported as F): PyTorch's functional names as thin wrappers over core's ops.

>>> import core.nn.functional as F
>>> F.relu(core.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""
from __future__ import annotations

from typing import Any, Sequence

from core import _C
from core import _nn_ops as N
from core import _tensor as T
from core._loss_args import KL_DIV_REDUCTIONS, check_target_shape, resolve_reduction
from core._methods import _inplace
from core._shape_ops import gather

Tensor = _C.Tensor


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias, with weight of shape (out_features, in_features)."""
    return T.linear(input, weight, bias)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) elementwise."""
    return _apply(_C.relu, input, inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit: x * Phi(x) (approximate="none", erf) or its tanh approximation ("tanh")."""
    return T.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return _apply(_C.silu, input, inplace)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return _C.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _C.tanh(input)


def _apply(op: Any, input: Tensor, inplace: bool) -> Tensor:
    """op(input), or with inplace=True written into input as a method like `relu_` writes (core/_inplace.py)."""
    return _inplace(op)(input) if inplace else op(input)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim (computed stably). `_stacklevel` is PyTorch's (a warning's stack level),
    accepted so a third positional argument means what it means there, and unused."""
    return N.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along dim; `_stacklevel` as in softmax."""
    return N.log_softmax(input, dim, dtype=dtype)


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalises over the trailing normalized_shape dims (biased variance), then weight * y + bias."""
    return N.layer_norm(input, normalized_shape, weight, bias, eps)


def _channel_shape(input: Tensor, who: str) -> list[int]:
    """[1, C, 1, ...]: a per-channel vector broadcast over input (N, C, *)."""
    if input.ndim < 2:
        raise ValueError(f"{who}: expected input of shape (N, C, ...), got shape {tuple(input.shape)}")
    return [1, input.shape[1]] + [1] * (input.ndim - 2)


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None, shape: list[int]) -> Tensor:
    if weight is not None:
        out = out * _C.reshape(weight, shape)
    return out if bias is None else out + _C.reshape(bias, shape)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalises each channel of input (N, C, *) over the batch and the other dims, then weight * y + bias.

    Training: the batch's mean and biased variance, and running_mean / running_var (if given) move toward the
    batch's mean and unbiased variance by `momentum`, in place. Otherwise: the running statistics.
    """
    shape = _channel_shape(input, "batch_norm")
    dims = [0] + list(range(2, input.ndim))
    if training:
        count = input.numel() // input.shape[1] if input.shape[1] else 0
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                             f"{tuple(input.shape)}")
        mean = T.mean(input, dims)
        centred = input - _C.reshape(mean, shape)
        var = T.mean(centred * centred, dims)
        if running_mean is not None and running_var is not None:
            with T.no_grad():
                running_mean.mul_(1.0 - momentum).add_(_C.detach(mean) * momentum)
                running_var.mul_(1.0 - momentum).add_(_C.detach(var) * (momentum * count / (count - 1)))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed outside training")
        mean, var = running_mean, running_var
        centred = input - _C.reshape(mean, shape)
    return _affine(centred * _C.rsqrt(_C.reshape(var, shape) + eps), weight, bias, shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalises each sample's channels in num_groups groups (biased variance over a group's channels and the
    other dims), then a per-channel weight * y + bias."""
    shape = _channel_shape(input, "group_norm")
    channels = input.shape[1]
    if not isinstance(num_groups, int) or num_groups < 1 or channels % num_groups:
        raise ValueError(f"group_norm: {channels} channels cannot be split into {num_groups!r} groups")
    grouped = _C.reshape(input, [input.shape[0], num_groups, -1])
    mean = T.mean(grouped, [-1], keepdim=True)
    centred = grouped - mean
    var = T.mean(centred * centred, [-1], keepdim=True)
    out = _C.reshape(centred * _C.rsqrt(var + eps), list(input.shape))
    return _affine(out, weight, bias, shape)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input divided by its p-norm along dim, the norm held at least eps (so zero vectors stay zero).

    >>> F.normalize(core.tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    return _C.div(input, T.clamp(T.vector_norm(input, p, dim, keepdim=True), eps))


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of weight picked by the integer ids in input; the padding_idx row gets no gradient."""
    return N.embedding(input, weight, padding_idx)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes each element with probability p and scales the others by 1 / (1 - p); identity unless training."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return input
    return _apply(lambda x: N.dropout(x, p, True), input, inplace)


mse_loss = N.mse_loss
cross_entropy = N.cross_entropy


def _reduced(losses: Tensor, reduction: str) -> Tensor:
    """Elementwise losses averaged, summed, or as they are (reduction "mean", "sum", "none", already checked)."""
    if reduction == "mean":
        return T.mean(losses)
    if reduction == "sum":
        return T.sum(losses)
    return losses


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean") -> Tensor:
    """Mean (reduction="mean"), sum ("sum") or elementwise ("none") absolute difference; its gradient at a zero
    difference is 0. A target of another shape is broadcast with a warning, as in PyTorch; size_average and reduce
    are PyTorch's deprecated spellings of reduction.

    >>> F.l1_loss(core.tensor([1.0, -2.0]), core.zeros(2)).item()
    1.5
    """
    reduction = resolve_reduction("l1_loss", reduction, size_average, reduce)
    check_target_shape("l1_loss", input, target)
    return _reduced(_C.abs(input - target), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target); beta=0 is l1_loss."""
    reduction = resolve_reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be 0 or more, got {beta}")
    check_target_shape("smooth_l1_loss", input, target)
    d = input - target
    if beta == 0:
        return _reduced(_C.abs(d), reduction)
    ad = _C.abs(d)
    return _reduced(_C.where(_C.lt(ad, beta), d * d * (0.5 / beta), ad - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere (d = input - target): smooth_l1_loss times
    delta, with beta = delta.

    >>> F.huber_loss(core.tensor([0.5, 3.0]), core.zeros(2), reduction="none").tolist()
    [0.125, 2.5]
    """
    reduction = resolve_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    check_target_shape("huber_loss", input, target)
    d = input - target
    ad = _C.abs(d)
    return _reduced(_C.where(_C.lt(ad, delta), d * d * 0.5, (ad - 0.5 * delta) * delta), reduction)


def _log_held(x: Tensor) -> Tensor:
    """log(x) held at -100 or more, as PyTorch's binary_cross_entropy holds it, so a probability of 0 or 1 gives
    a finite loss; where held the gradient is 0 (log reads 1 there, never 0, so no NaN comes back from it)."""
    positive = _C.gt(x, 0)
    return T.clamp(_C.where(positive, _C.log(_C.where(positive, x, 1.0)), -100.0), -100.0)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """-weight (t log p + (1 - t) log(1 - p)) for probabilities p = input in [0, 1] and targets t of the same
    shape, the logs held at -100 or more as PyTorch's. For logits use binary_cross_entropy_with_logits, which is
    stable where sigmoid saturates.

    >>> F.binary_cross_entropy(core.tensor([0.5]), core.tensor([1.0])).item()  # ln 2
    0.6931471824645996
    """
    reduction = resolve_reduction("binary_cross_entropy", reduction, size_average, reduce)
    check_target_shape("binary_cross_entropy", input, target, broadcast=False)
    # written so that NaN fails too: a diverged model must not get a finite loss (the logs are held at -100)
    if input.numel() and not bool(T.all(_C.logical_and(_C.ge(input, 0), _C.le(input, 1)))):
        seen = "NaN" if bool(T.any(T.isnan(input))) else f"{T.amin(input).item()} to {T.amax(input).item()}"
        raise ValueError(f"binary_cross_entropy: input values must be probabilities between 0 and 1, got {seen}; "
                         "for logits use binary_cross_entropy_with_logits")
    losses = -(target * _log_held(input) + (1 - target) * _log_held(1 - input))
    return _reduced(losses if weight is None else losses * weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """binary_cross_entropy(sigmoid(input), target) computed stably from the logits: (1 - t) x + (1 + (pw - 1) t)
    softplus(-x), with softplus(-x) = log1p(exp(-|x|)) - min(x, 0). pos_weight (broadcast over the last, class
    dim) weighs the positive term, weight each element.

    >>> pos_weight = core.tensor([2.0, 3.0, 4.0])
    >>> F.binary_cross_entropy_with_logits(core.zeros(3), core.tensor([1.0, 0.0, 0.5]), pos_weight=pos_weight).item()
    1.2707698345184326
    """
    reduction = resolve_reduction("binary_cross_entropy_with_logits", reduction, size_average, reduce)
    check_target_shape("binary_cross_entropy_with_logits", input, target, broadcast=False)
    # min(x, 0)'s gradient at x = 0 is 1/2 (ties split, as PyTorch's), which makes softplus'(0) exact
    softplus_neg = _C.log1p(_C.exp(-_C.abs(input))) - _C.minimum(input, 0.0)
    scale = softplus_neg if pos_weight is None else (1 + (pos_weight - 1) * target) * softplus_neg
    losses = (1 - target) * input + scale
    return _reduced(losses if weight is None else losses * weight, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """-weight[t] * input[n, t] for log-probabilities input (N, C), (N, C, d1, ...) or (C,) and class indices
    target (N), (N, d1, ...) or (); targets equal to ignore_index count neither in the loss nor in the mean, which
    divides by the summed weights of the others (NaN when every target is ignored, as PyTorch).

    >>> logp = F.log_softmax(core.randn(3, 5), dim=1)
    >>> F.nll_loss(logp, core.tensor([0, 4, 1]))
    """
    reduction = resolve_reduction("nll_loss", reduction, size_average, reduce)
    if input.ndim == 0:
        raise ValueError("nll_loss: input must have a class dimension, got a 0-d tensor")
    if target.dtype not in (T.int64, T.int32):
        raise TypeError(f"nll_loss: target must hold class indices (int64), got {target.dtype!r}")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = _C.unsqueeze(input, 0), _C.unsqueeze(target, 0)
    classes = input.shape[1]
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        given = tuple(target.shape)[1:] if unbatched else tuple(target.shape)
        wanted = () if unbatched else expected
        raise ValueError(f"nll_loss: target of shape {given} does not fit input of shape "
                         f"{tuple(input.shape)[1:] if unbatched else tuple(input.shape)}; expected {wanted}")
    if weight is not None and tuple(weight.shape) != (classes,):
        raise ValueError(f"nll_loss: weight must have one entry per class, shape ({classes},), got "
                         f"{tuple(weight.shape)}")
    kept = _C.ne(target, ignore_index)
    index = _C.where(kept, target, 0)
    if index.numel():
        low, high = T.amin(index).item(), T.amax(index).item()
        if low < 0 or high >= classes:
            raise IndexError(f"nll_loss: target {low if low < 0 else high} is out of bounds for {classes} classes "
                             f"(ignore_index is {ignore_index})")
    picked = _C.squeeze(gather(input, 1, _C.unsqueeze(index, 1)), 1)
    w = _C.to_dtype(kept, input.dtype)
    if weight is not None:
        w = w * _C.reshape(T.index_select(weight, 0, _C.reshape(index, [-1])), list(index.shape))
    losses = -picked * w
    if reduction == "mean":
        return T.sum(losses) / T.sum(w)
    if reduction == "none" and unbatched:
        return _C.squeeze(losses, 0)
    return _reduced(losses, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise KL divergence t (log t - x) of log-probabilities input x from target t (t log t read as 0 where
    t = 0), or exp(t) (t - x) with log_target=True. reduction="batchmean" divides the sum by the batch size (the
    true KL divergence per sample); "mean" averages over every element, as PyTorch's.

    >>> F.kl_div(F.log_softmax(core.randn(4, 3), dim=1), core.full((4, 3), 1 / 3), reduction="batchmean")
    """
    reduction = resolve_reduction("kl_div", reduction, size_average, reduce, valid=KL_DIV_REDUCTIONS)
    check_target_shape("kl_div", input, target)
    if log_target:
        losses = _C.exp(target) * (target - input)
    else:
        positive = _C.gt(target, 0)
        t_log_t = _C.where(positive, target * _C.log(_C.where(positive, target, 1.0)), 0.0)
        losses = t_log_t - target * input
    if reduction == "batchmean":
        return T.sum(losses) / (input.shape[0] if input.ndim else 1)
    return _reduced(losses, reduction)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q @ k.T * scale + mask) @ v over (..., L, E) inputs; a bool attn_mask marks allowed pairs with True;
    enable_gqa lets key and value have fewer heads than query (see core.scaled_dot_product_attention)."""
    return N.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p,
                                          is_causal=is_causal, scale=scale, enable_gqa=enable_gqa)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pads the last dims: pad = (left, right) for the last dim, then (top, bottom) for the one before, ..."""
    return N.pad(input, pad, mode=mode, value=value)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding of class indices, with a new last dim of num_classes (max + 1 when -1)."""
    return N.one_hot(tensor, num_classes)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """1-d convolution of (N, C_in, L) with a (C_out, C_in / groups, k) weight."""
    return N.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """2-d convolution of (N, C_in, H, W) with a (C_out, C_in / groups, kH, kW) weight."""
    return N.conv2d(input, weight, bias, stride, padding, dilation, groups)


def max_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Maximum over kernel windows (stride defaults to kernel_size)."""
    return N.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over kernel windows (stride defaults to kernel_size); divisor_override replaces the window size."""
    return N.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
