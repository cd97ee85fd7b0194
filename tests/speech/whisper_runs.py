"""Shared runs of the speech tests: decode the dev clips once per (model, network, mode) and keep the results,
so token-parity, WER and segment tests read the same outputs instead of decoding again."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from zoo.speech.audio import load_audio
from zoo.speech.decoding import DecodingOptions, decode_window
from zoo.speech.mel import N_SAMPLES, log_mel_spectrogram, pad_or_trim
from zoo.speech.tokenizer import WhisperTokenizer
from zoo.speech.transcribe import TranscribeOptions, Transcription, transcribe


class CachedEncoder:
    """A network whose encoder outputs are remembered by the hash of their input window."""

    def __init__(self, network: Any) -> None:
        self.network, self.features = network, {}

    def encode(self, mel: np.ndarray) -> Any:
        key = hashlib.sha1(np.ascontiguousarray(mel).tobytes()).hexdigest()
        if key not in self.features:
            self.features[key] = self.network.encode(mel)
        return self.features[key]

    def session(self, features: Any, batch: int) -> Any:
        return self.network.session(features, batch)


class Runs:
    """Results of one network on the dev clips, computed on first request."""

    def __init__(self, network: Any, folder: Path, config: dict, dev: Path, items: list[dict]) -> None:
        self.network = CachedEncoder(network)
        self.tok = WhisperTokenizer.from_folder(folder)
        self.config, self.dev, self.items = config, dev, items
        self.cache: dict[tuple, Any] = {}

    def greedy_tokens(self, file: str) -> list[int]:
        """Greedy, no timestamps, language en, on the window of the audio padded to 30 s (Whisper's frontend)."""
        key = ("greedy", file)
        if key not in self.cache:
            audio = load_audio(self.dev / file)
            mel = pad_or_trim(log_mel_spectrogram(audio, self.config["n_mels"], padding=N_SAMPLES))
            opts = DecodingOptions(language="en", without_timestamps=True)
            self.cache[key] = decode_window(self.network, self.network.encode(mel), self.tok, self.config, opts).tokens
        return self.cache[key]

    def transcription(self, file: str, beam_size: int, without_timestamps: bool) -> Transcription:
        """transcribe() as the reference ran it: language en, temperature 0 only, no previous-text prompt."""
        key = ("transcribe", file, beam_size, without_timestamps)
        if key not in self.cache:
            opts = TranscribeOptions(language="en", beam_size=beam_size, without_timestamps=without_timestamps,
                                     temperatures=(0.0,), condition_on_previous_text=False)
            self.cache[key] = transcribe(self.network, self.tok, self.config, self.dev / file, opts)
        return self.cache[key]
