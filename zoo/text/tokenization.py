"""Sentences to padded int64 batches: tokenizer.json through the `tokenizers` library, truncation, masks.

Batches are formed longest first so each pads to similar lengths; every batch carries the positions of its
sentences in the caller's list, so results can be put back in input order.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Encoding, Tokenizer


@dataclass(frozen=True)
class Batch:
    """The model inputs of some sentences, padded to the longest of them."""

    indices: np.ndarray  # int64 (B,): where each row's sentence is in the input list
    input_ids: np.ndarray  # int64 (B, T), padded with the pad id
    attention_mask: np.ndarray  # int64 (B, T), 1 on real tokens, 0 on padding
    token_type_ids: np.ndarray  # int64 (B, T)


def load_tokenizer(path: str | os.PathLike, max_length: int) -> Tokenizer:
    """A tokenizer from tokenizer.json that truncates to max_length word pieces (special tokens included).

    Padding is switched off: `batches` pads per batch, to that batch's longest sentence.

    >>> tok = load_tokenizer("models/minilm-l6/tokenizer.json", max_length=256)
    >>> tok.encode("Hello world").tokens
    ['[CLS]', 'hello', 'world', '[SEP]']
    """
    return configure_tokenizer(Tokenizer.from_file(str(path)), max_length)


def configure_tokenizer(tokenizer: Tokenizer, max_length: int) -> Tokenizer:
    """A copy of tokenizer (the caller's stays as it was) with our truncation and no padding."""
    tok = Tokenizer.from_str(tokenizer.to_str())
    tok.enable_truncation(max_length=max_length)
    tok.no_padding()
    return tok


def tokenize(tokenizer: Tokenizer, sentences: Sequence[str]) -> list[Encoding]:
    """Encode every sentence (the tokenizers library spreads the work over its own threads)."""
    return tokenizer.encode_batch(list(sentences), add_special_tokens=True)


def batches(encodings: Sequence[Encoding], batch_size: int, pad_id: int) -> Iterator[Batch]:
    """Group encodings longest first into batches of at most batch_size, padded to their longest row."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    lengths = np.array([len(e.ids) for e in encodings], dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        indices = order[start:start + batch_size]
        width = int(lengths[indices].max())
        ids = np.full((len(indices), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(indices), width), dtype=np.int64)
        types = np.zeros((len(indices), width), dtype=np.int64)
        for row, i in enumerate(indices):
            n = lengths[i]
            ids[row, :n] = encodings[i].ids
            mask[row, :n] = 1
            types[row, :n] = encodings[i].type_ids
        yield Batch(indices.astype(np.int64), ids, mask, types)
