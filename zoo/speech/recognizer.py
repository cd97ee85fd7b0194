"""The object `hub.load("speech/...")` returns: network + tokenizer + config, with `.transcribe`."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from zoo.architectures import register_architecture
from zoo.speech.decoding import Network
from zoo.speech.tokenizer import WhisperTokenizer
from zoo.speech.transcribe import TranscribeOptions, Transcription, transcribe


class SpeechRecognizer:
    """Whisper speech recognition on core.

    >>> asr = hub.load("speech/base")
    >>> asr.transcribe("meeting.wav", beam_size=5).text
    ' Glue the sheet to the dark blue background.'
    """

    def __init__(self, network: Network, tokenizer: WhisperTokenizer, config: dict) -> None:
        self.network, self.tokenizer, self.config = network, tokenizer, config

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> SpeechRecognizer:
        from zoo.speech.model import Whisper
        folder = Path(folder)
        return cls(Whisper.from_folder(folder), WhisperTokenizer.from_folder(folder),
                   json.loads((folder / "config.json").read_text()))

    def transcribe(self, audio: str | os.PathLike | np.ndarray, language: str | None = None, beam_size: int = 5,
                   without_timestamps: bool = False, **options) -> Transcription:
        """Text, language and timed segments of a file (any format soundfile reads) or a 16 kHz array.

        beam_size 1 decodes greedily. Further TranscribeOptions (patience, length_penalty, temperatures,
        compression_ratio_threshold, logprob_threshold, no_speech_threshold, condition_on_previous_text, task)
        pass through as keywords.
        """
        opts = TranscribeOptions(language=language, beam_size=beam_size, without_timestamps=without_timestamps,
                                 **options)
        return transcribe(self.network, self.tokenizer, self.config, audio, opts)


@register_architecture("whisper")
def build(folder: Path, config: dict) -> SpeechRecognizer:
    """The hub's builder for config.json {"architecture": "whisper"}: the model in eval mode."""
    return SpeechRecognizer.from_folder(folder)
