"""Whisper's log-mel frontend in numpy.

The constants are those of openai/whisper `audio.py`: 16 kHz audio, a 400-sample FFT (25 ms) with a periodic
Hann window, hop 160 (10 ms), 80 mel bins with librosa's Slaney filters (computed here from their
definition), log10 of the power clamped at 1e-10, floored at the maximum minus 8 (80 dB), then (x + 4) / 4.
As Whisper does, the audio (not the features) is zero-padded: a window is 30 s of samples, 3000 frames.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
CHUNK_LENGTH = 30  # seconds per window
N_SAMPLES = CHUNK_LENGTH * SAMPLE_RATE  # 480000
N_FRAMES = N_SAMPLES // HOP_LENGTH  # 3000 mel frames per window
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH  # 100
_FRAMES_PER_BLOCK = 1024  # frames per FFT batch in power_spectrogram


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above (27 mels per factor 6.4)."""
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    log_part = min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep
    return np.where(f >= min_log_hz, log_part, f / f_sp)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=4)
def mel_filters(n_mels: int = 80, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32 triangular filters on the Slaney scale with Slaney (area) norm.

    >>> mel_filters().shape
    (80, 201)
    """
    fft_freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    mel_points = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), n_mels + 2))
    widths = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (mel_points[2:] - mel_points[:-2]))[:, None]  # each filter has the same area
    return weights.astype(np.float32)


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    n = np.arange(N_FFT)
    return 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)  # periodic, as torch.hann_window


def power_spectrogram(audio: np.ndarray) -> np.ndarray:
    """|STFT|^2, (n_fft // 2 + 1, len(audio) // hop): centred frames with reflect padding, last frame dropped."""
    audio = np.asarray(audio)
    if audio.dtype != np.float32:  # float32 samples are widened exactly, block by block, by the window product
        audio = audio.astype(np.float64)
    if audio.ndim != 1:
        raise ValueError(f"power_spectrogram: expected mono audio of shape (samples,), got {audio.shape}")
    half = N_FFT // 2
    if len(audio) <= half:
        raise ValueError(f"power_spectrogram: {len(audio)} samples are too few (need more than {half})")
    padded = np.pad(audio, half, mode="reflect")
    n_frames = len(audio) // HOP_LENGTH  # 1 + len // hop frames, of which Whisper drops the last
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH][:n_frames]
    power = np.empty((n_frames, N_FFT // 2 + 1))
    # a block of frames at a time: the windowed frames and their complex spectrum of a long recording would
    # otherwise take several times the memory of the result
    for start in range(0, n_frames, _FRAMES_PER_BLOCK):
        block = slice(start, start + _FRAMES_PER_BLOCK)
        spectrum = np.fft.rfft(frames[block] * _hann(), axis=-1)
        np.square(spectrum.real, out=power[block])
        power[block] += np.square(spectrum.imag)
    return power.T


def log_mel_spectrogram(audio: np.ndarray, n_mels: int = 80, padding: int = 0) -> np.ndarray:
    """(n_mels, frames) float32 log-mel features of 16 kHz mono audio, with `padding` zero samples appended.

    >>> log_mel_spectrogram(np.zeros(16000, np.float32), padding=N_SAMPLES).shape
    (80, 3100)
    """
    audio = np.asarray(audio, dtype=np.float32)
    if padding:
        audio = np.concatenate([audio, np.zeros(padding, dtype=np.float32)])
    log_spec = mel_filters(n_mels).astype(np.float64) @ power_spectrogram(audio)
    # in place: a long recording's features are tens of megabytes in float64
    np.log10(np.maximum(log_spec, 1e-10, out=log_spec), out=log_spec)
    np.maximum(log_spec, log_spec.max() - 8.0, out=log_spec)
    log_spec += 4.0
    log_spec /= 4.0
    return log_spec.astype(np.float32)


def pad_or_trim(mel: np.ndarray, frames: int = N_FRAMES) -> np.ndarray:
    """mel cut or zero-padded on the time axis to exactly `frames` columns."""
    if mel.shape[-1] > frames:
        return mel[..., :frames]
    if mel.shape[-1] < frames:
        pad = [(0, 0)] * (mel.ndim - 1) + [(0, frames - mel.shape[-1])]
        return np.pad(mel, pad)
    return mel
