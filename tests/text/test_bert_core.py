"""The BERT encoder on core: same outputs as transformers and the numpy reference, and text/minilm-l6 within
cosine 0.9999 of sentence-transformers for every one of the 64 reference sentences."""
from __future__ import annotations

import json

import numpy as np
import pytest

import core
from tests.reference.bert_numpy import BertNumpy
from tests.text.tiny_bert_folder import TINY_BERT, make_tiny_bert_folder
from zoo.architectures import build
from zoo.importers.hf_folder import import_hf_folder
from zoo.text import SentenceEncoder
from zoo.text.bert import BertEncoder


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-bert")
    dest = root / "ours"
    import_hf_folder(make_tiny_bert_folder(root / "hf"), dest, extra_config={"pooling": "mean", "normalize": True})
    return dest


def test_tiny_bert_matches_transformers_on_a_padded_row(tiny_folder):
    ref = json.loads((TINY_BERT / "reference_output.json").read_text())
    ids = np.array(ref["input_ids"], dtype=np.int64)
    mask = np.array(ref["attention_mask"], dtype=np.int64)
    out = BertEncoder.from_folder(tiny_folder).encode_numpy(ids, mask, np.zeros_like(ids))
    assert out.dtype == np.float32 and out.shape == (1, 6, 8)
    real = mask[0] == 1  # transformers' state at padded positions is not defined by the encoder's math
    np.testing.assert_allclose(out[:, real], np.array(ref["last_hidden_state"], dtype=np.float32)[:, real],
                               atol=2e-5, rtol=1e-5)


def test_tiny_bert_matches_the_numpy_reference_on_a_ragged_batch(tiny_folder):
    rng = np.random.default_rng(0)
    ids = rng.integers(4, 16, size=(3, 7)).astype(np.int64)
    ids[:, 0] = 2
    mask = np.ones_like(ids)
    mask[1, 4:] = 0
    mask[2, 2:] = 0
    ids[mask == 0] = 0
    types = np.zeros_like(ids)
    types[0, 3:] = 1
    ours = BertEncoder.from_folder(tiny_folder).encode_numpy(ids, mask, types)
    reference = BertNumpy(tiny_folder)(ids, mask, types)
    np.testing.assert_allclose(ours[mask == 1], reference[mask == 1], atol=1e-5)


def test_padding_does_not_change_the_real_positions(tiny_folder):
    bert = BertEncoder.from_folder(tiny_folder)
    alone = bert.encode_numpy(np.array([[2, 5, 6, 3]]), np.ones((1, 4), np.int64), np.zeros((1, 4), np.int64))
    ids = np.array([[2, 5, 6, 3, 0, 0], [2, 4, 5, 7, 8, 3]])
    mask = (ids != 0).astype(np.int64)
    batched = bert.encode_numpy(ids, mask, np.zeros_like(ids))
    np.testing.assert_allclose(batched[0, :4], alone[0], atol=1e-5)


def ragged_batch(vocab: int, rows: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token ids, a 1/0 mask with every row but the first padded by a different amount, and token types."""
    rng = np.random.default_rng(rows * width)
    ids = rng.integers(4, vocab, size=(rows, width)).astype(np.int64)
    mask = np.ones_like(ids)
    for row in range(1, rows):
        mask[row, width - row % width:] = 0
    ids[mask == 0] = 0
    types = np.zeros_like(ids)
    types[:, width // 2:] = 1
    return ids, mask, types


def plain_path(bert: BertEncoder, ids, mask, types) -> np.ndarray:
    """The forward through the differentiable ops (grad mode on): no packed weights, no fused attention."""
    out = bert(core.from_numpy(ids), core.from_numpy(mask), core.from_numpy(types))
    assert out.requires_grad
    return out.detach().numpy()


def test_inference_fast_path_matches_the_plain_path_on_tiny_bert(tiny_folder):
    bert = BertEncoder.from_folder(tiny_folder)
    ids, mask, types = ragged_batch(16, 4, 9)
    fast = bert.encode_numpy(ids, mask, types)
    np.testing.assert_allclose(fast[mask == 1], plain_path(bert, ids, mask, types)[mask == 1], atol=1e-5)


def test_hooks_on_a_layers_attention_and_feed_forward_see_their_own_outputs(tiny_folder):
    bert = BertEncoder.from_folder(tiny_folder)
    ids, mask, types = ragged_batch(16, 3, 7)
    plain = bert.encode_numpy(ids, mask, types)
    layer, seen = bert.layers[0], {}
    originals = {"attn": layer.attn.forward, "ffn": layer.ffn.forward}
    layer.attn.register_forward_hook(lambda m, args, out: seen.__setitem__("attn", (args, out)))
    layer.ffn.register_forward_hook(lambda m, args, out: seen.__setitem__("ffn", (args, out)))
    hooked = bert.encode_numpy(ids, mask, types)
    np.testing.assert_allclose(hooked, plain, rtol=1e-5, atol=1e-5)
    for name, (args, out) in seen.items():  # the block alone, without the skip connection added in its epilogue
        with core.no_grad():
            alone = originals[name](*args)
        np.testing.assert_array_equal(out.numpy(), alone.numpy())


def test_parameter_names_are_the_importers(tiny_folder):
    from core.io import SafetensorsFile
    names = set(SafetensorsFile(tiny_folder / "model.safetensors").names())
    assert set(BertEncoder.from_folder(tiny_folder).state_dict()) == names


@pytest.fixture(scope="module")
def minilm(minilm_folder) -> SentenceEncoder:
    encoder = build(minilm_folder)
    assert isinstance(encoder, SentenceEncoder)
    return encoder


@pytest.mark.parametrize("batch_size", [32, 8, 1])
def test_every_reference_sentence_within_cosine_0_9999(minilm, minilm_reference, batch_size):
    ours = minilm.encode(minilm_reference["sentences"], batch_size=batch_size)
    ref = minilm_reference["embeddings"]
    assert ours.shape == (64, 384) and ours.dtype == np.float32
    cosine = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    worst = int(np.argmin(cosine))
    assert cosine.min() >= 0.9999, f"sentence {worst} {minilm_reference['sentences'][worst]!r}: {cosine[worst]}"


@pytest.mark.parametrize("rows, width", [(3, 11), (2, 45)], ids=["short-keys", "packed-attention"])
def test_inference_fast_path_matches_the_plain_path_on_minilm(minilm_folder, rows, width):
    bert = BertEncoder.from_folder(minilm_folder)
    ids, mask, types = ragged_batch(bert.config.vocab_size, rows, width)
    fast = bert.encode_numpy(ids, mask, types)
    np.testing.assert_allclose(fast[mask == 1], plain_path(bert, ids, mask, types)[mask == 1], atol=2e-5)


def test_empty_long_and_non_ascii_inputs(minilm, minilm_reference):
    sentences = ["", "日本語のテキストも含まれています。", "Emoji 🎉 and naïve café", "word " * 400]
    assert minilm.token_counts(sentences)[-1] == 256
    out = minilm.encode(sentences)
    assert out.shape == (4, 384) and np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    empty = minilm_reference["sentences"].index("")
    assert float(out[0] @ minilm_reference["embeddings"][empty]) >= 0.9999
