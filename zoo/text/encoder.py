"""SentenceEncoder: sentences in, one L2-normalised float32 vector per sentence out, any backend behind it."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from zoo.text.config import TextEncoderConfig
from zoo.text.pooling import POOLERS, l2_normalize
from zoo.text.tokenization import batches, configure_tokenizer, tokenize

# (input_ids, attention_mask, token_type_ids), each int64 (B, T) -> last hidden state float32 (B, T, H)
Forward = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


class SentenceEncoder:
    """Tokenise, batch (longest first), run `forward`, pool over the mask, normalise; rows in input order.

    The model is any callable with the `Forward` signature, so the core BERT and the numpy reference are
    interchangeable behind the same pipeline.

    >>> encoder = SentenceEncoder(model, tokenizer, config)
    >>> encoder.encode(["a sentence", "another"]).shape
    (2, 384)
    """

    def __init__(self, forward: Forward, tokenizer: Tokenizer,
                 config: TextEncoderConfig | Mapping[str, Any]) -> None:
        self.config = config if isinstance(config, TextEncoderConfig) else TextEncoderConfig.from_dict(config)
        self.forward = forward
        self.tokenizer = configure_tokenizer(tokenizer, self.config.max_length)
        self._pool = POOLERS[self.config.pooling]

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, forward: Forward) -> SentenceEncoder:
        """The pipeline of a model folder in our format (config.json, tokenizer.json) around forward.

        >>> encoder = SentenceEncoder.from_folder("models/minilm-l6", model)
        """
        folder = Path(folder)
        return cls(forward, Tokenizer.from_file(str(folder / "tokenizer.json")), TextEncoderConfig.from_folder(folder))

    def token_counts(self, sentences: Sequence[str]) -> list[int]:
        """Word pieces per sentence after truncation, [CLS] and [SEP] included."""
        return [len(e.ids) for e in tokenize(self.tokenizer, self._prepare(sentences))]

    def encode(self, sentences: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed sentences: float32 (N, hidden_size), row i for sentences[i].

        >>> vectors = encoder.encode(["The birch canoe slid on the smooth planks."])
        >>> float(vectors[0] @ vectors[0])
        1.0
        """
        prepared = self._prepare(sentences)
        out = np.zeros((len(prepared), self.config.hidden_size), dtype=np.float32)
        for batch in batches(tokenize(self.tokenizer, prepared), batch_size, self.config.pad_token_id):
            hidden = np.asarray(self.forward(batch.input_ids, batch.attention_mask, batch.token_type_ids))
            expected = (*batch.input_ids.shape, self.config.hidden_size)
            if hidden.shape != expected:
                raise ValueError(f"encode: forward returned shape {hidden.shape} for a batch of shape "
                                 f"{batch.input_ids.shape}; expected {expected}")
            pooled = self._pool(hidden, batch.attention_mask)
            out[batch.indices] = l2_normalize(pooled) if self.config.normalize else pooled
        return out

    def _prepare(self, sentences: Sequence[str]) -> list[str]:
        if isinstance(sentences, str):
            raise TypeError("encode takes a list of sentences, got one str: wrap it in a list")
        prepared = []
        for i, s in enumerate(sentences):
            if not isinstance(s, str):
                raise TypeError(f"encode: sentence {i} is a {type(s).__name__}, expected str")
            s = s.strip()  # sentence-transformers strips each input; BERT's pre-tokeniser drops the spaces anyway
            prepared.append(s.lower() if self.config.lowercase else s)
        return prepared
