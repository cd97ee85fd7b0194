"""text/minilm-l6 through SentenceEncoder with the numpy BERT matches sentence-transformers' embeddings."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from tokenizers import Tokenizer

from tests.reference.bert_numpy import BertNumpy
from tests.text.conftest import REFERENCE
from zoo.text import SentenceEncoder
from zoo.text.catalog import REFERENCE_DATA_SHA256


@pytest.fixture(scope="module")
def encoder(minilm_folder) -> SentenceEncoder:
    forward = BertNumpy(minilm_folder)
    return SentenceEncoder(forward, Tokenizer.from_file(str(minilm_folder / "tokenizer.json")), forward.config)


@pytest.fixture(scope="module")
def embeddings(encoder, minilm_reference) -> np.ndarray:
    # batch 8: several batches and real padding, without padding 32 sentences to the 256-piece one
    return encoder.encode(minilm_reference["sentences"], batch_size=8)


def test_reference_copy_matches_catalog_hashes():
    for name, sha in REFERENCE_DATA_SHA256.items():
        assert hashlib.sha256((REFERENCE / name).read_bytes()).hexdigest() == sha


def test_token_counts_match_reference(encoder, minilm_reference):
    assert encoder.token_counts(minilm_reference["sentences"]) == minilm_reference["token_counts"]


def test_every_sentence_within_cosine_0_9999_of_reference(embeddings, minilm_reference):
    ref = minilm_reference["embeddings"]
    assert embeddings.shape == ref.shape == (64, 384) and embeddings.dtype == np.float32
    cosine = (embeddings * ref).sum(1) / np.linalg.norm(embeddings, axis=1) / np.linalg.norm(ref, axis=1)
    worst = int(np.argmin(cosine))
    assert cosine.min() >= 0.9999, f"sentence {worst} {minilm_reference['sentences'][worst]!r}: {cosine[worst]}"


@pytest.mark.parametrize("sentence", ["", "日本語のテキストも含まれています。",
                                      "Café, naïve, résumé, and jalapeño have accents.",
                                      "Zero-width\u200bspace and non\xa0breaking space."])
def test_edge_cases_are_in_the_checked_set(minilm_reference, sentence):
    assert sentence in minilm_reference["sentences"]


def test_long_sentence_is_truncated_at_256_word_pieces(encoder, embeddings, minilm_reference):
    i = int(np.argmax([len(s) for s in minilm_reference["sentences"]]))
    assert encoder.token_counts([minilm_reference["sentences"][i]]) == [256]
    assert float(embeddings[i] @ minilm_reference["embeddings"][i]) >= 0.9999


def test_rows_are_unit_vectors(embeddings):
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-6)


def test_default_batch_size_gives_the_same_vectors(encoder, embeddings, minilm_reference):
    harvard = minilm_reference["sentences"][:40]  # short ones: two batches of 32 and 8 at the default size
    np.testing.assert_allclose(encoder.encode(harvard), embeddings[:40], atol=1e-6)
