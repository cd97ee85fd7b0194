"""Tiny real models for the app tests, published through hub.publish (importable by the app's subprocess too).

- `app-test-voice-activity` (task "speech"): finds the stretches of a clip whose frame energy passes a threshold
  read from its weights, and reports each as a segment with its times; its text names how many it heard.
- `app-test-char-embedding` (task "text"): counts the letters a-z of a sentence and multiplies by a (26, 8)
  matrix from its weights; similar spellings give similar vectors.
- `app-test-digit-templates` (task "vision"): nearest class mean of 8x8 digits (values 0..16), the ten means
  read from its weights; probabilities are a softmax of minus the squared distances. Shaped like DigitsCNN.
- Catalog entry `apptest/catalog-only`: a char-embedding model the registry does not hold until imported.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import hub
from core.io import SafetensorsFile, save_arrays
from zoo.architectures import ARCHITECTURES, register_architecture
from zoo.catalog import CATALOG, CatalogEntry, register

SPEECH_ARCHITECTURE = "app-test-voice-activity"
TEXT_ARCHITECTURE = "app-test-char-embedding"
VISION_ARCHITECTURE = "app-test-digit-templates"
CATALOG_ONLY = "apptest/catalog-only"
FRAME = 320  # 20 ms at 16 kHz


@dataclass
class Segment:
    start: float
    end: float
    text: str


@dataclass
class Transcription:
    text: str
    language: str
    segments: list[Segment] = field(default_factory=list)
    duration: float = 0.0


class VoiceActivity:
    """Energy-based voice activity detection, shaped like a speech recognizer (transcribe -> Transcription)."""

    def __init__(self, folder: Path, config: dict) -> None:
        self.threshold = float(SafetensorsFile(folder / "model.safetensors").array("threshold")[0])
        self.config = config

    def eval(self) -> "VoiceActivity":
        return self

    def transcribe(self, audio: str) -> Transcription:
        import soundfile
        samples, rate = soundfile.read(audio, dtype="float32", always_2d=True)
        mono = samples.mean(axis=1)
        frames = len(mono) // FRAME
        energy = np.sqrt((mono[: frames * FRAME].reshape(frames, FRAME) ** 2).mean(axis=1))
        active = energy > self.threshold
        segments, start = [], None
        for i, on in enumerate(np.append(active, False)):
            if on and start is None:
                start = i
            elif not on and start is not None:
                segments.append(Segment(start * FRAME / rate, i * FRAME / rate, f"voice {len(segments) + 1}"))
                start = None
        return Transcription(text=f"heard {len(segments)} stretches of voice", language="en", segments=segments,
                             duration=len(mono) / rate)


class CharEmbedding:
    """Letter counts times a matrix: a sentence encoder in miniature (encode -> (n, dim) numpy)."""

    def __init__(self, folder: Path, config: dict) -> None:
        self.matrix = SafetensorsFile(folder / "model.safetensors").array("matrix")

    def eval(self) -> "CharEmbedding":
        return self

    def encode(self, sentences: list[str]) -> np.ndarray:
        counts = np.zeros((len(sentences), 26), dtype=np.float32)
        for row, sentence in enumerate(sentences):
            for ch in sentence.lower():
                if "a" <= ch <= "z":
                    counts[row, ord(ch) - ord("a")] += 1
        return counts @ self.matrix


class DigitTemplates:
    """Nearest class mean, shaped like vision/digits-cnn (predict_proba, predict on (N, 8, 8) images 0..16)."""

    def __init__(self, folder: Path, config: dict) -> None:
        self.means = SafetensorsFile(folder / "model.safetensors").array("means").reshape(10, 64)
        self.temperature = float(config["temperature"])

    def eval(self) -> "DigitTemplates":
        return self

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        flat = np.asarray(images, dtype=np.float32).reshape(-1, 1, 64)
        scores = -((flat - self.means[None]) ** 2).sum(axis=-1) / self.temperature
        scores -= scores.max(axis=1, keepdims=True)
        return np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.predict_proba(images).argmax(axis=1)


def speech_folder(dest: Path, threshold: float = 0.01, card: str = "# voice activity\n") -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.json").write_text(json.dumps({"architecture": SPEECH_ARCHITECTURE, "frame": FRAME}))
    save_arrays({"threshold": ("F32", np.array([threshold], dtype=np.float32))}, dest / "model.safetensors")
    (dest / "README.md").write_text(card)
    return dest


def text_folder(dest: Path, seed: int = 0, dim: int = 8, card: str = "# char embedding\n") -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.json").write_text(json.dumps({"architecture": TEXT_ARCHITECTURE, "dim": dim}))
    matrix = np.random.default_rng(seed).standard_normal((26, dim)).astype(np.float32)
    save_arrays({"matrix": ("F32", matrix)}, dest / "model.safetensors")
    (dest / "README.md").write_text(card)
    return dest


def publish_speech(root: Path, name: str = "speech/vad", versions: int = 2) -> list:
    """`versions` versions of a voice-activity model (thresholds differ), oldest first."""
    return [hub.publish(speech_folder(root / f"{name}-{v}", threshold=0.01 * v, card=f"# {name} v{v}\n\nTiny VAD.\n"),
                        name, task="speech", description="energy-based voice activity, for the app tests",
                        license="CC0-1.0")
            for v in range(1, versions + 1)]


def publish_text(root: Path, name: str = "text/chars", versions: int = 1, seed: int = 0) -> list:
    return [hub.publish(text_folder(root / f"{name}-{v}", seed=seed + v), name, task="text",
                        description="letter-count sentence embedding, for the app tests", license="MIT")
            for v in range(1, versions + 1)]


def publish_vision(root: Path, name: str = "vision/templates"):
    """A digit-templates model whose means are those of each class of scikit-learn's digits."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    means = np.stack([digits.images[digits.target == c].mean(axis=0) for c in range(10)]).astype(np.float32)
    dest = root / name
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.json").write_text(json.dumps({"architecture": VISION_ARCHITECTURE, "temperature": 200.0}))
    save_arrays({"means": ("F32", means)}, dest / "model.safetensors")
    (dest / "README.md").write_text("# digit templates\n")
    return hub.publish(dest, name, task="vision", description="nearest class mean of 8x8 digits, for the app tests",
                       license="BSD-3-Clause")


def _materialize(dest: Path, progress) -> None:
    progress(0, 1)
    text_folder(dest, seed=7, card="# apptest/catalog-only\n\nImported on demand.\n")
    progress(1, 1)


if SPEECH_ARCHITECTURE not in ARCHITECTURES:
    register_architecture(SPEECH_ARCHITECTURE)(VoiceActivity)
if TEXT_ARCHITECTURE not in ARCHITECTURES:
    register_architecture(TEXT_ARCHITECTURE)(CharEmbedding)
if VISION_ARCHITECTURE not in ARCHITECTURES:
    register_architecture(VISION_ARCHITECTURE)(DigitTemplates)
if CATALOG_ONLY not in CATALOG:
    register(CatalogEntry(name=CATALOG_ONLY, task="text", architecture=TEXT_ARCHITECTURE,
                          description="a catalog model for the app tests, imported on demand", license="MIT",
                          source_packages=(), hf_repo="", source_sha256={}, materialize=_materialize))
