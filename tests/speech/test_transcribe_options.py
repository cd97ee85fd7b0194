"""Transcription options a caller of the Python API can get wrong: refused before any audio is decoded."""
from __future__ import annotations

import numpy as np
import pytest

from zoo.architectures import build
from zoo.speech.transcribe import TranscribeOptions


@pytest.mark.parametrize("options, message", [
    ({"beam_size": 0}, "beam_size must be a whole number >= 1, got 0"),
    ({"beam_size": 2.5}, "beam_size must be a whole number >= 1, got 2.5"),
    ({"best_of": -1}, "best_of must be a whole number >= 1"),
    ({"task": "summarise"}, "task must be 'transcribe' or 'translate'"),
    ({"temperatures": ()}, "temperatures must name at least one temperature"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        TranscribeOptions(**options)


@pytest.fixture(scope="module")
def tiny_en(tiny_en_folder):
    return build(tiny_en_folder)


def test_an_english_only_model_refuses_another_language(tiny_en):
    silence = np.zeros(1600, np.float32)
    with pytest.raises(ValueError, match="English-only: it cannot transcribe language 'de'"):
        tiny_en.transcribe(silence, language="de")
    assert tiny_en.transcribe(silence, language="en", beam_size=1).language == "en"


def test_a_bad_beam_size_is_refused_by_the_model(tiny_en):
    with pytest.raises(ValueError, match="beam_size must be a whole number >= 1"):
        tiny_en.transcribe(np.zeros(1600, np.float32), beam_size=0)
