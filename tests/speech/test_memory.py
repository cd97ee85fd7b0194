"""Resident memory of Whisper inference, measured in a fresh interpreter: one copy of the weights, not two.

Loading maps the file and draws no initial values; packing a layer for inference releases the file pages it
read. So after a transcription the file's pages are (almost) gone from the resident set, and the peak is one
copy of the weights plus working memory (tiny.en: 1.0x + ~0.7x of the weight bytes; it was 2.5x when the
packed copy and the file pages were both resident). The bounds are ratios to the weight bytes, loose enough
for any allocator state and tight enough that a second full copy breaks them.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import hashlib, json, sys
from pathlib import Path

def status():
    fields = {}
    for line in open("/proc/self/status"):
        key, value = line.split(":", 1)
        if key in ("VmRSS", "VmHWM", "RssFile"):
            fields[key] = int(value.split()[0]) * 1024
    return fields

folder, clip = Path(sys.argv[1]), sys.argv[2]
from zoo.speech.recognizer import SpeechRecognizer
from zoo.speech.audio import load_audio
audio = load_audio(clip)
before = status()
asr = SpeechRecognizer.from_folder(folder)
loaded = status()
text = asr.transcribe(audio, language="en", beam_size=1, without_timestamps=True, temperatures=(0.0,)).text
after = status()
state = asr.network.state_dict()
print(json.dumps({"weights": (folder / "model.safetensors").stat().st_size, "before": before, "loaded": loaded,
                  "after": after,
                  "text": text, "embedding_sha256": hashlib.sha256(
                      state["decoder.token_embedding.weight"].numpy().tobytes()).hexdigest()}))
"""


@pytest.fixture(scope="module")
def measured(tiny_en_folder, speech_dev) -> dict:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc to read the resident set")
    clip = speech_dev["dir"] / speech_dev["manifest"]["items"][0]["file"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), ZOOHUB_NUM_THREADS="2")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_en_folder), str(clip)], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_loading_whisper_allocates_no_copy_of_the_weights(measured):
    grown = measured["loaded"]["VmHWM"] - measured["before"]["VmRSS"]
    assert grown < 0.2 * measured["weights"], f"loading grew the peak by {grown >> 20} MB"


def test_transcribing_leaves_the_weight_file_pages_released(measured):
    file_pages = measured["after"]["RssFile"] - measured["before"]["RssFile"]
    assert file_pages < 0.2 * measured["weights"], f"{file_pages >> 20} MB of mapped file pages stay resident"


def test_peak_memory_of_a_transcription_is_one_copy_of_the_weights_plus_working_memory(measured):
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's resident size (pytest's, here)
    grown = measured["after"]["VmHWM"] - measured["before"]["VmRSS"]
    assert grown < 2.0 * measured["weights"], \
        f"peak grew by {grown >> 20} MB for {measured['weights'] >> 20} MB of weights"
    assert "birch" in measured["text"].lower()


def test_state_dict_after_inference_still_holds_the_file_values(measured, tiny_en_folder):
    from core.io import load_file
    weight = load_file(tiny_en_folder / "model.safetensors")["decoder.token_embedding.weight"]
    assert measured["embedding_sha256"] == hashlib.sha256(weight.numpy().tobytes()).hexdigest()
