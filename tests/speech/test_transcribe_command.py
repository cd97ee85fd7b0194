"""`zoohub transcribe`: arguments, output formats and one-line errors, over a stand-in for hub.load."""
from __future__ import annotations

import argparse
import json
import sys
import types

import pytest

from hub.commands import transcribe as command
from hub.errors import UsageError
from zoo.speech.transcribe import Segment, Transcription


class FakeASR:
    def __init__(self):
        self.calls = []

    def transcribe(self, path, language=None, beam_size=5, without_timestamps=False):
        self.calls.append((path, language, beam_size, without_timestamps))
        if path.endswith(".txt"):
            raise ValueError(f"{path}: cannot read audio (Format not recognised)")
        seg = Segment(0.0, 1.5, " Hello there.", [50364, 2425, 456, 13, 50439])
        return Transcription(" Hello there.".strip(), "en", [seg], 1.6)


@pytest.fixture
def cli(monkeypatch):
    asr = FakeASR()
    fake_hub = types.SimpleNamespace(load=lambda ref: asr)
    monkeypatch.setitem(sys.modules, "hub", fake_hub)
    parser = argparse.ArgumentParser(prog="zoohub")
    command.register(parser.add_subparsers())

    def run(*argv):
        args = parser.parse_args(list(argv))
        return args.run(args)
    return run, asr


def test_prints_timed_segments_and_passes_options(cli, capsys):
    run, asr = cli
    assert run("transcribe", "speech/base", "a.wav", "--beam-size", "2", "--language", "en") == 0
    assert asr.calls == [("a.wav", "en", 2, False)]
    assert capsys.readouterr().out == "[   0.00 ->    1.50] Hello there.\n"


def test_json_output_has_text_language_and_segments(cli, capsys):
    run, _ = cli
    assert run("transcribe", "speech/base", "a.wav", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["text"] == "Hello there." and out["language"] == "en"
    assert out["segments"][0]["start"] == 0.0 and out["segments"][0]["tokens"][0] == 50364


def test_unreadable_audio_is_one_line_error(cli, capsys):
    run, _ = cli
    assert run("transcribe", "speech/base", "notes.txt") == 1
    err = capsys.readouterr().err
    assert err.startswith("zoohub: error: notes.txt: cannot read audio") and err.count("\n") == 1


def test_bad_beam_size_is_refused(cli):
    run, asr = cli
    with pytest.raises(UsageError, match="--beam-size must be at least 1, got 0"):
        run("transcribe", "speech/base", "a.wav", "--beam-size", "0")
    assert asr.calls == []
