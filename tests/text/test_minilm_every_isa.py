"""MiniLM's reference parity holds with every kernel set, each forced for a whole process with ZOOHUB_CPU_ISA.

The scalar kernels and the AVX-512 kernels never run in the default process on a machine with AVX2 only (the
emulated AVX-512 build runs their code there); this checks a whole model through each, not just kernel by kernel.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core._C import _kernels

ROOT = Path(__file__).resolve().parents[2]

ENCODE = """
import json
import sys
from pathlib import Path
import numpy as np
import core
from zoo.architectures import build
from tests.text.conftest import REFERENCE
model = build(Path(sys.argv[1]))
sentences = json.loads((REFERENCE / "sentences.json").read_text())["sentences"]
np.save(sys.argv[2], model.encode(sentences, batch_size=8))
print(core.backend_info()["isa"])
"""


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512", "avx512-emulated"])
def test_every_sentence_within_cosine_0_9999_with_each_isa(isa, minilm_folder, minilm_reference, tmp_path):
    info = _kernels.backend_info()
    if isa not in info["available_isas"]:
        pytest.skip(f"this CPU cannot run {isa} kernels")
    if isa == info["isa"]:
        pytest.skip(f"{isa} is this process's ISA: every other text test runs it")
    out = tmp_path / "embeddings.npy"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOOHUB_CPU_ISA": isa}
    r = subprocess.run([sys.executable, "-c", ENCODE, str(minilm_folder), str(out)], env=env, capture_output=True,
                       text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == isa
    got, ref = np.load(out), minilm_reference["embeddings"]
    cosine = (got * ref).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref, axis=1)
    assert got.shape == (64, 384) and cosine.min() >= 0.9999, (isa, int(np.argmin(cosine)), cosine.min())
