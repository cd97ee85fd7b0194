"""Parity with the reference engine on data/speech-dev, for speech/base and speech/tiny.en on core:
greedy tokens identical to CTranslate2 on Whisper's own features, WER within the reference's plus 1 point
(greedy, beam 5), and the 84 s long-form clip in monotonic, in-bounds segments within 2 points."""
from __future__ import annotations

import json

import pytest

from tests.speech.whisper_runs import Runs
from zoo.speech.wer import wer

MODELS = ("base", "tiny.en")


@pytest.fixture(scope="session")
def runs(request, speech_dev) -> dict[str, Runs]:
    pytest.importorskip("core.nn", reason="core.nn (branch nn) is not merged yet")
    from zoo.speech.model import Whisper
    out = {}
    for model in MODELS:
        folder = request.getfixturevalue("base_folder" if model == "base" else "tiny_en_folder")
        config = json.loads((folder / "config.json").read_text())
        out[model] = Runs(Whisper.from_folder(folder), folder, config, speech_dev["dir"],
                          speech_dev["manifest"]["items"])
    return out


def _clips(speech_dev: dict, model: str, mode: str) -> list[dict]:
    return [c for c in speech_dev["reference"][model]["modes"][mode]["clips"] if c["file"] != "longform.wav"]


@pytest.mark.parametrize("model", MODELS)
def test_greedy_tokens_match_the_reference_on_29_of_30_clips(runs, speech_dev, model):
    clips = _clips(speech_dev, model, "greedy_whisper_frontend")
    assert len(clips) == 30
    mismatched = [c["file"] for c in clips if runs[model].greedy_tokens(c["file"]) != c["tokens"]]
    assert len(mismatched) <= 1, f"{model}: tokens differ on {mismatched}"


@pytest.mark.parametrize("model", MODELS)
def test_greedy_wer_within_one_point_of_the_reference(runs, speech_dev, model):
    clips = _clips(speech_dev, model, "greedy")
    ours = [runs[model].tok.decode(runs[model].greedy_tokens(c["file"])) for c in clips]
    measured = wer([c["ref"] for c in clips], ours)
    assert measured <= speech_dev["reference"][model]["modes"]["greedy"]["wer_clips"] + 0.01, measured


@pytest.mark.parametrize("model", MODELS)
def test_beam5_wer_within_one_point_of_the_reference(runs, speech_dev, model):
    clips = _clips(speech_dev, model, "beam5_ts")
    ours = [runs[model].transcription(c["file"], 5, without_timestamps=False).text for c in clips]
    measured = wer([c["ref"] for c in clips], ours)
    assert measured <= speech_dev["reference"][model]["modes"]["beam5_ts"]["wer_clips"] + 0.01, measured


def test_longform_base_beam5_segments_are_monotonic_inside_the_audio_and_wer_within_two_points(runs, speech_dev):
    longform = speech_dev["manifest"]["longform"]
    result = runs["base"].transcription(longform["file"], 5, without_timestamps=False)
    assert len(result.segments) >= 10  # 30 sentences over 84 s: timestamps split them
    previous_end = 0.0
    for seg in result.segments:
        assert previous_end - 1e-6 <= seg.start <= seg.end <= longform["duration_s"] + 1e-6, seg
        previous_end = seg.end
    assert result.segments[-1].end > longform["duration_s"] - 10  # the windows reached the end
    measured = wer(longform["text"], result.text)
    assert measured <= speech_dev["reference"]["base"]["modes"]["beam5_ts"]["wer_longform"] + 0.02, measured
