"""Weight initialisation in place, with PyTorch's names and formulas, drawing from core's global generator.

Every function fills its tensor under no_grad and returns it. Random draws come from `core.rand`/`core.randn`,
so `core.manual_seed(s)` makes an initialisation reproducible bit for bit (see docs/nn.md).

>>> w = core.empty(64, 32)
>>> core.nn.init.kaiming_uniform_(w, a=math.sqrt(5))  # what Linear does by default
"""
from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator

import core
from core import _C

Tensor = _C.Tensor

_SKIPPING = contextvars.ContextVar("core.nn.init.no_init", default=False)


@contextlib.contextmanager
def no_init() -> Iterator[None]:
    """Inside, every init function returns its tensor untouched: a module built here keeps the uninitialised
    memory of `core.empty`, which costs neither time nor resident memory until written. For a module whose
    parameters a checkpoint replaces right after (`load_state_dict(..., strict=True, assign=True)`); the
    generator draws nothing, so later draws differ from a run that initialised.

    >>> with core.nn.init.no_init():
    ...     model = Whisper(config)
    >>> model.load_state_dict(core.io.load("model.safetensors"), assign=True)
    """
    token = _SKIPPING.set(True)
    try:
        yield
    finally:
        _SKIPPING.reset(token)

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table): relu sqrt(2), tanh 5/3, selu 3/4, ...

    >>> calculate_gain("leaky_relu", 0.2)
    1.3867504905630728
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field (weights are (out, in, *k))."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, got shape {tensor.shape}")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _draw_dtype(tensor: Tensor) -> core.dtype:
    # Half-precision tensors are drawn in float32 and rounded on copy, as their arithmetic runs in float32.
    return core.float64 if tensor.dtype == core.float64 else core.float32


def _fill(tensor: Tensor, values: Tensor) -> Tensor:
    with core.no_grad():
        tensor.copy_(values)
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fills with draws from U(a, b)."""
    if b < a:
        raise ValueError(f"uniform_: need a <= b, got a={a}, b={b}")
    if _SKIPPING.get():
        return tensor
    with core.no_grad():
        return _fill(tensor, core.rand(tensor.shape, dtype=_draw_dtype(tensor)) * (b - a) + a)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fills with draws from N(mean, std^2)."""
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    if _SKIPPING.get():
        return tensor
    with core.no_grad():
        return _fill(tensor, core.randn(tensor.shape, dtype=_draw_dtype(tensor)) * std + mean)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """Fills with draws from N(mean, std^2) conditioned on [a, b] (a and b are absolute bounds, as in PyTorch).

    Values outside the bounds are redrawn (rejection sampling) until every entry lies inside, which gives
    the exact truncated distribution; the number of rounds depends only on the generator's state.
    """
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"trunc_normal_: std must be > 0, got {std}")
    lo, hi = (a - mean) / std, (b - mean) / std
    if hi < -6 or lo > 6:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] lies more than 6 std from the mean {mean}; "
                         "rejection sampling would not finish")
    if _SKIPPING.get():
        return tensor
    dt = _draw_dtype(tensor)
    with core.no_grad():
        z = core.randn(tensor.shape, dtype=dt)
        outside = core.logical_or(z < lo, z > hi)
        while bool(outside.any()):
            z = core.where(outside, core.randn(tensor.shape, dtype=dt), z)
            outside = core.logical_or(z < lo, z > hi)
        return _fill(tensor, (z * std + mean).clamp(a, b))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fills with the value val."""
    if _SKIPPING.get():
        return tensor
    with core.no_grad():
        tensor.fill_(val)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fills with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fills with 1."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-bound, bound) with bound = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan) and gain = calculate_gain(nonlinearity, a).

    Linear and Conv layers use a=sqrt(5), which makes bound = 1 / sqrt(fan_in).
    """
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    fan = _fan(tensor, mode)
    if fan == 0:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def default_layer_init_(weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch's default for Linear and Conv layers: weight kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) with fan_in taken from the weight (0 fan-in gives a zero bound)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)
