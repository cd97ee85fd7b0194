"""Affine layers: Linear, and the shape plumbing Identity and Flatten."""
from __future__ import annotations

from typing import Any

import core
from core import _C
from core.io.file_pages import release_file_pages
from core.nn import functional as F
from core.nn import init
from core.nn.module import Module, has_forward_hooks
from core.nn.parameter import Parameter

Tensor = _C.Tensor

PACK_BLOCK_BYTES = 16 << 20  # weights above this are packed in blocks of output rows (see packed_weight)
HALF_MAX_ROWS = 64  # a weight first used on at most this many rows is kept in float16 if that is exact


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
        return self._linear_act(input, "none", None)

    def forward_act(self, input: Tensor, activation: str = "none", residual: Tensor | None = None) -> Tensor:
        """act(input @ weight.T + bias) + residual with act in none, relu, gelu, gelu_tanh and residual None or a
        tensor of the output's shape (a transformer's skip connection). In eval mode under no_grad on float32,
        the weight is packed for the GEMM once (kept until train(), load_state_dict, a new weight tensor or an
        in-place write to it) and the bias, activation and residual run in the GEMM's epilogue; otherwise the ops
        run one by one. A module with forward hooks or pre-hooks is called as `self(input)` first, so its hooks see
        (and may replace) the plain input and output as in a model written op by op; the epilogue then only adds
        the bias.

        >>> fc = core.nn.Linear(384, 1536).eval()
        >>> with core.no_grad():
        ...     y = fc.forward_act(core.randn(7, 384), "gelu")
        """
        if has_forward_hooks(self):
            return _activate_and_add(self(input), activation, residual)
        return self._linear_act(input, activation, residual)

    def _linear_act(self, input: Tensor, activation: str, residual: Tensor | None) -> Tensor:
        weight, bias = self.weight, self.bias
        if inference_path(self, input, weight, bias, residual):
            return packed_linear(self, input, weight, bias, activation, residual)
        return _activate_and_add(F.linear(input, weight, bias), activation, residual)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _activate_and_add(y: Tensor, activation: str, residual: Tensor | None) -> Tensor:
    """Linear.forward_act's activation and residual, one op at a time."""
    if activation == "relu":
        y = F.relu(y)
    elif activation in ("gelu", "gelu_tanh"):
        y = F.gelu(y, "tanh" if activation == "gelu_tanh" else "none")
    elif activation != "none":
        raise ValueError(f"Linear.forward_act: activation must be none, relu, gelu or gelu_tanh, got {activation!r}")
    if residual is None:
        return y
    _check_residual(residual, tuple(y.shape))
    return y + residual


def with_residual(module: Module, residual: Tensor, *args: Any) -> Tensor:
    """module(*args) + residual for a block whose forward takes `residual=` and adds it in its output projection's
    GEMM epilogue. A block with forward hooks is called without it and the residual added after, so that the hooks
    see the block's own output.

    >>> x = with_residual(layer.attn, x, x, mask)  # x + attn(x, mask)
    """
    if has_forward_hooks(module):
        return module(*args) + residual
    return module(*args, residual=residual)


def inference_path(module: Module, *tensors: Tensor | None) -> bool:
    """Whether the inference kernels (packed_linear, core._C.attention_qkv: float32, no autograd) serve a call:
    `module` in eval mode, gradients off, every given tensor float32 (None entries are skipped)."""
    return not (module.training or _C.is_grad_enabled()) and all(t is None or t.dtype == core.float32 for t in tensors)


def packed_linear(module: Module, input: Tensor, weight: Tensor | tuple[Tensor, ...], bias: Tensor | None,
                  activation: str = "none", residual: Tensor | None = None) -> Tensor:
    """act(input @ weight.T + bias) + residual on the packed copy of the float32 weight [out, in] (or of a tuple
    of weights, concatenated along the outputs) that `module` caches (`packed_weight`), with bias, activation and
    residual in the GEMM epilogue. No gradient: for inference under no_grad.

    >>> logits = packed_linear(decoder, x, decoder.token_embedding.weight, None)
    """
    blocks = packed_weight(module, weight, input)
    if len(blocks) == 1:
        return _C.linear_packed(input, blocks[0][1], bias, activation, residual)
    out = core.cat([_C.linear_packed(input, packed, None if bias is None else bias[rows], activation)
                    for rows, packed in blocks], dim=-1)
    if residual is None:
        return out
    _check_residual(residual, tuple(out.shape))
    return out + residual


def _check_residual(residual: Tensor, shape: tuple[int, ...]) -> None:
    if tuple(residual.shape) != shape:
        raise ValueError(f"Linear.forward_act: residual of shape {tuple(residual.shape)} does not match the output "
                         f"{shape} (no broadcasting)")


def packed_weight(module: Module, weight: Tensor | tuple[Tensor, ...],
                  first_input: Tensor | None = None) -> tuple[tuple[slice, object], ...]:
    """The weight packed for `_C.linear_packed` as (output rows, packed block) blocks, made once and cached on
    `module` (train(), eval() and load_state_dict drop it; a new weight tensor or an in-place write to the
    weight through core, e.g. `weight.mul_(2)` under no_grad, re-packs). A tuple of weights
    with the same in_features is packed as their concatenation along the outputs (a fused q/k/v projection
    whose outputs are, bit for bit, those of the separate products).

    `first_input` is the input of the product that asks first. When it has at most HALF_MAX_ROWS rows (a
    decoding step) and every value of a block is exactly a float16 (a checkpoint shipped in float16, widened
    on import), the block is kept in float16 (`_C.pack_linear_weight_half`): the products give the same bits
    from half the bytes read, which is what a few-row product waits on. Otherwise, or for a first product of
    many rows (an encoder, which the float32 panel serves faster), the block is packed in float32
    (`_C.pack_linear_weight`).

    Inference then reads only the packed copy, so each block's clean memory-mapped file pages are released
    (`core.io.release_file_pages`) before the next block is read: the values stay (a later read of the weight
    maps them again), and a weight larger than PACK_BLOCK_BYTES is never resident twice in full.
    """
    parts = weight if isinstance(weight, tuple) else (weight,)
    # a new weight tensor, new memory or an in-place write through core (its storage's version) re-packs
    key = tuple((id(w), w.data_ptr(), w._version) for w in parts)
    cached = module.__dict__.get("_packed")
    if cached is None or cached[0] != key:
        if len(parts) > 1:
            weight = core.cat(list(parts))  # a transient copy: only its packed blocks are kept
        if weight.ndim != 2:
            raise ValueError(f"packed_weight: weight must be 2-d [out, in], got shape {tuple(weight.shape)}")
        out_features, in_features = weight.shape
        rows = HALF_MAX_ROWS + 1 if first_input is None else first_input.numel() // max(in_features, 1)
        step = max(64, PACK_BLOCK_BYTES // (4 * max(in_features, 1)) // 64 * 64)  # whole GEMM slivers per block
        blocks = []
        for start in range(0, max(out_features, 1), step):
            out_rows = slice(start, start + step)
            block = weight[out_rows]
            packed = _C.pack_linear_weight_half(block) if rows <= HALF_MAX_ROWS else None
            blocks.append((out_rows, packed if packed is not None else _C.pack_linear_weight(block)))
            release_file_pages(block)
        if len(parts) > 1:
            for part in parts:  # the concatenation read them
                release_file_pages(part)
        cached = (key, tuple(blocks))
        object.__setattr__(module, "_packed", cached)
    return cached[1]


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
