"""The CTranslate2 model.bin reader: the real tiny.en file, a small file written here from the format's
description, and truncated and corrupted copies that must fail with the file and the byte offset."""
from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from zoo.importers import ImporterError
from zoo.importers.ctranslate2 import (concatenate_parts, convert_whisper, open_model_bin, parse_model_bin, read_array,
                                       whisper_dims)


def _string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_model_bin(variables: dict[str, np.ndarray], aliases: dict[str, str], version: int = 6) -> bytes:
    """A model.bin as CTranslate2's spec code lays it out (independent of the reader under test)."""
    ids = {np.dtype("float32"): 0, np.dtype("int8"): 1, np.dtype("int16"): 2, np.dtype("int32"): 3,
           np.dtype("float16"): 4}
    out = struct.pack("<I", version) + _string("TestSpec") + struct.pack("<II", 1, len(variables))
    for name, arr in variables.items():
        out += _string(name) + struct.pack("<B", arr.ndim) + b"".join(struct.pack("<I", d) for d in arr.shape)
        out += struct.pack("<BI", ids[arr.dtype], arr.nbytes) + arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    out += struct.pack("<I", len(aliases))
    for alias, target in aliases.items():
        out += _string(alias) + _string(target)
    return out


SMALL = {
    "a/weight": np.arange(6, dtype=np.float16).reshape(2, 3) / 4,
    "a/scale": np.array(7, dtype=np.int16),
    "b/bias": np.array([1.5, -2.0], dtype=np.float32),
}


def _offset(exc: pytest.ExceptionInfo) -> int:
    match = re.search(r"at byte (\d+)", str(exc.value))
    assert match, f"no offset in {exc.value}"
    return int(match.group(1))


def test_small_file_round_trips_with_alias_and_float16_to_float32(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(write_model_bin(SMALL, {"c/weight": "a/weight"}))
    with open_model_bin(path) as (index, data):
        assert index.spec == "TestSpec" and index.version == 6 and index.revision == 1
        assert set(index.variables) == set(SMALL) and index.aliases == {"c/weight": "a/weight"}
        w = read_array(index, data, "c/weight")
        assert w.dtype == np.float32 and np.array_equal(w, SMALL["a/weight"].astype(np.float32))
        assert read_array(index, data, "a/scale").item() == 7
        assert read_array(index, data, "b/bias").tolist() == [1.5, -2.0]


def test_every_truncation_of_a_small_file_is_refused_with_its_offset(tmp_path):
    raw = write_model_bin(SMALL, {"c/weight": "a/weight"})
    for cut in range(len(raw)):
        with pytest.raises(ImporterError) as exc:
            parse_model_bin(tmp_path / "cut.bin", raw[:cut])
        assert "cut.bin" in str(exc.value)
        assert _offset(exc) <= cut, (cut, str(exc.value))


@pytest.mark.parametrize("field,patch,message", [
    ("version", lambda raw: struct.pack("<I", 99) + raw[4:], "binary version 99"),
    ("rank", lambda raw: _patch_after(raw, b"a/weight\0", b"\x2a"), "rank 42"),
    ("dtype", lambda raw: _patch_after(raw, b"a/weight\0", b"\x02\x02\0\0\0\x03\0\0\0\x09"), "unknown dtype id 9"),
    ("byte count", lambda raw: _patch_after(raw, b"a/weight\0", b"\x02\x02\0\0\0\x03\0\0\0\x04\x0d\0\0\0"),
     "needs 12 bytes but declares 13"),
    ("name length", lambda raw: raw[:23] + struct.pack("<H", 60000) + raw[25:], "needs 60000 bytes"),
    ("alias target", lambda raw: raw.replace(b"a/weight\0", b"z/weight\0")[:-9] + b"a/weight\0", "not a stored"),
    ("trailing bytes", lambda raw: raw + b"\0\0", "2 unexpected bytes"),
    ("missing NUL", lambda raw: raw.replace(b"TestSpec\0", b"TestSpecX"), "not NUL-terminated"),
])
def test_corrupted_small_file_is_refused_naming_the_problem(tmp_path, field, patch, message):
    raw = patch(write_model_bin(SMALL, {"c/weight": "a/weight"}))
    with pytest.raises(ImporterError) as exc:
        parse_model_bin(tmp_path / "bad.bin", raw)
    assert message in str(exc.value), field
    assert "bad.bin" in str(exc.value) and 0 <= _offset(exc) <= len(raw)


def _patch_after(raw: bytes, marker: bytes, replacement: bytes) -> bytes:
    at = raw.index(marker) + len(marker)
    return raw[:at] + replacement + raw[at + len(replacement):]


def _tiny_en_model_bin() -> Path:
    from zoo.speech import catalog
    try:
        return catalog.locate(catalog.TINY_EN, catalog.TINY_EN.model_parts[0])
    except ImporterError as exc:
        pytest.skip(str(exc))


def test_tiny_en_model_bin_index_and_dimensions():
    path = _tiny_en_model_bin()
    with open_model_bin(path) as (index, data):
        assert index.spec == "WhisperSpec"
        assert index.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
        dims = whisper_dims(index, data)
        assert index.resolve("decoder/embeddings/weight").dtype == "float16"
    assert dims == {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6, "n_audio_layer": 4,
                    "n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384, "n_text_head": 6, "n_text_layer": 4}


def test_truncated_copies_of_tiny_en_model_bin_fail_cleanly(tmp_path):
    path = _tiny_en_model_bin()
    with open_model_bin(path) as (index, _):
        var = index.variables["encoder/conv2/weight"]
        cuts = {"in the header": 10, "inside a name": 40, "inside tensor data": var.offset + var.nbytes // 2,
                "before the alias table": path.stat().st_size - 60}
    with open(path, "rb") as f:
        for where, cut in cuts.items():
            copy = tmp_path / f"cut{cut}.bin"
            f.seek(0)
            copy.write_bytes(f.read(cut))
            with pytest.raises(ImporterError) as exc:
                with open_model_bin(copy):
                    pass
            assert str(copy) in str(exc.value), where
            assert "truncated" in str(exc.value) and _offset(exc) <= cut, where


def test_corrupted_copy_of_tiny_en_model_bin_reports_the_variable_and_offset(tmp_path):
    path = _tiny_en_model_bin()
    raw = bytearray(path.read_bytes())
    with open_model_bin(path) as (index, _):
        var = index.variables["decoder/layer_0/ffn/linear_0/weight"]
    count_at = var.offset - 4
    struct.pack_into("<I", raw, count_at, var.nbytes + 2)
    bad = tmp_path / "model.bin"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ImporterError) as exc:
        with open_model_bin(bad):
            pass
    assert "decoder/layer_0/ffn/linear_0/weight" in str(exc.value) and _offset(exc) == count_at


def test_concatenating_parts_streams_them_in_order(tmp_path):
    parts = []
    for i, payload in enumerate((b"abc" * 1000, b"", b"xyz")):
        p = tmp_path / f"model.bin.part{i + 1}"
        p.write_bytes(payload)
        parts.append(p)
    seen = []
    out = concatenate_parts(parts, tmp_path / "model.bin", lambda done, total: seen.append((done, total)))
    assert out.read_bytes() == b"abc" * 1000 + b"xyz"
    assert seen[-1] == (3003, 3003)


def test_converted_tiny_en_folder_has_config_and_float32_weights(tiny_en_folder):
    from core.io import SafetensorsFile
    config = json.loads((tiny_en_folder / "config.json").read_text())
    assert config["architecture"] == "whisper" and config["multilingual"] is False
    assert config["timestamp_begin"] == 50363 and config["eot_id"] == 50256 and config["no_speech_id"] == 50361
    assert config["alignment_heads"][0] == [1, 0] and 50256 in config["suppress_ids_begin"]
    f = SafetensorsFile(tiny_en_folder / "model.safetensors")
    assert {f.dtype(n) for n in f.names()} == {"F32"}
    assert f.array("decoder.blocks.0.attn.key.weight").shape == (384, 384)
    with open_model_bin(_tiny_en_model_bin()) as (index, data):
        kv = read_array(index, data, "decoder/layer_1/attention/linear_1/weight")
    assert np.array_equal(f.array("decoder.blocks.1.cross_attn.value.weight"), kv[384:])
    assert (tiny_en_folder / "tokenizer.json").is_file() and (tiny_en_folder / "vocabulary.txt").is_file()


def _variable(name: str, dims: tuple[int, ...], dtype_id: int, nbytes: int) -> bytes:
    return (_string(name) + struct.pack("<B", len(dims)) + b"".join(struct.pack("<I", d) for d in dims)
            + struct.pack("<BI", dtype_id, nbytes))


@pytest.mark.parametrize("dims, dtype_id", [((2**16,) * 4, 0), ((2**16,) * 4, 1), ((2**32 - 1,) * 8, 1)],
                         ids=["float32-2**64-bytes", "int8-2**64-bytes", "rank-8-max-dims"])
def test_dims_whose_product_overflows_int64_are_refused(tmp_path, dims, dtype_id):
    raw = struct.pack("<I", 6) + _string("TestSpec") + struct.pack("<II", 1, 1) + _variable("x", dims, dtype_id, 0)
    path = tmp_path / "model.bin"
    path.write_bytes(raw + struct.pack("<I", 0))
    with pytest.raises(ImporterError, match=r"variable 'x' of shape .* needs \d{20,} bytes but declares 0") as exc:
        with open_model_bin(path):
            pass
    assert str(path) in str(exc.value) and _offset(exc) == len(raw) - 4


def _whisper_bin(variables: dict[str, np.ndarray]) -> bytes:
    base = {"encoder/conv1/weight": np.zeros((2, 1, 3), np.float32),
            "decoder/embeddings/weight": np.zeros((3, 2), np.float32),
            "decoder/position_encodings/encodings": np.zeros((4, 2), np.float32),
            "encoder/position_encodings/encodings": np.zeros((5, 2), np.float32),
            "encoder/num_heads": np.array(1, np.int16), "decoder/num_heads": np.array(1, np.int16)}
    raw = write_model_bin({**base, **variables}, {})
    return raw.replace(_string("TestSpec"), _string("WhisperSpec"), 1)


@pytest.mark.parametrize("variables, message", [
    ({"encoder/conv1/weight": np.zeros(6, np.float32)}, "'encoder/conv1/weight' should have 3 dimensions"),
    ({"decoder/embeddings/weight": np.zeros((), np.float32)}, "'decoder/embeddings/weight' should have 2 dim"),
    ({"encoder/num_heads": np.array(np.nan, np.float32)}, "'encoder/num_heads' should be a whole number, is nan"),
    ({"decoder/num_heads": np.array(np.inf, np.float32)}, "'decoder/num_heads' should be a whole number, is inf"),
    ({"decoder/activation": np.array(np.nan, np.float32)}, "'decoder/activation' should be a whole number"),
], ids=["conv1-rank-1", "embedding-rank-0", "heads-nan", "heads-inf", "flag-nan"])
def test_whisper_dims_of_a_malformed_spec_name_the_variable(tmp_path, variables, message):
    path = tmp_path / "model.bin"
    path.write_bytes(_whisper_bin(variables))
    with pytest.raises(ImporterError) as exc:
        with open_model_bin(path) as (index, data):
            whisper_dims(index, data)
    assert message in str(exc.value) and str(path) in str(exc.value) and _offset(exc) > 0


def test_whisper_dims_of_a_well_formed_small_spec():
    raw = _whisper_bin({})
    dims = whisper_dims(parse_model_bin("model.bin", raw), raw)
    assert (dims["n_mels"], dims["n_audio_ctx"], dims["n_vocab"], dims["n_text_ctx"]) == (1, 5, 3, 4)


@pytest.mark.parametrize("content, message", [
    (b'{"lang_ids": [1], "name": "caf\xe9"}', r"at byte 30: not UTF-8 text \(invalid continuation byte\)"),
    (b'{"suppress_ids": [1,', r"at byte 20: not JSON \(Expecting value\)"),
    (b'[1, 2]', r"must be a JSON object, is a JSON list"),
    (b'"whisper"', r"must be a JSON object, is a JSON str"),
])
def test_a_ct2_config_that_is_not_a_utf8_json_object_is_refused_naming_the_file(tmp_path, content, message):
    # read_text() and .get() let UnicodeDecodeError and AttributeError through, naming no file
    config = tmp_path / "config.json"
    config.write_bytes(content)
    with pytest.raises(ImporterError, match=rf"^{re.escape(str(config))}: {message}$"):
        convert_whisper(tmp_path / "model.bin", config, tmp_path / "tokenizer.json", tmp_path / "out")
