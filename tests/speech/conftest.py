"""Speech test set-up: the catalog models converted once per test session into a shared cache folder."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

DEV = Path(__file__).resolve().parents[2] / "tests" / "data" / "speech-dev"
SHARED_DEV = Path("/work/shared/data/speech-dev")


def dev_dir() -> Path:
    """The speech-dev clips: the repo's copy if present, else the shared evaluation data."""
    for folder in (DEV, SHARED_DEV):
        if (folder / "manifest.json").is_file():
            return folder
    pytest.skip("speech-dev data is not available")


@pytest.fixture(scope="session")
def speech_dev() -> dict:
    folder = dev_dir()
    manifest = json.loads((folder / "manifest.json").read_text())
    refs = {m: json.loads((folder / f"reference_{m}.json").read_text()) for m in ("base", "tiny.en")}
    return {"dir": folder, "manifest": manifest, "reference": refs}


def _materialized(tmp_path_factory, name: str) -> Path:
    from zoo.speech import catalog
    entry = {"speech/base": catalog.BASE, "speech/tiny.en": catalog.TINY_EN}[name]
    try:
        for key in entry.files:
            catalog.locate(entry, key)
    except Exception as exc:
        pytest.skip(f"weights for {name} are not installed: {exc}")
    dest = tmp_path_factory.mktemp(name.replace("/", "_"))
    catalog.materialize_source(entry, name, dest)
    return dest


@pytest.fixture(scope="session")
def tiny_en_folder(tmp_path_factory) -> Path:
    return _materialized(tmp_path_factory, "speech/tiny.en")


@pytest.fixture(scope="session")
def base_folder(tmp_path_factory) -> Path:
    return _materialized(tmp_path_factory, "speech/base")
