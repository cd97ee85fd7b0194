"""Whisper's network on core.nn: the audio encoder and the text decoder with a key/value cache.

Architecture (Radford et al., arXiv 2212.04356, section 2.2; the names follow openai/whisper `model.py` so
checkpoints map one to one): two GELU convolutions (kernel 3, the second with stride 2) over the log-mel,
sinusoidal-free learned positions, pre-LayerNorm Transformer blocks; the decoder ties its output projection
to the token embedding.

Decoding speed comes from doing little per token: the cross-attention keys and values of a window are
computed once (`WhisperSession`), self-attention keys and values go into preallocated buffers, and the
hypotheses of a beam are one batch whose cross-attention queries share one product with the audio keys.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import core
import core.nn.functional as F
from core import nn
from core.io import load_file
from core.nn.linear import inference_path, packed_linear, with_residual
from core.nn.module import has_forward_hooks


class MultiHeadAttention(nn.Module):
    def __init__(self, n_state: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.query = nn.Linear(n_state, n_state)
        self.key = nn.Linear(n_state, n_state)  # Whisper's key has no bias; the import stores zeros
        self.value = nn.Linear(n_state, n_state)
        self.out = nn.Linear(n_state, n_state)

    def split_heads(self, x: core.Tensor) -> core.Tensor:
        """(B, T, D) -> (B, H, T, D/H)"""
        b, t, d = x.shape
        return x.reshape(b, t, self.n_head, d // self.n_head).transpose(1, 2)

    def merge_heads(self, x: core.Tensor) -> core.Tensor:
        b, h, t, d = x.shape
        return x.transpose(1, 2).reshape(b, t, h * d)

    def forward(self, x: core.Tensor, residual: core.Tensor | None = None) -> core.Tensor:
        """Full (non-causal) self-attention, as in the encoder, plus `residual` when given (added in the output
        projection's GEMM epilogue in inference). In inference the three projections run as one product (one packed
        [3D, D] weight, the same bits per output) and the attention reads the heads from its output in place and
        writes them merged (`core._C.attention_qkv`): no head split or merge copies. Forward hooks on a projection
        turn the fused product off, so that they see their own input and output."""
        projections = (self.query, self.key, self.value)
        weights, biases = tuple(p.weight for p in projections), [p.bias for p in projections]
        if x.ndim == 3 and not has_forward_hooks(*projections) and inference_path(self, x, *weights, *biases):
            qkv = packed_linear(self, x, weights, core.cat(biases))
            return self.out.forward_act(core._C.attention_qkv(qkv, self.n_head), "none", residual)
        q, k, v = (self.split_heads(proj(x)) for proj in (self.query, self.key, self.value))
        return self.out.forward_act(self.merge_heads(F.scaled_dot_product_attention(q, k, v)), "none", residual)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, n_state: int, n_head: int, cross_attention: bool = False) -> None:
        super().__init__()
        self.attn = MultiHeadAttention(n_state, n_head)
        self.attn_ln = nn.LayerNorm(n_state)
        self.cross_attn = MultiHeadAttention(n_state, n_head) if cross_attention else None
        self.cross_attn_ln = nn.LayerNorm(n_state) if cross_attention else None
        self.mlp = nn.Sequential(nn.Linear(n_state, 4 * n_state), nn.GELU(), nn.Linear(4 * n_state, n_state))
        self.mlp_ln = nn.LayerNorm(n_state)

    def forward(self, x: core.Tensor) -> core.Tensor:
        """Pre-norm residual block: the skip connections are added in the output projections' epilogues."""
        x = with_residual(self.attn, x, self.attn_ln(x))
        return self.feed_forward(self.mlp_ln(x), residual=x)

    def feed_forward(self, h: core.Tensor, residual: core.Tensor | None = None) -> core.Tensor:
        """mlp(h) + residual with the GELU in the first projection's GEMM epilogue and the residual in the second's
        (in inference); hooks on the mlp or its GELU get the plain Sequential call."""
        if has_forward_hooks(self.mlp, self.mlp[1]):
            y = self.mlp(h)
            return y if residual is None else y + residual
        return self.mlp[2].forward_act(self.mlp[0].forward_act(h, "gelu"), "none", residual)


class AudioEncoder(nn.Module):
    def __init__(self, n_mels: int, n_ctx: int, n_state: int, n_head: int, n_layer: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(n_mels, n_state, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(n_state, n_state, kernel_size=3, stride=2, padding=1)
        self.positional_embedding = nn.Parameter(core.zeros(n_ctx, n_state))
        self.blocks = nn.ModuleList([ResidualAttentionBlock(n_state, n_head) for _ in range(n_layer)])
        self.ln_post = nn.LayerNorm(n_state)

    def forward(self, mel: core.Tensor) -> core.Tensor:
        """(B, n_mels, 3000) log-mel -> (B, 1500, n_state) audio features."""
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x))
        x = x.transpose(1, 2)
        if x.shape[1] != self.positional_embedding.shape[0]:
            raise ValueError(f"encoder: {x.shape[1]} positions but the model has {self.positional_embedding.shape[0]}"
                             " (give it 30 s windows of 3000 mel frames)")
        x = x + self.positional_embedding
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x)


class TextDecoder(nn.Module):
    def __init__(self, n_vocab: int, n_ctx: int, n_state: int, n_head: int, n_layer: int) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(n_vocab, n_state)
        self.positional_embedding = nn.Parameter(core.zeros(n_ctx, n_state))
        self.blocks = nn.ModuleList([ResidualAttentionBlock(n_state, n_head, cross_attention=True)
                                     for _ in range(n_layer)])
        self.ln = nn.LayerNorm(n_state)

    def project_vocab(self, x: core.Tensor) -> core.Tensor:
        """Logits over the vocabulary: x against the tied token embedding, which inference packs for the GEMM
        once (the 1-5 rows of a decoding step then stream the packed weight instead of re-packing it)."""
        weight = self.token_embedding.weight
        if inference_path(self, x, weight):
            return packed_linear(self, x, weight, None)
        return F.linear(x, weight)


class Whisper(nn.Module):
    """The network; `encode` and `session` make it a network for zoo.speech.decoding."""

    def __init__(self, dims: dict) -> None:
        super().__init__()
        self.dims = dims
        self.encoder = AudioEncoder(dims["n_mels"], dims["n_audio_ctx"], dims["n_audio_state"],
                                    dims["n_audio_head"], dims["n_audio_layer"])
        self.decoder = TextDecoder(dims["n_vocab"], dims["n_text_ctx"], dims["n_text_state"],
                                   dims["n_text_head"], dims["n_text_layer"])

    @classmethod
    def from_folder(cls, folder: str | Path) -> Whisper:
        """Build from our model folder (config.json + model.safetensors) in eval mode."""
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        with nn.init.no_init():  # every parameter comes from the file: draw nothing, touch no memory
            model = cls(config)
        # the parameters become views of the memory-mapped file: no second copy of the weights
        model.load_state_dict(load_file(folder / "model.safetensors"), strict=True, assign=True)
        return model.eval()

    def encode(self, mel: np.ndarray) -> core.Tensor:
        """(n_mels, 3000) numpy log-mel of one window -> (1, 1500, n_audio_state) audio features."""
        with core.no_grad():
            return self.encoder(core.from_numpy(np.ascontiguousarray(mel, dtype=np.float32))[None])

    def session(self, audio_features: core.Tensor, batch: int) -> WhisperSession:
        return WhisperSession(self, audio_features, batch)


class WhisperSession:
    """Decoder state of one window for `batch` hypotheses: cross K/V once, self K/V in preallocated buffers."""

    def __init__(self, model: Whisper, audio_features: core.Tensor, batch: int) -> None:
        dec = model.decoder
        self.model, self.batch, self.length = model, batch, 0
        n_ctx, n_state = model.dims["n_text_ctx"], model.dims["n_text_state"]
        n_head = model.dims["n_text_head"]
        with core.no_grad():
            # contiguous once here, so the attention op does not copy 2 x 1500 rows per layer on every token
            self.cross = [(b.cross_attn.split_heads(b.cross_attn.key(audio_features)).contiguous(),
                           b.cross_attn.split_heads(b.cross_attn.value(audio_features)).contiguous())
                          for b in dec.blocks]
        shape = (batch, n_head, n_ctx, n_state // n_head)
        # never cleared: only the filled positions are read, so the untouched tail costs no resident memory
        self.keys = [core.empty(*shape) for _ in dec.blocks]
        self.values = [core.empty(*shape) for _ in dec.blocks]

    def logits(self, tokens: np.ndarray) -> np.ndarray:
        """Append (batch, n) tokens and return their (batch, n, n_vocab) float32 logits."""
        with core.no_grad():
            return self._forward(core.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64))).numpy()

    def _forward(self, tokens: core.Tensor) -> core.Tensor:
        dec = self.model.decoder
        b, n = tokens.shape
        start, end = self.length, self.length + n
        if end > dec.positional_embedding.shape[0]:
            raise ValueError(f"decoder: {end} tokens exceed the text context of {dec.positional_embedding.shape[0]}")
        # narrow() rather than [:, :, a:b]: the same views, without the general indexing's Python per call
        x = dec.token_embedding(tokens) + dec.positional_embedding.narrow(0, start, n)
        for i, block in enumerate(dec.blocks):
            attn = block.attn
            h = block.attn_ln(x)
            q = attn.split_heads(attn.query(h))
            self.keys[i].narrow(2, start, n).copy_(attn.split_heads(attn.key(h)))
            self.values[i].narrow(2, start, n).copy_(attn.split_heads(attn.value(h)))
            k, v = self.keys[i].narrow(2, 0, end), self.values[i].narrow(2, 0, end)
            if n > 1:
                # causal within the new tokens: query j sees cached positions and new ones up to itself
                mask = core.from_numpy(np.arange(end)[None, :] <= (start + np.arange(n))[:, None])
                ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            else:
                ctx = F.scaled_dot_product_attention(q, k, v)
            x = attn.out.forward_act(attn.merge_heads(ctx), "none", x)
            x = self._cross(block, block.cross_attn_ln(x), i, residual=x)
            x = block.feed_forward(block.mlp_ln(x), residual=x)
        self.length = end
        return dec.project_vocab(dec.ln(x))

    def _cross(self, block: ResidualAttentionBlock, h: core.Tensor, layer: int, residual: core.Tensor) -> core.Tensor:
        """Cross-attention of every hypothesis against the window's keys (the batch folds into the query rows), plus
        the residual."""
        attn = block.cross_attn
        b, n, d = h.shape
        q = attn.query(h).reshape(1, b * n, d)  # rows need no mask, so all hypotheses share one product
        k, v = self.cross[layer]
        ctx = attn.merge_heads(F.scaled_dot_product_attention(attn.split_heads(q), k, v))
        return attn.out.forward_act(ctx.reshape(b, n, d), "none", residual)

    def reorder(self, indices: np.ndarray) -> None:
        """Keep the cached rows of the given hypotheses, in that order (beam search's survivors)."""
        indices = np.asarray(indices, dtype=np.int64)
        if len(indices) != self.batch:
            raise ValueError(f"reorder: {len(indices)} indices for a session of {self.batch} hypotheses")
        moved = np.flatnonzero(indices != np.arange(self.batch))  # rows that keep their hypothesis stay put
        if len(moved) == 0 or self.length == 0:
            return
        dst, src = core.from_numpy(moved), core.from_numpy(indices[moved])
        with core.no_grad():
            for buffers in (self.keys, self.values):
                for buf in buffers:
                    used = buf.narrow(2, 0, self.length)  # only the filled positions
                    used[dst] = used[src]  # the right side is gathered first, so overlapping moves are safe
