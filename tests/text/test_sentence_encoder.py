"""SentenceEncoder: truncation, per-batch padding and masks, longest-first batches, input order, pooling."""
from __future__ import annotations

import numpy as np
import pytest
from tokenizers import Tokenizer

from tests.reference.bert_numpy import BertNumpy
from tests.text.tiny_bert_folder import make_tiny_bert_folder, tiny_tokenizer
from zoo.importers.hf_folder import import_hf_folder
from zoo.text import SentenceEncoder, TextEncoderConfig
from zoo.text.pooling import cls_pool, l2_normalize, max_pool, mean_pool

SENTENCES = ["the cat sat on the mat", "a dog", "", "the red cats ran to the reddy dog on a mat", "cat",
             "dogs sat", "  the mat  ", "a a a a a a a a a a"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    dest = root / "ours"
    import_hf_folder(make_tiny_bert_folder(root / "hf"), dest, extra_config={"pooling": "mean", "normalize": True})
    return BertNumpy(dest)


class Recorder:
    """A forward that records what it was given and returns the numpy BERT's output."""

    def __init__(self, forward):
        self.forward = forward
        self.calls = []

    def __call__(self, input_ids, attention_mask, token_type_ids):
        self.calls.append((input_ids, attention_mask, token_type_ids))
        return self.forward(input_ids, attention_mask, token_type_ids)


def test_rows_come_back_in_input_order_whatever_the_batch_size(tiny_model):
    encoder = SentenceEncoder(tiny_model, tiny_tokenizer(), tiny_model.config)
    one_by_one = np.stack([encoder.encode([s])[0] for s in SENTENCES])
    for batch_size in (1, 3, 32):
        np.testing.assert_allclose(encoder.encode(SENTENCES, batch_size=batch_size), one_by_one, atol=1e-6)


def test_batches_are_longest_first_padded_with_masks(tiny_model):
    recorder = Recorder(tiny_model)
    encoder = SentenceEncoder(recorder, tiny_tokenizer(), tiny_model.config)
    encoder.encode(SENTENCES, batch_size=3)
    widths = [ids.shape[1] for ids, _, _ in recorder.calls]
    assert [ids.shape[0] for ids, _, _ in recorder.calls] == [3, 3, 2]
    assert widths == sorted(widths, reverse=True)
    for ids, mask, types in recorder.calls:
        assert ids.dtype == mask.dtype == types.dtype == np.int64
        assert (mask[:, 0] == 1).all() and mask.sum(1).max() == ids.shape[1]
        assert (ids[mask == 0] == 0).all() and (types == 0).all()
        lengths = mask.sum(1)
        assert (ids[np.arange(len(ids)), lengths - 1] == 3).all()  # [SEP] closes every row


def test_truncation_keeps_max_length_pieces_with_sep(tiny_model):
    config = TextEncoderConfig.from_dict({**tiny_model.config.to_dict(), "max_length": 5})
    recorder = Recorder(tiny_model)
    encoder = SentenceEncoder(recorder, tiny_tokenizer(), config)
    assert encoder.token_counts(["a a a a a a a a a a", "cat"]) == [5, 3]
    encoder.encode(["a a a a a a a a a a"])
    assert recorder.calls[0][0].tolist() == [[2, 10, 10, 10, 3]]


def test_empty_string_is_cls_sep(tiny_model):
    encoder = SentenceEncoder(tiny_model, tiny_tokenizer(), tiny_model.config)
    assert encoder.token_counts(["", "   "]) == [2, 2]
    assert np.isfinite(encoder.encode([""])).all()


def test_padding_does_not_change_a_sentence_vector(tiny_model):
    def garbage_in_padding(input_ids, attention_mask, token_type_ids):
        hidden = tiny_model(input_ids, attention_mask, token_type_ids)
        return np.where(attention_mask[:, :, None] == 0, np.float32(1e6), hidden)

    encoder = SentenceEncoder(garbage_in_padding, tiny_tokenizer(), tiny_model.config)
    alone = encoder.encode(["cat"])
    padded = encoder.encode(["cat", "the red cats ran to the reddy dog on a mat"])[:1]
    np.testing.assert_allclose(padded, alone, atol=1e-5)


def test_no_sentences_gives_an_empty_matrix(tiny_model):
    calls = []
    encoder = SentenceEncoder(lambda *a: calls.append(a), tiny_tokenizer(), tiny_model.config)
    out = encoder.encode([])
    assert out.shape == (0, 8) and out.dtype == np.float32 and not calls


def test_a_single_string_is_refused(tiny_model):
    encoder = SentenceEncoder(tiny_model, tiny_tokenizer(), tiny_model.config)
    with pytest.raises(TypeError, match="wrap it in a list"):
        encoder.encode("the cat")
    with pytest.raises(TypeError, match="sentence 1 is a int"):
        encoder.encode(["the cat", 3])


def test_forward_of_the_wrong_shape_is_reported(tiny_model):
    encoder = SentenceEncoder(lambda ids, mask, types: np.zeros((*ids.shape, 5), np.float32), tiny_tokenizer(),
                              tiny_model.config)
    with pytest.raises(ValueError, match=r"forward returned shape \(1, 3, 5\) .* expected \(1, 3, 8\)"):
        encoder.encode(["cat"])


def test_callers_tokenizer_is_left_as_it_was(tiny_model):
    tok = tiny_tokenizer()
    before = tok.to_str()
    SentenceEncoder(tiny_model, tok, {**tiny_model.config.to_dict(), "max_length": 4}).encode(["a a a a a a"])
    assert tok.to_str() == before and isinstance(tok, Tokenizer)


def test_normalize_off_returns_the_raw_mean(tiny_model):
    raw = SentenceEncoder(tiny_model, tiny_tokenizer(), {**tiny_model.config.to_dict(), "normalize": False})
    unit = SentenceEncoder(tiny_model, tiny_tokenizer(), tiny_model.config)
    a, b = raw.encode(SENTENCES[:3]), unit.encode(SENTENCES[:3])
    np.testing.assert_allclose(a / np.linalg.norm(a, axis=1, keepdims=True), b, atol=1e-6)
    assert not np.allclose(np.linalg.norm(a, axis=1), 1.0)


def test_lowercase_setting_lowercases_before_tokenising(tiny_model):
    calls = []

    def forward(ids, mask, types):
        calls.append(ids)
        return tiny_model(ids, mask, types)

    cased = tiny_tokenizer()
    cased.normalizer = None
    SentenceEncoder(forward, cased, {**tiny_model.config.to_dict(), "lowercase": True}).encode(["CAT"])
    assert calls[0].tolist() == [[2, 5, 3]]


def test_pooling_functions():
    hidden = np.array([[[1, 2], [3, 4], [100, 100]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(mean_pool(hidden, mask), [[2, 3]])
    np.testing.assert_allclose(max_pool(hidden, mask), [[3, 4]])
    np.testing.assert_allclose(cls_pool(hidden, mask), [[1, 2]])
    np.testing.assert_allclose(l2_normalize(np.array([[3, 4], [0, 0]], np.float32)), [[0.6, 0.8], [0, 0]])


def test_from_folder_reads_config_and_tokenizer(tiny_model, tmp_path):
    folder = tmp_path / "m"
    import_hf_folder(make_tiny_bert_folder(tmp_path / "hf"), folder, extra_config={"max_length": 4})
    encoder = SentenceEncoder.from_folder(folder, tiny_model)
    assert encoder.config.max_length == 4 and encoder.token_counts(["a a a a a"]) == [4]
