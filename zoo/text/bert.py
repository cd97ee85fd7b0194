"""BERT encoder on core.nn (post-LayerNorm, fused qkv), and the `bert-sentence-embedding` builder.

Parameter names are the ones zoo/importers/hf_folder.py writes (`bert_parameters`): embeddings.word,
embeddings.position, embeddings.token_type, embeddings.norm, then per layer n: layers.n.attn.qkv (3H x H,
rows [q; k; v]), layers.n.attn.out, layers.n.attn_norm, layers.n.ffn.up, layers.n.ffn.down, layers.n.ffn_norm.
Weights are memory-mapped from model.safetensors with core.io.load_file and used in place.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import core
import core.nn as nn
import core.nn.functional as F
from core.io import load_file
from core.nn.linear import inference_path, with_residual
from zoo.architectures import register_architecture
from zoo.text.config import TextEncoderConfig
from zoo.text.encoder import SentenceEncoder


class BertEmbeddings(nn.Module):
    """Word + position + token-type embeddings, then LayerNorm."""

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        h = config.hidden_size
        self.word = nn.Embedding(config.vocab_size, h)
        self.position = nn.Embedding(config.max_position_embeddings, h)
        self.token_type = nn.Embedding(config.type_vocab_size, h)
        self.norm = nn.LayerNorm(h, eps=config.layer_norm_eps)

    def forward(self, input_ids: core.Tensor, token_type_ids: core.Tensor | None) -> core.Tensor:
        t = input_ids.shape[1]
        x = self.word(input_ids) + self.position.weight[:t]  # positions 0..T-1 broadcast over the batch
        if token_type_ids is None:
            x = x + self.token_type.weight[0]
        else:
            x = x + self.token_type(token_type_ids)
        return self.norm(x)


class BertSelfAttention(nn.Module):
    """Multi-head self-attention with one fused (3H x H) input projection.

    In eval mode under no_grad on float32 the attention kernel reads q, k and v per head in place from the
    projection's output and writes the heads merged (core._C.attention_qkv): no head-split or merge copies.
    """

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.num_heads = config.num_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.out = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x: core.Tensor, mask: core.Tensor | None, residual: core.Tensor | None = None) -> core.Tensor:
        """The attention's output projection, plus residual when given (added in the GEMM's epilogue)."""
        b, t, h = x.shape
        qkv = self.qkv(x)
        if inference_path(self, qkv, mask):
            context = core._C.attention_qkv(qkv, self.num_heads, mask)
        else:
            # (B, T, 3H) -> (3, B, heads, T, D) in one copy, so q, k and v reach the attention op contiguous
            qkv = qkv.view(b, t, 3, self.num_heads, h // self.num_heads).permute(2, 0, 3, 1, 4).contiguous()
            context = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
            context = context.transpose(1, 2).reshape(b, t, h)
        return self.out.forward_act(context, "none", residual)


class BertFeedForward(nn.Module):
    """up, exact (erf) GELU, down; in inference the GELU runs in the up projection's GEMM epilogue."""

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.hidden_size, config.intermediate_size)
        self.down = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x: core.Tensor, residual: core.Tensor | None = None) -> core.Tensor:
        return self.down.forward_act(self.up.forward_act(x, "gelu"), "none", residual)


class BertLayer(nn.Module):
    """x = LN(x + attn(x)); x = LN(x + ffn(x))."""

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.attn = BertSelfAttention(config)
        self.attn_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.ffn = BertFeedForward(config)
        self.ffn_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: core.Tensor, mask: core.Tensor | None) -> core.Tensor:
        # the skip connections are added in the output projections' GEMM epilogues
        x = self.attn_norm(with_residual(self.attn, x, x, mask))
        return self.ffn_norm(with_residual(self.ffn, x, x))


class BertEncoder(nn.Module):
    """The BERT encoder: token ids to the last hidden state (B, T, H).

    >>> bert = BertEncoder.from_folder("models/minilm-l6")
    >>> bert.encode_numpy(ids, mask, types).shape
    (2, 9, 384)
    """

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.layers = nn.ModuleList([BertLayer(config) for _ in range(config.num_layers)])

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> BertEncoder:
        """Build from config.json and memory-map model.safetensors (every parameter must be present)."""
        folder = Path(folder)
        with nn.init.no_init():  # every parameter comes from the file: draw nothing, touch no memory
            model = cls(TextEncoderConfig.from_folder(folder))
        model.load_state_dict(load_file(folder / "model.safetensors"), strict=True, assign=True)
        return model.eval()

    def forward(self, input_ids: core.Tensor, attention_mask: core.Tensor | None = None,
                token_type_ids: core.Tensor | None = None) -> core.Tensor:
        x = self.embeddings(input_ids, token_type_ids)
        mask = None if attention_mask is None else attention_bias(attention_mask)
        for layer in self.layers:
            x = layer(x, mask)
        return x

    def encode_numpy(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                     token_type_ids: np.ndarray) -> np.ndarray:
        """The `Forward` of SentenceEncoder: int64 numpy inputs (B, T) to float32 numpy (B, T, H), no autograd."""
        with core.no_grad():
            ids = core.from_numpy(np.ascontiguousarray(input_ids, dtype=np.int64))
            types = core.from_numpy(np.ascontiguousarray(token_type_ids, dtype=np.int64))
            # a batch without padding (every batch of one) needs no mask at all
            mask = None if attention_mask.all() else core.from_numpy(np.ascontiguousarray(attention_mask))
            return self(ids, mask, types).numpy()


def attention_bias(attention_mask: core.Tensor) -> core.Tensor:
    """(B, T) 1/0 mask -> additive (B, 1, 1, T) float32: 0 on real keys, the most negative float32 on padding."""
    keep = attention_mask.to(core.float32)
    return ((1.0 - keep) * float(np.finfo(np.float32).min)).view(keep.shape[0], 1, 1, keep.shape[1])


@register_architecture("bert-sentence-embedding")
def build_sentence_encoder(folder: Path, config: dict) -> SentenceEncoder:
    """The hub's builder: a SentenceEncoder around the core BERT of a model folder in our format."""
    bert = BertEncoder.from_folder(folder)
    return SentenceEncoder.from_folder(folder, bert.encode_numpy)
