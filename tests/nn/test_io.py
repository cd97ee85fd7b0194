"""core.io: safetensors round trips for every dtype, memory mapping, atomic writes, corrupt files."""
import json
import os

import numpy as np
import pytest

import core
import core.nn as nn
from core.io import SafetensorsError, load, load_file, load_metadata, save, save_file


def sample_tensors():
    core.manual_seed(3)
    return {
        "f32": core.randn(3, 4),
        "f64": core.randn(2, 5, dtype=core.float64),
        "f16": core.randn(7).half(),
        "bf16": core.randn(2, 3).bfloat16(),
        "i64": core.arange(-3, 3).reshape(2, 3),
        "i32": core.arange(5, dtype=core.int32),
        "bool": core.tensor([True, False, True]),
        "scalar": core.tensor(2.5),
        "empty": core.zeros(0, 3),
        "transposed": core.randn(3, 2).t(),
    }


def as_float64(t):
    return t.detach().double().numpy() if t.dtype.is_floating_point else t.detach().numpy()


@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip_every_dtype_is_bit_exact(tmp_path, mmap):
    tensors = sample_tensors()
    path = tmp_path / "t.safetensors"
    save_file(tensors, path, metadata={"format": "pt", "note": "x"})
    loaded = load_file(path, mmap=mmap)
    assert list(loaded) == list(tensors)
    for name, t in tensors.items():
        assert loaded[name].dtype == t.dtype, name
        assert loaded[name].shape == t.shape, name
        np.testing.assert_array_equal(as_float64(loaded[name]), as_float64(t), err_msg=name)
    assert load_metadata(path) == {"format": "pt", "note": "x"}


def test_half_precision_bits_survive(tmp_path):
    bits = np.array([0x0000, 0x8000, 0x7F80, 0xFF80, 0x3F80, 0x0001, 0x7FC0], dtype=np.uint16)
    bf = core._C._from_half_bits(bits, core.bfloat16)
    save_file({"bf": bf}, tmp_path / "b.safetensors")
    np.testing.assert_array_equal(core._C._half_bits(load_file(tmp_path / "b.safetensors")["bf"]), bits)


def test_file_is_readable_as_plain_safetensors(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file({"w": core.tensor([[1.0, 2.0]]), "h": core.tensor([1.0]).bfloat16()}, path)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    assert header["w"] == {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]}
    assert header["h"]["dtype"] == "BF16"
    assert np.frombuffer(raw[8 + n:8 + n + 8], dtype="<f4").tolist() == [1.0, 2.0]
    assert (8 + n) % 8 == 0


def test_mmap_tensors_share_one_mapping_and_writes_never_reach_the_file(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file({"a": core.ones(4), "b": core.full((2,), 3.0)}, path)
    before = path.read_bytes()
    loaded = load_file(path)
    # Adjacent in the file, adjacent in memory: both are views of the same mapping, not copies.
    assert loaded["b"].data_ptr() - loaded["a"].data_ptr() == 16
    loaded["a"].add_(1.0)
    np.testing.assert_array_equal(loaded["a"].numpy(), [2, 2, 2, 2])
    assert path.read_bytes() == before
    np.testing.assert_array_equal(load_file(path)["a"].numpy(), [1, 1, 1, 1])


def test_loaded_tensors_outlive_the_loader(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file({"a": core.arange(6, dtype=core.float32)}, path)
    a = load_file(path)["a"]
    import gc
    gc.collect()
    assert a.sum().item() == 15.0


def test_truncated_file_names_file_and_offset(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file({"a": core.ones(16), "b": core.ones(16)}, path)
    raw = path.read_bytes()
    path.write_bytes(raw[:-10])
    with pytest.raises(SafetensorsError) as err:
        load_file(path)
    assert str(path) in str(err.value) and "byte" in str(err.value)
    assert err.value.offset == len(raw) - 10
    path.write_bytes(raw[:5])
    with pytest.raises(SafetensorsError, match="too short"):
        load_file(path)


def test_garbage_header_is_refused(tmp_path):
    path = tmp_path / "t.safetensors"
    path.write_bytes((7).to_bytes(8, "little") + b"not json")
    with pytest.raises(SafetensorsError, match="JSON"):
        load_file(path)


def _raw_safetensors(header: bytes, data: bytes = b"") -> bytes:
    return len(header).to_bytes(8, "little") + header + data


def _one_tensor(dtype='"F32"', shape="[2]", offsets="[0, 8]") -> bytes:
    return f'{{"a": {{"dtype": {dtype}, "shape": {shape}, "data_offsets": {offsets}}}}}'.encode()


@pytest.mark.parametrize("header, data, message", [
    (_one_tensor(dtype="[]"), bytes(8), "unsupported dtype []"),
    (_one_tensor(dtype="{}"), bytes(8), "unsupported dtype {}"),
    (_one_tensor(shape="[true, 2]"), bytes(8), "invalid shape [True, 2]"),
    (_one_tensor(offsets="[false, 8]"), bytes(8), "invalid data_offsets"),
    (_one_tensor(shape=f"[{2**32}, {2**32}]", offsets="[0, 0]"), b"", "dimensions multiply past 2**63 bytes"),
    (_one_tensor(shape=f"[{2**70}]", offsets="[0, 0]"), b"", "dimensions multiply past 2**63 bytes"),
    (_one_tensor(shape=f"[0, {2**63}]", offsets="[0, 0]"), b"", "dimensions multiply past 2**63 bytes"),
    (_one_tensor(shape=f'[{", ".join(["1"] * 65)}]', offsets="[0, 4]"), bytes(4), "65 dimensions (at most 64)"),
    (_one_tensor(shape=f"[{2**33}, {2**31}, 1]", offsets="[0, 0]"), b"", "dimensions multiply past"),
    (b'{"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}, '
     b'"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', bytes(8), "names 'a' twice"),
    (b'{"\\ud800": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', bytes(8), "not valid Unicode"),
    (b'{"__metadata__": [], "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', bytes(8),
     "__metadata__ must map strings to strings, got []"),
    (b'{"__metadata__": 0}', b"", "__metadata__ must map strings to strings, got 0"),
    (b'{"__metadata__": false}', b"", "__metadata__ must map strings to strings, got False"),
    (b"[" * 100_000, b"", "nested too deeply"),
    (b'{"a": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 0]}}', b"", "digits"),
], ids=["dtype-list", "dtype-object", "shape-bool", "offsets-bool", "shape-product-2**64", "dim-2**70",
        "empty-dim-2**63", "rank-65", "shape-product-wraps-int64", "duplicate-name", "lone-surrogate-name",
        "metadata-list", "metadata-zero", "metadata-false", "deep-json", "huge-integer"])
def test_malformed_header_is_refused_naming_file_and_problem(tmp_path, header, data, message):
    path = tmp_path / "t.safetensors"
    path.write_bytes(_raw_safetensors(header, data))
    for read in (load_file, load_metadata):
        with pytest.raises(SafetensorsError) as err:
            read(path)
        assert message in str(err.value) and str(path) in str(err.value) and "at byte" in str(err.value)


def test_header_length_over_the_limit_inside_a_big_file_says_so(tmp_path, monkeypatch):
    from core.io import safetensors
    monkeypatch.setattr(safetensors, "MAX_HEADER_BYTES", 16)
    path = tmp_path / "t.safetensors"
    save_file({"w": core.zeros(2)}, path)
    with pytest.raises(SafetensorsError, match="larger than the 16 bytes a safetensors header may have"):
        load_file(path)


def test_unsupported_dtype_in_file_is_a_type_error(tmp_path):
    from core.io import save_arrays
    path = tmp_path / "t.safetensors"
    save_arrays({"q": ("I8", np.array([1, 2], dtype=np.int8))}, path)
    with pytest.raises(TypeError, match="'q' has dtype I8"):
        load_file(path)


def test_failed_save_leaves_the_old_file_and_no_temp_files(tmp_path):
    path = tmp_path / "t.safetensors"
    save_file({"a": core.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="'b'"):
        save_file({"a": core.zeros(2), "b": np.zeros(2)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["t.safetensors"]


def test_tied_tensors_are_refused():
    w = core.ones(2, 2)
    with pytest.raises(ValueError, match="same tensor"):
        save_file({"a": w, "b": w}, "unused.safetensors")


def test_save_and_load_a_module_state_dict(tmp_path):
    core.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2))
    save(net, tmp_path / "m.safetensors")
    fresh = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2))
    fresh.load_state_dict(load(tmp_path / "m.safetensors"))
    x = core.randn(5, 3)
    np.testing.assert_array_equal(net(x).detach().numpy(), fresh(x).detach().numpy())
    with pytest.raises(TypeError, match="Module or a state dict"):
        save([1, 2], tmp_path / "x.safetensors")
