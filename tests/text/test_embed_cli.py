"""`zoohub embed REF "s1" ...`: one sentence prints its vector, two or more their cosine matrix."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from tokenizers import Tokenizer

import hub
from hub.commands import embed
from tests.reference.bert_numpy import BertNumpy
from zoo.text import SentenceEncoder


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="zoohub")
    embed.register(parser.add_subparsers())
    args = parser.parse_args(["embed", *argv])
    return args.run(args)


@pytest.fixture(scope="module")
def numpy_minilm(minilm_folder) -> SentenceEncoder:
    forward = BertNumpy(minilm_folder)
    return SentenceEncoder(forward, Tokenizer.from_file(str(minilm_folder / "tokenizer.json")), forward.config)


@pytest.fixture
def loaded(monkeypatch, numpy_minilm):
    refs = []

    def load(ref, **kwargs):
        refs.append(ref)
        return numpy_minilm
    monkeypatch.setattr(hub, "load", load)
    return refs


def test_one_sentence_prints_its_vector(loaded, numpy_minilm, capsys):
    assert cli("text/minilm-l6", "A cat sat on the mat.") == 0
    printed = np.array(capsys.readouterr().out.split(), dtype=np.float32)
    assert loaded == ["text/minilm-l6"] and printed.shape == (384,)
    np.testing.assert_allclose(printed, numpy_minilm.encode(["A cat sat on the mat."])[0], atol=1e-6)


def test_several_sentences_print_the_cosine_matrix(loaded, numpy_minilm, capsys):
    sentences = ["A cat sat on the mat.", "A kitten rested on the rug.", "Stock markets fell sharply today."]
    assert cli("text/minilm-l6", *sentences) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[1].split()[0] == "1"
    matrix = np.array([line.split()[-3:] for line in lines[1:]], dtype=np.float64)
    vectors = numpy_minilm.encode(sentences)
    np.testing.assert_allclose(matrix, vectors @ vectors.T, atol=1e-4)
    assert matrix[0, 1] > matrix[0, 2]  # the paraphrase is closer than the unrelated sentence
    np.testing.assert_allclose(np.diag(matrix), 1.0, atol=1e-4)


def test_json_output(loaded, capsys):
    assert cli("text/minilm-l6", "one", "two", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["sentences"] == ["one", "two"] and np.array(doc["cosine"]).shape == (2, 2)
    assert cli("text/minilm-l6", "one", "two", "--vectors", "--json") == 0
    assert np.array(json.loads(capsys.readouterr().out)["vectors"]).shape == (2, 384)


def test_a_model_without_encode_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.setattr(hub, "load", lambda ref, **kwargs: object())
    assert cli("speech/base", "hello") == 1
    assert capsys.readouterr().err.strip() == ("zoohub embed: error: speech/base is not a text embedding model "
                                               "(it has no encode())")


def test_cosine_matrix_of_zero_rows_is_zero():
    m = embed.cosine_matrix(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(m, [[1.0, 0.0], [0.0, 0.0]])
