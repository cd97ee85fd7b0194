"""Audio in: any file soundfile reads (wav, flac, ogg, mp3, ...) or a numpy array, as 16 kHz mono float32."""
from __future__ import annotations

import os

import numpy as np

from zoo.speech.mel import SAMPLE_RATE


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Mix (frames, channels) down to (frames,) by averaging the channels."""
    samples = np.asarray(samples)
    if samples.ndim == 1:
        return samples
    if samples.ndim != 2:
        raise ValueError(f"audio: expected (samples,) or (samples, channels), got shape {samples.shape}")
    return samples.mean(axis=1)


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample mono float32 audio from rate to target Hz with soxr (high quality); a no-op at the same rate."""
    if rate == target:
        return samples
    import soxr
    return soxr.resample(samples, rate, target, quality="HQ").astype(np.float32)


def load_audio(source: str | os.PathLike | np.ndarray, sample_rate: int | None = None) -> np.ndarray:
    """16 kHz mono float32 samples in [-1, 1] from a file path or an array.

    An array is taken as float samples at `sample_rate` (16000 when not given), (samples,) or
    (samples, channels); integer arrays are scaled from their type's range.

    >>> load_audio("meeting.flac").dtype
    dtype('float32')
    """
    if isinstance(source, np.ndarray):
        samples, rate = source, sample_rate or SAMPLE_RATE
        if np.issubdtype(samples.dtype, np.integer):
            samples = samples.astype(np.float32) / np.float32(np.iinfo(samples.dtype).max + 1)
    else:
        import soundfile
        if not os.path.exists(source):
            raise ValueError(f"{source}: no such file")
        if os.path.isdir(source):
            raise ValueError(f"{source}: is a folder, not an audio file")
        try:
            samples, rate = soundfile.read(os.fspath(source), dtype="float32", always_2d=False)
        except (RuntimeError, soundfile.LibsndfileError) as exc:
            raise ValueError(f"{source}: cannot read audio ({exc})") from None
    samples = to_mono(np.asarray(samples, dtype=np.float32)).astype(np.float32)
    if samples.size == 0:
        raise ValueError(f"{'audio array' if isinstance(source, np.ndarray) else source}: no samples")
    return np.ascontiguousarray(resample(samples, int(rate)))
