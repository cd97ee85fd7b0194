"""The log-mel frontend against a reference written here from the definitions (explicit DFT sums, filters
built bin by bin), and Whisper's conventions: 3000 frames per 30 s, audio padded rather than features."""
from __future__ import annotations

import math

import numpy as np
import pytest

from zoo.speech.audio import load_audio
from zoo.speech.mel import N_FRAMES, N_SAMPLES, log_mel_spectrogram, mel_filters, pad_or_trim, power_spectrogram


def slaney_mel(hz: float) -> float:
    return hz * 3 / 200 if hz < 1000 else 15 + math.log(hz / 1000) * 27 / math.log(6.4)


def slaney_hz(mel: float) -> float:
    return mel * 200 / 3 if mel < 15 else 1000 * math.exp((mel - 15) * math.log(6.4) / 27)


def reference_filters(n_mels: int = 80, sr: int = 16000, n_fft: int = 400) -> np.ndarray:
    top = slaney_mel(sr / 2)
    edges = [slaney_hz(top * i / (n_mels + 1)) for i in range(n_mels + 2)]
    out = np.zeros((n_mels, n_fft // 2 + 1))
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        for k in range(n_fft // 2 + 1):
            f = k * sr / n_fft
            if lo < f < hi:
                out[m, k] = (f - lo) / (mid - lo) if f <= mid else (hi - f) / (hi - mid)
        out[m] *= 2 / (hi - lo)
    return out


def reference_log_mel(audio: np.ndarray) -> np.ndarray:
    n_fft, hop = 400, 160
    x = np.asarray(audio, dtype=np.float64)
    padded = np.concatenate([x[1:201][::-1], x, x[-201:-1][::-1]])  # reflect 200 samples each side
    n_frames = len(x) // hop
    n = np.arange(n_fft)
    window = 0.5 * (1 - np.cos(2 * np.pi * n / n_fft))
    k = np.arange(n_fft // 2 + 1)[:, None]
    cos, sin = np.cos(2 * np.pi * k * n / n_fft), np.sin(2 * np.pi * k * n / n_fft)
    frames = np.stack([padded[i * hop:i * hop + n_fft] * window for i in range(n_frames)], axis=1)
    power = (cos @ frames) ** 2 + (sin @ frames) ** 2
    logmel = np.log10(np.clip(reference_filters() @ power, 1e-10, None))
    logmel = np.maximum(logmel, logmel.max() - 8)
    return (logmel + 4) / 4


def test_mel_filters_match_the_slaney_definition():
    ours = mel_filters()
    assert ours.shape == (80, 201) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference_filters(), rtol=1e-5, atol=1e-8)


def test_log_mel_matches_the_reference_on_speech():
    rng = np.random.default_rng(1)
    t = np.arange(16000 * 2) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(len(t)))
    ours = log_mel_spectrogram(audio.astype(np.float32))
    ref = reference_log_mel(audio.astype(np.float32))
    assert ours.shape == ref.shape == (80, 200)
    np.testing.assert_allclose(ours, ref, atol=2e-4)


def test_power_spectrogram_in_blocks_is_bitwise_one_transform_of_all_frames():
    audio = np.random.default_rng(2).standard_normal(160 * 2500 + 37).astype(np.float32)  # 2500 frames, 3 blocks
    x = np.pad(audio.astype(np.float64), 200, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, 400)[::160][:2500]
    spectrum = np.fft.rfft(frames * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)), axis=-1)
    expected = (spectrum.real ** 2 + spectrum.imag ** 2).T
    np.testing.assert_array_equal(power_spectrogram(audio), expected)
    np.testing.assert_array_equal(power_spectrogram(audio.astype(np.float64)), expected)


def test_log_mel_of_a_dev_clip_padded_as_whisper_pads_audio(speech_dev):
    audio = load_audio(speech_dev["dir"] / "l01_02.wav")
    ours = pad_or_trim(log_mel_spectrogram(audio, padding=N_SAMPLES))
    assert ours.shape == (80, N_FRAMES)
    padded = np.concatenate([audio, np.zeros(N_SAMPLES - len(audio), np.float32)])
    ref = reference_log_mel(padded)
    assert ref.shape == (80, N_FRAMES)
    np.testing.assert_allclose(ours, ref, atol=2e-4)
    assert ours.max() == pytest.approx(ref.max(), abs=1e-4) and ours.min() == pytest.approx(ours.max() - 2.0, abs=1e-5)


def test_stereo_and_resampled_input_give_the_same_features(speech_dev, tmp_path):
    import soundfile
    import soxr
    mono = load_audio(speech_dev["dir"] / "l01_03.wav")
    stereo44 = soxr.resample(mono, 16000, 44100)
    path = tmp_path / "stereo.flac"
    soundfile.write(path, np.stack([stereo44, stereo44], axis=1), 44100)
    back = load_audio(path)
    assert abs(len(back) - len(mono)) <= 2
    n = min(len(back), len(mono))
    assert np.corrcoef(back[:n], mono[:n])[0, 1] > 0.99
    ints = (mono * 32767).astype(np.int16)
    np.testing.assert_allclose(load_audio(ints), mono, atol=1e-4)


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.wav", "missing.wav: no such file"),
    (lambda tmp: tmp, "is a folder, not an audio file"),
])
def test_audio_paths_that_are_not_files_say_so(tmp_path, make, message):
    with pytest.raises(ValueError, match=message):
        load_audio(make(tmp_path))
