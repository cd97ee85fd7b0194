"""Affine layers: Linear, and the shape plumbing Identity and Flatten."""
from __future__ import annotations

import core
from core import _C
from core.nn import functional as F
from core.nn import init
from core.nn.module import Module
from core.nn.parameter import Parameter

Tensor = _C.Tensor


class Identity(Module):
    """Returns its input unchanged (a placeholder where a layer is optional); ignores any arguments."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x @ weight.T + bias, with weight (out_features, in_features) and bias (out_features).

    Initialised as in PyTorch: weight and bias from U(-1/sqrt(in_features), 1/sqrt(in_features)).

    >>> fc = core.nn.Linear(20, 30)
    >>> fc(core.randn(128, 20)).shape
    (128, 30)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: core.dtype | None = None) -> None:
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: feature counts must be >= 0, got ({in_features}, {out_features})")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(core.empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(core.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draws weight and bias with PyTorch's defaults (kaiming_uniform_ with a=sqrt(5))."""
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return self.forward_act(input, "none")

    def forward_act(self, input: Tensor, activation: str = "none") -> Tensor:
        """act(input @ weight.T + bias) with act in none, relu, gelu, gelu_tanh. In eval mode under no_grad on
        float32, the weight is packed for the GEMM once (kept until train(), load_state_dict or a new weight
        tensor) and the bias and activation run in the GEMM's epilogue; otherwise the ops run one by one.

        >>> fc = core.nn.Linear(384, 1536).eval()
        >>> with core.no_grad():
        ...     y = fc.forward_act(core.randn(7, 384), "gelu")
        """
        packed = self._packed_weight(input)
        if packed is not None:
            return _C.linear_packed(input, packed, self.bias, activation)
        y = F.linear(input, self.weight, self.bias)
        if activation == "none":
            return y
        if activation == "relu":
            return F.relu(y)
        if activation in ("gelu", "gelu_tanh"):
            return F.gelu(y, "tanh" if activation == "gelu_tanh" else "none")
        raise ValueError(f"Linear.forward_act: activation must be none, relu, gelu or gelu_tanh, got {activation!r}")

    def _packed_weight(self, input: Tensor) -> object | None:
        """The cached PackedWeight when the fast inference path applies, else None."""
        weight, bias = self.weight, self.bias
        if self.training or _C.is_grad_enabled() or input.dtype != core.float32 or weight.dtype != core.float32 \
                or (bias is not None and bias.dtype != core.float32):
            return None
        key = (id(weight), weight.data_ptr())  # a new weight tensor or new memory re-packs
        cached = self.__dict__.get("_packed")
        if cached is None or cached[0] != key:
            cached = (key, _C.pack_linear_weight(weight))
            object.__setattr__(self, "_packed", cached)
        return cached[1]

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Flattens dims start_dim..end_dim into one (by default everything but the batch dim).

    >>> core.nn.Flatten()(core.zeros(32, 1, 5, 5)).shape
    (32, 25)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return core.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
