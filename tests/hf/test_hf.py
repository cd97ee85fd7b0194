"""Hugging Face both ways, offline: hf:// through a huggingface_hub cache, export --format hf, push-hf's commit."""
from __future__ import annotations

import hashlib
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import yaml
from huggingface_hub import scan_cache_dir

import hub
from core.io import SafetensorsFile
from hub.access import database
from hub.errors import MissingExtra, ModelNotFound
from hub.hf import commit_operations, export_hf, import_folder, push_hf
from hub.cli import main as zoohub
from registry.evaluations import add_claim, record_eval_run, record_reproduction, upsert_benchmark
from registry.versions import get_model, resolve_version
from tests.hf.conftest import COMMIT, REPO_ID
from tests.mounts import small_disk
from zoo.architectures import build

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "data" / "minilm-ref"
SENTENCES = ["a sentence", "another one, a bit longer", "", "Übergrößenträger façade naïve café"]


def test_cache_fixture_is_a_valid_huggingface_hub_cache(hf_cache):
    info = scan_cache_dir(hf_cache)
    assert not info.warnings
    (repo,) = info.repos
    assert repo.repo_id == REPO_ID and [r.commit_hash for r in repo.revisions] == [COMMIT]
    assert {"main"} == set(next(iter(repo.revisions)).refs)


def test_hf_reference_loads_offline_from_the_cache_and_matches_the_reference_engine(offline_hf):
    model = hub.load(f"hf://{REPO_ID}")
    sentences = json.loads((REFERENCE / "sentences.json").read_text())["sentences"][:16]
    expected = np.load(REFERENCE / "embeddings.npy")[:16]
    got = model.encode(sentences)
    cosines = np.sum(got * expected, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(expected, axis=1))
    assert cosines.min() >= 0.9999
    info = hub.info("hf/sentence-transformers--all-minilm-l6-v2")
    assert info.source == f"hf:{REPO_ID}@{COMMIT}"
    again = hub.load(f"hf://{REPO_ID}@main")  # same commit: found in the registry, not imported again
    np.testing.assert_array_equal(again.encode(SENTENCES), model.encode(SENTENCES))
    assert hub.info("hf/sentence-transformers--all-minilm-l6-v2").versions == (1,)


def test_hf_reference_missing_from_the_offline_cache_is_a_clear_error(offline_hf):
    with pytest.raises(ModelNotFound, match="HF_HUB_OFFLINE is set and no snapshot"):
        hub.load("hf://sentence-transformers/all-mpnet-base-v2")
    with pytest.raises(hub.errors.InvalidReference):
        hub.load("hf://../etc")


def _record_verdict(ref: str) -> None:
    now = datetime.now(timezone.utc)
    with database().write() as session:
        name = ref.split("@")[0]
        version = resolve_version(session, name, version=int(ref.split("@")[1]))
        bench = upsert_benchmark(session, task="text", dataset="minilm-ref-64", split="all", metric="mean_cosine",
                                 higher_is_better=True)
        claim = add_claim(session, get_model(session, name), bench, 1.0, source="sentence-transformers on our data")
        run = record_eval_run(session, version, bench, value=0.99999, status="succeeded", started_at=now,
                              finished_at=now, env={})
        record_reproduction(session, claim, run, abs_tol=1e-4, rel_tol=0.0)


def test_export_hf_folder_loads_back_through_our_importer_with_identical_outputs(offline_hf, tmp_path):
    original = hub.load(f"hf://{REPO_ID}")
    ref = hub.info("hf/sentence-transformers--all-minilm-l6-v2").ref
    _record_verdict(ref)
    assert zoohub(["export", ref, "--format", "hf", str(tmp_path / "export")]) == 0
    out = tmp_path / "export"
    expected_files = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                      "special_tokens_map.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json",
                      "README.md"}
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == expected_files
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == ["BertModel"]
    assert config["num_hidden_layers"] == 6 and config["hidden_size"] == 384
    weights = SafetensorsFile(out / "model.safetensors")
    assert "encoder.layer.5.attention.self.value.weight" in weights.names()
    assert weights.array("encoder.layer.0.attention.self.query.weight").shape == (384, 384)

    readme = (out / "README.md").read_text()
    front = yaml.safe_load(readme.split("---\n")[1])
    (result,) = front["model-index"][0]["results"]
    assert result["dataset"]["name"] == "minilm-ref-64" and result["dataset"]["split"] == "all"
    (metric,) = result["metrics"]
    assert metric["type"] == "mean_cosine" and metric["value"] == pytest.approx(0.99999)
    assert "reproduced" in metric["name"]
    assert f"`{ref}`" in readme

    reimported = tmp_path / "reimported"
    import_folder(out, reimported)
    model = build(reimported)
    np.testing.assert_array_equal(model.encode(SENTENCES), original.encode(SENTENCES))


def test_export_refuses_a_folder_that_is_not_empty(offline_hf, tmp_path):
    hub.load(f"hf://{REPO_ID}")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("mine")
    assert zoohub(["export", "hf/sentence-transformers--all-minilm-l6-v2", str(tmp_path / "busy")]) == 1


def test_export_into_a_file_or_an_unwritable_place_is_one_line_and_leaves_nothing(offline_hf, tmp_path, capsys):
    hub.load(f"hf://{REPO_ID}")
    ref = "hf/sentence-transformers--all-minilm-l6-v2"
    (tmp_path / "afile").write_text("mine")
    cases = {tmp_path / "afile": "not a folder", tmp_path / "afile" / "sub": "cannot write the export",
             Path("/proc/zoohub-export"): "cannot write the export"}  # /proc refuses new folders, even to root
    for dest, message in cases.items():
        assert zoohub(["export", ref, str(dest)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"zoohub: error: {dest}: ") and message in err and "Traceback" not in err
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_write_failing_part_way_into_an_existing_empty_folder_removes_what_it_wrote_and_keeps_the_folder(
        offline_hf, tmp_path, capsys):
    # the folder's own removal covered only folders the export created: an existing one kept a half export
    hub.load(f"hf://{REPO_ID}")
    ref = "hf/sentence-transformers--all-minilm-l6-v2"
    dest = tmp_path / "export"
    # room for the weights, five more files and the 1_Pooling folder, not for the file inside it
    with small_disk(dest, 512 * 1024 * 1024, inodes=8):
        assert zoohub(["export", ref, str(dest)]) == 1
        err = capsys.readouterr().err
        assert err == f"zoohub: error: {dest}: cannot write the export: No space left on device\n"
        assert dest.is_dir() and list(dest.iterdir()) == []
        assert zoohub(["export", ref, str(dest / "sub")]) == 1  # a folder it made itself goes entirely, as before
        assert list(dest.iterdir()) == []


def test_export_without_huggingface_hub_fails_before_writing_anything(offline_hf, tmp_path, monkeypatch, capsys):
    # the whole model.safetensors was written (then removed) before the model card found the extra missing
    hub.load(f"hf://{REPO_ID}")
    ref = "hf/sentence-transformers--all-minilm-l6-v2"
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    empty, parent = tmp_path / "empty", tmp_path / "parent"
    empty.mkdir()
    parent.mkdir()
    for folder in (empty, parent):
        os.utime(folder, ns=(0, 0))  # any file made or removed in it would set its mtime to now
    with pytest.raises(MissingExtra, match=r"^the Hugging Face bridge needs huggingface_hub, which is not "
                                           r"installed: pip install 'zoohub\[hf\]'$"):
        export_hf(ref, empty)
    assert zoohub(["export", ref, "--format", "hf", str(parent / "new")]) == 1
    assert capsys.readouterr().err.startswith("zoohub: error: the Hugging Face bridge needs huggingface_hub")
    assert empty.stat().st_mtime_ns == parent.stat().st_mtime_ns == 0
    assert list(empty.iterdir()) == list(parent.iterdir()) == []


def test_push_hf_builds_one_commit_of_every_exported_file_without_the_network(offline_hf, tmp_path, monkeypatch,
                                                                              capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    hub.load(f"hf://{REPO_ID}")
    operations = push_hf("hf/sentence-transformers--all-minilm-l6-v2", "someone/minilm-export", dry_run=True)
    out = export_hf("hf/sentence-transformers--all-minilm-l6-v2", tmp_path / "export")
    files = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    assert sorted(op.path_in_repo for op in operations) == sorted(files)
    for op in commit_operations(out):
        data = files[op.path_in_repo].read_bytes()
        assert op.upload_info.sha256.hex() == hashlib.sha256(data).hexdigest()
        assert op.upload_info.size == len(data)
    with pytest.raises(hub.errors.HubError, match="HF_TOKEN"):
        push_hf("hf/sentence-transformers--all-minilm-l6-v2", "someone/minilm-export")
    assert zoohub(["push-hf", "hf/sentence-transformers--all-minilm-l6-v2", "someone/minilm-export",
                   "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "would upload model.safetensors" in printed and f"{len(files)} files for someone/minilm-export" in printed
    assert zoohub(["push-hf", "hf/sentence-transformers--all-minilm-l6-v2", "../etc", "--dry-run"]) == 1
