"""The numpy BERT reference itself agrees with transformers' BertModel (tiny random model, padded batch)."""
from __future__ import annotations

import json

import numpy as np

from tests.reference.bert_numpy import BertNumpy, gelu, layer_norm
from tests.text.tiny_bert_folder import TINY_BERT, make_tiny_bert_folder
from zoo.importers.hf_folder import import_hf_folder


def test_matches_transformers_bert_on_a_padded_row(tmp_path):
    dest = tmp_path / "ours"
    import_hf_folder(make_tiny_bert_folder(tmp_path / "hf", weights="bin"), dest)
    ref = json.loads((TINY_BERT / "reference_output.json").read_text())
    ids = np.array(ref["input_ids"], dtype=np.int64)
    mask = np.array(ref["attention_mask"], dtype=np.int64)
    out = BertNumpy(dest)(ids, mask, np.zeros_like(ids))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.array(ref["last_hidden_state"], dtype=np.float32), atol=2e-5, rtol=1e-5)


def test_gelu_is_the_erf_form():
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0], dtype=np.float32)
    # x * Phi(x) with Phi from the standard normal table
    expected = x * np.array([0.0013499, 0.1586553, 0.5, 0.6914625, 0.9772499], dtype=np.float32)
    np.testing.assert_allclose(gelu(x), expected, atol=1e-6)


def test_layer_norm_uses_biased_variance():
    x = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    y = layer_norm(x, np.ones(4, np.float32), np.zeros(4, np.float32), 0.0)
    np.testing.assert_allclose(y, (x - 2.5) / np.sqrt(1.25), atol=1e-6)
