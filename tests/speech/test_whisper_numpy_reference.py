"""The numpy Whisper reference run through our decoding: it reproduces CTranslate2's greedy tokens and
faster-whisper's beam-5 timestamps on a few clips, which pins the importer, frontend and decoding rules
independently of core (a few clips only: numpy is slow)."""
from __future__ import annotations

import json

import pytest
from threadpoolctl import threadpool_limits

from tests.reference.whisper_numpy import NumpyWhisper
from tests.speech.whisper_runs import Runs

CLIPS = ("l01_01.wav", "l02_06.wav", "l11_09.wav")


@pytest.fixture(scope="module")
def tiny_runs(tiny_en_folder, speech_dev) -> Runs:
    config = json.loads((tiny_en_folder / "config.json").read_text())
    return Runs(NumpyWhisper(tiny_en_folder), tiny_en_folder, config, speech_dev["dir"], [])


def _ref(speech_dev, mode: str, file: str) -> dict:
    return next(c for c in speech_dev["reference"]["tiny.en"]["modes"][mode]["clips"] if c["file"] == file)


@pytest.mark.parametrize("file", CLIPS)
def test_numpy_reference_greedy_tokens_equal_ctranslate2(tiny_runs, speech_dev, file):
    with threadpool_limits(1):
        assert tiny_runs.greedy_tokens(file) == _ref(speech_dev, "greedy_whisper_frontend", file)["tokens"]


def test_numpy_reference_beam5_with_timestamps_matches_faster_whisper_text(tiny_runs, speech_dev):
    file = CLIPS[0]
    with threadpool_limits(1):
        result = tiny_runs.transcription(file, 5, without_timestamps=False)
    ref = _ref(speech_dev, "beam5_ts", file)
    assert result.text == ref["hyp"]
    assert len(result.segments) == 1 and result.segments[0].start == 0.0
    assert result.segments[0].tokens[0] == tiny_runs.tok.timestamp_begin
    duration = next(i for i in speech_dev["manifest"]["items"] if i["file"] == file)["duration_s"]
    assert 1.5 <= result.segments[0].end <= duration
