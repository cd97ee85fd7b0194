"""MultiheadAttention: PyTorch's layer (packed in-projection, out-projection, masks) on scaled dot products."""
from __future__ import annotations

import math

import core
from core import _C
from core.nn import functional as F
from core.nn import init
from core.nn.linear import Linear
from core.nn.module import Module
from core.nn.parameter import Parameter

Tensor = _C.Tensor


def _additive(mask: Tensor, like: Tensor, what: str) -> Tensor:
    """A boolean mask (True = not allowed) as 0 / -inf, or a float mask as given, in the dtype of `like`."""
    if mask.dtype == core.bool:
        return core.zeros(mask.shape, dtype=like.dtype).masked_fill(mask, float("-inf"))
    if not mask.dtype.is_floating_point:
        raise TypeError(f"MultiheadAttention: {what} must be bool or floating point, got {mask.dtype!r}")
    return mask.to(like.dtype)


class MultiheadAttention(Module):
    """Attention with num_heads heads over embed_dim features (Vaswani et al.), PyTorch's parameters and masks.

    Parameters: in_proj_weight (3 * embed_dim, embed_dim) packing the q, k, v projections, in_proj_bias, and
    out_proj (a Linear). Inputs are (L, N, E) (or (N, L, E) with batch_first=True, or unbatched (L, E)).
    key_padding_mask (N, S): True (or -inf) marks keys to ignore. attn_mask (L, S) or (N * num_heads, L, S):
    True (or -inf) forbids a query from seeing a key; float masks are added to the scores. With need_weights
    the attention weights are returned too, averaged over heads unless average_attn_weights=False.

    >>> mha = core.nn.MultiheadAttention(64, 8, batch_first=True)
    >>> x = core.randn(2, 10, 64)
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    ((2, 10, 64), (2, 10, 10))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, dtype: core.dtype | None = None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be a positive multiple of "
                             f"num_heads {num_heads}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be between 0 and 1, got {dropout}")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.in_proj_weight = Parameter(core.empty(3 * embed_dim, embed_dim, dtype=dtype))
        if bias:
            self.in_proj_bias = Parameter(core.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: xavier_uniform_ in-projection, zero biases, out_proj weight as a Linear's."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _project(self, x: Tensor, index: int) -> Tensor:
        e = self.embed_dim
        w = core.narrow(self.in_proj_weight, 0, index * e, e)
        b = None if self.in_proj_bias is None else core.narrow(self.in_proj_bias, 0, index * e, e)
        y = F.linear(x, w, b)
        n, length, _ = y.shape
        return y.reshape(n, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """(attn_output, attn_weights or None); see the class docstring for shapes and masks."""
        unbatched = query.ndim == 2
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"MultiheadAttention: query, key, value must all be 2-d (unbatched) or 3-d, got shapes "
                             f"{query.shape}, {key.shape}, {value.shape}")
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n, tgt_len, e = query.shape
        src_len = key.shape[1]
        if e != self.embed_dim or key.shape[2] != e or value.shape[2] != e:
            raise ValueError(f"MultiheadAttention: expected embed_dim {self.embed_dim} in query, key and value, got "
                             f"{e}, {key.shape[2]}, {value.shape[2]}")
        if key.shape[:2] != value.shape[:2]:
            raise ValueError(f"MultiheadAttention: key and value must agree on batch and length, got "
                             f"{key.shape} and {value.shape}")
        q, k, v = self._project(query, 0), self._project(key, 1), self._project(value, 2)
        mask = self._merged_mask(key_padding_mask, attn_mask, is_causal, n, tgt_len, src_len, q)
        dropout_p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = q.matmul(k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
            if mask is not None:
                scores = scores + mask
            weights = F.softmax(scores, dim=-1)
            out = F.dropout(weights, dropout_p, training=dropout_p > 0).matmul(v)
            if average_attn_weights:
                weights = weights.mean(dim=1)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        out = self.out_proj(out.transpose(1, 2).reshape(n, tgt_len, e))
        if unbatched:
            return out.squeeze(0), (weights.squeeze(0) if weights is not None else None)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _merged_mask(self, key_padding_mask: Tensor | None, attn_mask: Tensor | None, is_causal: bool, n: int,
                     tgt_len: int, src_len: int, like: Tensor) -> Tensor | None:
        """One additive mask broadcastable to (N, H, L, S), or None."""
        if is_causal and attn_mask is None:
            attn_mask = core.arange(src_len).unsqueeze(0) > core.arange(tgt_len).unsqueeze(1)
        mask = None
        if attn_mask is not None:
            if tuple(attn_mask.shape) == (tgt_len, src_len):
                mask = _additive(attn_mask, like, "attn_mask")
            elif tuple(attn_mask.shape) == (n * self.num_heads, tgt_len, src_len):
                mask = _additive(attn_mask, like, "attn_mask").reshape(n, self.num_heads, tgt_len, src_len)
            else:
                raise ValueError(f"MultiheadAttention: attn_mask must have shape ({tgt_len}, {src_len}) or "
                                 f"({n * self.num_heads}, {tgt_len}, {src_len}), got {tuple(attn_mask.shape)}")
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (n, src_len):
                raise ValueError(f"MultiheadAttention: key_padding_mask must have shape ({n}, {src_len}), got "
                                 f"{tuple(key_padding_mask.shape)}")
            pad = _additive(key_padding_mask, like, "key_padding_mask").reshape(n, 1, 1, src_len)
            mask = pad if mask is None else mask + pad
        return mask

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, " \
               f"batch_first={self.batch_first}"
