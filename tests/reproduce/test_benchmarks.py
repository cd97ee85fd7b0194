"""The benchmarks themselves: every catalog benchmark exists, data hashes, minilm-ref-64 and speech-dev runners."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from tokenizers import Tokenizer

from tests.reference.bert_numpy import BertNumpy
from zoo.benchmarks import get, load_benchmarks
from zoo.benchmarks.benchmark import find_dataset
from zoo.benchmarks.speech import read_audio
from zoo.catalog import entries
from zoo.text import SentenceEncoder


def test_every_catalog_benchmark_and_runnable_claim_has_code():
    known = load_benchmarks()
    for name, entry in entries().items():
        assert set(entry.benchmarks) <= set(known), name
        for claim in entry.claims:
            if claim.runnable:
                assert claim.benchmark in known, (name, claim.benchmark)
                assert claim.metric in known[claim.benchmark].metric_names, (name, claim.metric)


def test_repo_copies_of_the_data_match_their_pinned_hashes():
    for name in ("minilm-ref-64", "speech-dev-greedy-wer"):
        bench = get(name)
        assert find_dataset(bench.dataset, bench.files).name == bench.dataset


def test_data_hash_is_stable_and_covers_every_file():
    bench = get("speech-dev-greedy-wer")
    assert len(bench.files) == 34 and len(bench.data_sha256) == 64
    assert bench.data_sha256 == get("speech-dev-beam5-wer").data_sha256


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match=r"unknown setting\(s\) batchsize \(known: batch_size\)"):
        get("minilm-ref-64").merged_settings({"batchsize": 4})


@pytest.fixture(scope="module")
def numpy_encoder(minilm_folder) -> SentenceEncoder:
    forward = BertNumpy(minilm_folder)
    return SentenceEncoder(forward, Tokenizer.from_file(str(minilm_folder / "tokenizer.json")), forward.config)


def test_minilm_benchmark_on_the_numpy_reference_reaches_0_9999(numpy_encoder):
    result = get("minilm-ref-64").run(numpy_encoder)
    assert result.values["min_cosine"] >= 0.9999 and result.values["mean_cosine"] >= result.values["min_cosine"]
    assert result.details["settings"] == {"batch_size": 8} and len(result.details["worst"]) == 3


def test_minilm_benchmark_sees_perturbed_vectors(numpy_encoder):
    class Noisy:
        def encode(self, sentences, batch_size):
            out = numpy_encoder.encode(sentences, batch_size=batch_size)
            out[5] += np.random.default_rng(0).normal(0, 0.05, out.shape[1]).astype(np.float32)
            return out

    result = get("minilm-ref-64").run(Noisy())
    assert result.values["min_cosine"] < 0.9 and result.details["worst"][0]["index"] == 5


class ScriptedRecognizer:
    """Returns a given text per clip file (found by the audio's samples) and records the options it got."""

    def __init__(self, data, texts):
        self.by_audio = {read_audio(data / f).tobytes(): t for f, t in texts.items()}
        self.options = []
        self.tokenizer = SimpleNamespace(eot=50257)

    def transcribe(self, audio, **options):
        self.options.append(options)
        text = self.by_audio[audio.tobytes()]
        return SimpleNamespace(text=text, segments=[SimpleNamespace(tokens=[1, 2, 50257])])


def test_speech_wer_uses_the_documented_normaliser(tmp_path):
    bench = get("speech-dev-greedy-wer")
    data = bench.data_folder()
    items = json.loads((data / "manifest.json").read_text())["items"]
    # case, punctuation and hyphens do not count; one dropped word does
    texts = {i["file"]: i["text"].upper().replace(" ", "-", 1).rstrip(".") for i in items}
    first = items[0]["text"].split()
    texts[items[0]["file"]] = " ".join(first[1:])
    recognizer = ScriptedRecognizer(data, texts)
    result = bench.run(recognizer)
    total_words = sum(len(i["text"].split()) for i in items)
    assert result.values["wer"] == pytest.approx(1 / total_words)
    assert recognizer.options[0] == {"language": "en", "beam_size": 1, "without_timestamps": True,
                                     "temperatures": (0.0,), "condition_on_previous_text": False}
    assert result.details["clips_with_errors"][0]["file"] == items[0]["file"]
