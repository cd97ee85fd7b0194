"""Whisper encoder and decoder forward in plain numpy float32, from our safetensors names: the reference the
core model is tested against, and a second implementation of the network protocol of zoo/speech/decoding.py
(`encode`, `session`) so decoding and parity can be tested on their own. Written for clarity; tests only.

Our names (zoo/importers/ctranslate2.py): encoder.conv1/conv2, encoder.positional_embedding,
encoder.blocks.N.{attn,attn_ln,mlp.0,mlp.2,mlp_ln}, encoder.ln_post; decoder.token_embedding,
decoder.positional_embedding, decoder.blocks.N.{attn,attn_ln,cross_attn,cross_attn_ln,mlp.0,mlp.2,mlp_ln},
decoder.ln. Attention projections are query/key/value/out; Linear weights are (out, in).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy.special import erf

from core.io import SafetensorsFile


def layer_norm(x: np.ndarray, w: Mapping[str, np.ndarray], name: str, eps: float = 1e-5) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + np.float32(eps)) * w[f"{name}.weight"] + w[f"{name}.bias"]).astype(np.float32)


def gelu(x: np.ndarray) -> np.ndarray:
    return (0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))).astype(np.float32)


def linear(x: np.ndarray, w: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """(in, T) -> (out, T') for kernel 3, padding 1, as an im2col product."""
    cin, t = x.shape
    k = weight.shape[2]
    padded = np.pad(x, ((0, 0), (1, 1)))
    t_out = (t + 2 - k) // stride + 1
    cols = np.stack([padded[:, j:j + stride * (t_out - 1) + 1:stride] for j in range(k)], axis=1)  # (in, k, T')
    return (weight.reshape(weight.shape[0], cin * k) @ cols.reshape(cin * k, t_out)) + bias[:, None]


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def heads(x: np.ndarray, n_head: int) -> np.ndarray:
    """(B, T, D) -> (B, H, T, D/H)"""
    b, t, d = x.shape
    return np.ascontiguousarray(x.reshape(b, t, n_head, d // n_head).transpose(0, 2, 1, 3))


def attend(q: np.ndarray, k: np.ndarray, v: np.ndarray, causal_offset: int | None = None) -> np.ndarray:
    """softmax(q k^T / sqrt(d)) v on (B, H, T, d) arrays; causal_offset = cache length before q's first row."""
    scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(q.shape[-1]))
    if causal_offset is not None and q.shape[2] > 1:
        tq, tk = q.shape[2], k.shape[2]
        allowed = np.arange(tk)[None, :] <= (causal_offset + np.arange(tq))[:, None]
        scores = np.where(allowed, scores, np.float32(-np.inf))
    out = softmax(scores) @ v
    b, h, t, d = out.shape
    return out.transpose(0, 2, 1, 3).reshape(b, t, h * d)


class NumpyWhisper:
    """The network protocol of zoo.speech.decoding over numpy arrays loaded from our model folder."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.config = json.loads((folder / "config.json").read_text())
        f = SafetensorsFile(folder / "model.safetensors")
        self.w = {name: np.asarray(f.array(name), dtype=np.float32) for name in f.names()}
        self.dims = self.config

    def encode(self, mel: np.ndarray) -> np.ndarray:
        """(n_mels, 3000) -> (1, 1500, n_audio_state) audio features."""
        w, n_head = self.w, self.config["n_audio_head"]
        x = gelu(conv1d(mel, w["encoder.conv1.weight"], w["encoder.conv1.bias"], 1))
        x = gelu(conv1d(x, w["encoder.conv2.weight"], w["encoder.conv2.bias"], 2))
        x = (x.T + w["encoder.positional_embedding"][: x.shape[1]])[None].astype(np.float32)
        for i in range(self.config["n_audio_layer"]):
            p = f"encoder.blocks.{i}"
            h = layer_norm(x, w, f"{p}.attn_ln")
            q, k, v = (heads(linear(h, w, f"{p}.attn.{n}"), n_head) for n in ("query", "key", "value"))
            x = x + linear(attend(q, k, v), w, f"{p}.attn.out")
            x = x + linear(gelu(linear(layer_norm(x, w, f"{p}.mlp_ln"), w, f"{p}.mlp.0")), w, f"{p}.mlp.2")
        return layer_norm(x, w, "encoder.ln_post")

    def session(self, audio_features: np.ndarray, batch: int) -> NumpySession:
        return NumpySession(self, audio_features, batch)


class NumpySession:
    """Decoder state for one window: cross-attention K/V computed once, self-attention K/V cached per layer."""

    def __init__(self, model: NumpyWhisper, audio_features: np.ndarray, batch: int) -> None:
        self.model, self.batch = model, batch
        w, n_head = model.w, model.config["n_text_head"]
        self.cross = [tuple(heads(linear(audio_features, w, f"decoder.blocks.{i}.cross_attn.{n}"), n_head)
                            for n in ("key", "value")) for i in range(model.config["n_text_layer"])]
        self.cache: list[tuple[np.ndarray, np.ndarray] | None] = [None] * model.config["n_text_layer"]
        self.length = 0

    def logits(self, tokens: np.ndarray) -> np.ndarray:
        """(batch, n) new tokens -> (batch, n, n_vocab) float32 logits."""
        w, cfg = self.model.w, self.model.config
        n_head = cfg["n_text_head"]
        tokens = np.asarray(tokens)
        n = tokens.shape[1]
        x = w["decoder.token_embedding.weight"][tokens] + w["decoder.positional_embedding"][self.length:self.length + n]
        for i in range(cfg["n_text_layer"]):
            p = f"decoder.blocks.{i}"
            h = layer_norm(x, w, f"{p}.attn_ln")
            q, k, v = (heads(linear(h, w, f"{p}.attn.{name}"), n_head) for name in ("query", "key", "value"))
            if self.cache[i] is not None:
                k = np.concatenate([self.cache[i][0], k], axis=2)
                v = np.concatenate([self.cache[i][1], v], axis=2)
            self.cache[i] = (k, v)
            x = x + linear(attend(q, k, v, causal_offset=self.length), w, f"{p}.attn.out")
            h = layer_norm(x, w, f"{p}.cross_attn_ln")
            ck, cv = self.cross[i]
            q = heads(linear(h, w, f"{p}.cross_attn.query"), n_head)
            x = x + linear(attend(q, ck, cv), w, f"{p}.cross_attn.out")
            x = x + linear(gelu(linear(layer_norm(x, w, f"{p}.mlp_ln"), w, f"{p}.mlp.0")), w, f"{p}.mlp.2")
        self.length += n
        x = layer_norm(x, w, "decoder.ln")
        return (x @ w["decoder.token_embedding.weight"].T).astype(np.float32)

    def reorder(self, indices: np.ndarray) -> None:
        """Keep the cache rows of the given batch indices (beam search's survivors), in that order."""
        self.cache = [None if c is None else (c[0][indices], c[1][indices]) for c in self.cache]
