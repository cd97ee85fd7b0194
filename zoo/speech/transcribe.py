"""Transcribing audio of any length: 30 s windows over the log-mel of the whole recording, each decoded with
temperature fallback, the next window starting at the last timestamp the model emitted (Whisper's
`transcribe.py` behaviour: seek by the last complete segment, skip windows judged silent).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from zoo.speech.audio import load_audio
from zoo.speech.decoding import DecodingOptions, DecodingResult, Network, decode_window
from zoo.speech.mel import FRAMES_PER_SECOND, HOP_LENGTH, N_FRAMES, N_SAMPLES, SAMPLE_RATE, log_mel_spectrogram
from zoo.speech.mel import pad_or_trim
from zoo.speech.tokenizer import TIME_PRECISION, WhisperTokenizer

DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
INPUT_STRIDE = 2  # mel frames per encoder position (conv2 has stride 2): one timestamp step is 2 frames


@dataclass
class Segment:
    start: float  # seconds from the start of the audio
    end: float
    text: str
    tokens: list[int]
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    temperature: float = 0.0
    compression_ratio: float = 0.0


@dataclass
class Transcription:
    """What `transcribe` returns: the whole text, the language and timed segments."""

    text: str
    language: str
    segments: list[Segment] = field(default_factory=list)
    duration: float = 0.0

    def to_dict(self) -> dict:
        return {"text": self.text, "language": self.language, "duration": self.duration,
                "segments": [asdict(s) for s in self.segments]}


@dataclass
class TranscribeOptions:
    language: str | None = None
    task: str = "transcribe"
    beam_size: int = 5
    best_of: int = 5
    patience: float | None = None
    length_penalty: float | None = None
    without_timestamps: bool = False
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    compression_ratio_threshold: float | None = 2.4
    logprob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    condition_on_previous_text: bool = False

    def __post_init__(self) -> None:
        for name in ("beam_size", "best_of"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if self.task not in ("transcribe", "translate"):
            raise ValueError(f"task must be 'transcribe' or 'translate', got {self.task!r}")
        if not self.temperatures:
            raise ValueError("temperatures must name at least one temperature (0 decodes greedily or by beam)")


def decode_with_fallback(network: Network, features: Any, tok: WhisperTokenizer, config: dict,
                         opts: TranscribeOptions, language: str | None, prompt: list[int] | None) -> DecodingResult:
    """Decode at the first temperature; retry hotter while the output looks like a loop or is improbable."""
    result = None
    for temperature in opts.temperatures:
        options = DecodingOptions(
            task=opts.task, language=language, temperature=temperature,
            beam_size=opts.beam_size if temperature == 0 else None,
            best_of=opts.best_of if temperature > 0 else None,
            patience=opts.patience, length_penalty=opts.length_penalty, prompt=prompt,
            without_timestamps=opts.without_timestamps)
        result = decode_window(network, features, tok, config, options)
        needs_fallback = False
        if opts.compression_ratio_threshold is not None and result.compression_ratio > opts.compression_ratio_threshold:
            needs_fallback = True
        if opts.logprob_threshold is not None and result.avg_logprob < opts.logprob_threshold:
            needs_fallback = True
        if (opts.no_speech_threshold is not None and result.no_speech_prob > opts.no_speech_threshold
                and opts.logprob_threshold is not None and result.avg_logprob < opts.logprob_threshold):
            needs_fallback = False  # silence: retrying would only hallucinate
        if not needs_fallback:
            break
    assert result is not None
    return result


def transcribe(network: Network, tok: WhisperTokenizer, config: dict, audio: str | os.PathLike | np.ndarray,
               options: TranscribeOptions | None = None) -> Transcription:
    """Transcribe a file or a 16 kHz array with a network (see decoding.Network) and its tokenizer."""
    opts = options or TranscribeOptions()
    samples = load_audio(audio)
    mel = log_mel_spectrogram(samples, config["n_mels"], padding=N_SAMPLES)
    content_frames = mel.shape[-1] - N_FRAMES
    duration = len(samples) / SAMPLE_RATE
    language = opts.language
    if language is not None and tok.multilingual:
        language = tok.language_of(tok.language_token(language))
    elif language is not None and language.lower() not in ("en", "english"):
        raise ValueError(f"this model is English-only: it cannot transcribe language {language!r} (leave the language "
                         "out, or use a multilingual model such as speech/base)")
    segments: list[Segment] = []
    all_tokens: list[int] = []
    prompt_reset = 0
    seek = 0
    while seek < content_frames:
        time_offset = seek * HOP_LENGTH / SAMPLE_RATE
        segment_frames = min(N_FRAMES, content_frames - seek)
        features = network.encode(pad_or_trim(mel[:, seek:seek + N_FRAMES]))
        prompt = all_tokens[prompt_reset:] if opts.condition_on_previous_text else None
        result = decode_with_fallback(network, features, tok, config, opts, language, prompt)
        language = result.language  # detected on the first window when not given, then kept
        if (opts.no_speech_threshold is not None and result.no_speech_prob > opts.no_speech_threshold
                and not (opts.logprob_threshold is not None and result.avg_logprob > opts.logprob_threshold)):
            seek += segment_frames  # a silent window
            continue
        new_segments, advance = _split_segments(result, tok, time_offset, segment_frames)
        segments.extend(s for s in new_segments if s.text.strip() or s.tokens)
        all_tokens.extend(result.tokens)
        if result.temperature > 0.5:
            prompt_reset = len(all_tokens)  # a hot decode is a poor prompt for the next window
        seek += advance
    for s in segments:
        s.end = min(s.end, duration)
        s.start = min(s.start, s.end)
    text = "".join(s.text for s in segments).strip()
    return Transcription(text=text, language=language or "en", segments=segments, duration=duration)


def _split_segments(result: DecodingResult, tok: WhisperTokenizer, time_offset: float,
                    segment_frames: int) -> tuple[list[Segment], int]:
    """Segments of one window's tokens (timestamp pairs delimit them) and how many frames to seek ahead."""
    tokens = np.array(result.tokens, dtype=np.int64)
    is_ts = tokens >= tok.timestamp_begin
    single_ending = len(tokens) >= 2 and not is_ts[-2] and is_ts[-1]
    consecutive = list(np.nonzero(is_ts[:-1] & is_ts[1:])[0] + 1)

    def make(piece: np.ndarray, start: float, end: float) -> Segment:
        text_ids = [int(t) for t in piece if t < tok.eot]
        return Segment(start=round(start, 3), end=round(end, 3), text=tok.decode(text_ids),
                       tokens=[int(t) for t in piece], avg_logprob=result.avg_logprob,
                       no_speech_prob=result.no_speech_prob, temperature=result.temperature,
                       compression_ratio=result.compression_ratio)

    segments = []
    if consecutive:
        slices = consecutive + ([len(tokens)] if single_ending else [])
        last = 0
        for current in slices:
            piece = tokens[last:current]
            start = time_offset + float(piece[0] - tok.timestamp_begin) * TIME_PRECISION
            end = time_offset + float(piece[-1] - tok.timestamp_begin) * TIME_PRECISION
            segments.append(make(piece, start, end))
            last = current
        if single_ending:
            advance = segment_frames
        else:
            advance = int(tokens[last - 1] - tok.timestamp_begin) * INPUT_STRIDE
    else:
        seconds = segment_frames / FRAMES_PER_SECOND
        stamps = tokens[is_ts]
        if len(stamps) and stamps[-1] != tok.timestamp_begin:
            seconds = float(stamps[-1] - tok.timestamp_begin) * TIME_PRECISION
        segments.append(make(tokens, time_offset, time_offset + seconds))
        advance = segment_frames
    return segments, max(advance, 1)
