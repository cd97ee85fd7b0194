"""BERT encoder forward in plain numpy float32, from our safetensors names: the reference the core model is
tested against (llm.c style). Written for clarity, not speed; used by tests only.

Our names (zoo/importers/hf_folder.py, `bert_parameters`), per layer n:
  layers.n.attn.qkv  (3H, H) rows [q; k; v], head h is rows h*D:(h+1)*D of each block (D = H / heads)
  layers.n.attn.out, layers.n.attn_norm, layers.n.ffn.up, layers.n.ffn.down, layers.n.ffn_norm
Linear weights are (out, in) as in torch.nn.Linear: y = x @ W.T + b.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy.special import erf
from threadpoolctl import threadpool_limits

from core.io import SafetensorsFile
from zoo.text.config import TextEncoderConfig


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)  # biased variance, as torch's layer_norm
    return ((x - mean) / np.sqrt(var + np.float32(eps)) * weight + bias).astype(np.float32)


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU of BERT's "gelu": x * Phi(x)."""
    return (0.5 * x * (1.0 + erf(x.astype(np.float64) / np.sqrt(2.0)))).astype(np.float32)


def linear(x: np.ndarray, w: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(x: np.ndarray, w: Mapping[str, np.ndarray], prefix: str, mask_bias: np.ndarray,
              num_heads: int) -> np.ndarray:
    b, t, h = x.shape
    d = h // num_heads
    qkv = linear(x, w, f"{prefix}.qkv")  # (B, T, 3H)
    # (B, heads, T, D), made contiguous so numpy hands each head's product to BLAS
    q, k, v = (np.ascontiguousarray(qkv[..., i * h:(i + 1) * h].reshape(b, t, num_heads, d).transpose(0, 2, 1, 3))
               for i in range(3))
    scores = q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2)) / np.float32(np.sqrt(d)) + mask_bias  # (B, heads, T, T)
    context = (softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(b, t, h)
    return linear(context, w, f"{prefix}.out")


def bert_forward(w: Mapping[str, np.ndarray], config: TextEncoderConfig, input_ids: np.ndarray,
                 attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
    """Last hidden state (B, T, H) float32 of a post-LayerNorm BERT encoder."""
    eps = config.layer_norm_eps
    t = input_ids.shape[1]
    x = (w["embeddings.word.weight"][input_ids] + w["embeddings.position.weight"][np.arange(t)]
         + w["embeddings.token_type.weight"][token_type_ids])
    x = layer_norm(x, w["embeddings.norm.weight"], w["embeddings.norm.bias"], eps)
    # padded keys get the most negative float32, as transformers' extended attention mask does
    mask_bias = ((1.0 - attention_mask[:, None, None, :].astype(np.float32))
                 * np.finfo(np.float32).min).astype(np.float32)
    for n in range(config.num_layers):
        p = f"layers.{n}"
        a = attention(x, w, f"{p}.attn", mask_bias, config.num_heads)
        x = layer_norm(x + a, w[f"{p}.attn_norm.weight"], w[f"{p}.attn_norm.bias"], eps)
        f = linear(gelu(linear(x, w, f"{p}.ffn.up")), w, f"{p}.ffn.down")
        x = layer_norm(x + f, w[f"{p}.ffn_norm.weight"], w[f"{p}.ffn_norm.bias"], eps)
    return x


class BertNumpy:
    """A `Forward` callable over a model folder in our format (config.json + model.safetensors)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        self.config = TextEncoderConfig.from_folder(folder)
        st = SafetensorsFile(folder / "model.safetensors")
        self.weights = {name: st.array(name) for name in st.names()}

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        # one BLAS thread: the many small per-head products thrash OpenBLAS threads on a shared machine (8x)
        with threadpool_limits(limits=1, user_api="blas"):
            return bert_forward(self.weights, self.config, input_ids, attention_mask, token_type_ids)
