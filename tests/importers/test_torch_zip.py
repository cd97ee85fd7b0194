"""PyTorch zip checkpoints: tensors come back as numpy, anything that is not a tensor is refused unrun."""
from __future__ import annotations

import os
import pickle
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from zoo.importers import ImporterError
from zoo.importers.torch_zip import TorchZipError, load, load_state_dict

DATA = Path(__file__).resolve().parents[1] / "data"
TENSORS_PT = DATA / "torch_zip" / "tensors.pt"


# A protocol-2 pickle written opcode by opcode, so tests can say exactly what a checkpoint contains.
def _str(s: str) -> bytes:
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(i: int) -> bytes:
    return b"J" + struct.pack("<i", i)


def _tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def _global(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def _tensor(key: str, storage: str, numel: int, offset: int, size: tuple, stride: tuple) -> bytes:
    pid = _tuple(_str("storage"), _global("torch", storage), _str(key), _str("cpu"), _int(numel)) + b"Q"
    hooks = _global("collections", "OrderedDict") + b")R"
    args = _tuple(pid, _int(offset), _tuple(*map(_int, size)), _tuple(*map(_int, stride)), b"\x89", hooks)
    return _global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def _state_dict(entries: dict[str, bytes]) -> bytes:
    return b"\x80\x02}(" + b"".join(_str(k) + v for k, v in entries.items()) + b"u."


def _write(path: Path, data_pkl: bytes, storages: dict[str, bytes], prefix: str = "archive",
           byteorder: str = "little", compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr(f"{prefix}/data.pkl", data_pkl)
        z.writestr(f"{prefix}/byteorder", byteorder)
        for key, raw in storages.items():
            z.writestr(f"{prefix}/data/{key}", raw)
        z.writestr(f"{prefix}/version", "3\n")
    return path


def test_reads_every_dtype_and_view_that_torch_save_wrote():
    sd = load_state_dict(TENSORS_PT)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(sd["f32"], a)
    np.testing.assert_array_equal(sd["f32_transposed"], a.T)
    assert sd["f32_transposed"].flags.c_contiguous
    assert sd["f16_slice"].dtype == np.float16 and sd["f16_slice"].tolist() == [1.0, 2.0, 3.0]
    assert sd["bf16"].dtype == np.float32 and sd["bf16"].tolist() == [1.5, -2.0, 3.25]
    assert sd["f64"].dtype == np.float64 and sd["f64"].tolist() == [[0.1, 0.2]]
    assert sd["i64"].dtype == np.int64 and sd["i64"].tolist() == [1, -2, 3]
    assert sd["bool"].tolist() == [True, False]
    np.testing.assert_array_equal(sd["param"], np.full((2, 2), 7.0, np.float32))
    assert sd["empty"].shape == (0, 4)


def test_reads_module_state_dict_with_metadata_attribute():
    sd = load_state_dict(DATA / "tiny_bert" / "pytorch_model.bin")
    assert sd["embeddings.word_embeddings.weight"].shape == (16, 8)
    assert len(sd) == 39


def test_any_folder_prefix_and_shared_storage(tmp_path):
    storage = np.arange(4, dtype=np.float32).tobytes()
    pkl = _state_dict({"w": _tensor("0", "FloatStorage", 4, 0, (2, 2), (2, 1)),
                       "w_t": _tensor("0", "FloatStorage", 4, 0, (2, 2), (1, 2))})
    sd = load_state_dict(_write(tmp_path / "c.pt", pkl, {"0": storage}, prefix="my_model"))
    np.testing.assert_array_equal(sd["w"], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(sd["w_t"], [[0, 2], [1, 3]])


def test_big_endian_storages_are_byte_swapped(tmp_path):
    storage = np.array([1.0, -2.5], dtype=">f4").tobytes()
    pkl = _state_dict({"w": _tensor("0", "FloatStorage", 2, 0, (2,), (1,))})
    sd = load_state_dict(_write(tmp_path / "c.pt", pkl, {"0": storage}, byteorder="big"))
    assert sd["w"].tolist() == [1.0, -2.5] and sd["w"].dtype == np.float32


@pytest.mark.parametrize("module, name", [("os", "system"), ("posix", "system"), ("builtins", "eval"),
                                          ("subprocess", "Popen"), ("torch", "load")])
def test_refuses_code_globals_without_running_them(tmp_path, module, name):
    marker = tmp_path / "pwned"
    payload = _global(module, name) + _tuple(_str(f"touch {marker}")) + b"R"
    path = _write(tmp_path / "evil.pt", b"\x80\x02" + payload + b".", {})
    with pytest.raises(TorchZipError, match=rf"refusing global {module}\.{name}") as err:
        load(path)
    assert str(path) in str(err.value)
    assert not marker.exists()


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_refuses_a_pickled_os_system_reduce_in_every_protocol(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"w": _Evil(marker)}, protocol=protocol)  # protocol 4+ uses STACK_GLOBAL
    with pytest.raises(TorchZipError, match=r"refusing global (os|posix)\.system"):
        load(_write(tmp_path / "evil.pt", payload, {}))
    assert not marker.exists()


def test_refuses_code_global_hidden_in_tensor_arguments(tmp_path):
    marker = tmp_path / "pwned"
    evil = _global("os", "system") + _tuple(_str(f"touch {marker}")) + b"R"
    pid = _tuple(_str("storage"), _global("torch", "FloatStorage"), _str("0"), _str("cpu"), _int(1)) + b"Q"
    tensor = _global("torch._utils", "_rebuild_tensor_v2") + _tuple(pid, _int(0), _tuple(_int(1)), _tuple(_int(1)),
                                                                    b"\x89", evil) + b"R"
    path = _write(tmp_path / "evil.pt", _state_dict({"w": tensor}), {"0": b"\0\0\0\0"})
    with pytest.raises(TorchZipError, match=r"refusing global os\.system"):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize("keep", [0, 100, 1000, -22, -1])
def test_truncated_zip_names_file_and_offset(tmp_path, keep):
    raw = TENSORS_PT.read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(raw[:keep] if keep > 0 else raw[:len(raw) + keep] if keep else b"")
    with pytest.raises(TorchZipError, match=r"at byte \d+: .*truncated") as err:
        load(path)
    assert err.value.path == str(path)


def test_truncated_pickle_names_entry_and_position(tmp_path):
    pkl = _state_dict({"w": _tensor("0", "FloatStorage", 1, 0, (1,), (1,))})
    path = _write(tmp_path / "c.pt", pkl[:-10], {"0": b"\0\0\0\0"})
    with pytest.raises(TorchZipError, match=r"entry 'archive/data\.pkl' at pickle byte \d+"):
        load(path)


def test_storage_entry_smaller_than_its_element_count(tmp_path):
    pkl = _state_dict({"w": _tensor("0", "FloatStorage", 4, 0, (4,), (1,))})
    path = _write(tmp_path / "c.pt", pkl, {"0": b"\0" * 12})
    with pytest.raises(TorchZipError, match=r"at byte \d+: entry 'archive/data/0' holds 12 bytes.* needs 16"):
        load(path)


def test_tensor_reading_past_its_storage(tmp_path):
    pkl = _state_dict({"w": _tensor("0", "FloatStorage", 4, 2, (2, 2), (2, 1))})
    path = _write(tmp_path / "c.pt", pkl, {"0": b"\0" * 16})
    with pytest.raises(TorchZipError, match=r"reads element 5 of storage 'archive/data/0', which has 4"):
        load(path)


def test_missing_storage_entry(tmp_path):
    pkl = _state_dict({"w": _tensor("7", "FloatStorage", 1, 0, (1,), (1,))})
    with pytest.raises(TorchZipError, match=r"storage '7' has no zip entry 'archive/data/7'"):
        load(_write(tmp_path / "c.pt", pkl, {}))


def test_corrupted_storage_bytes_fail_the_crc(tmp_path):
    path = tmp_path / "c.pt"
    shutil.copy(TENSORS_PT, path)
    with zipfile.ZipFile(path) as z:
        header = z.getinfo("tensors/data/0").header_offset
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", raw, header + 26)  # local header, not the central one
    start = header + 30 + name_len + extra_len
    raw[start] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(TorchZipError, match=r"at byte \d+: cannot read zip entry 'tensors/data/0'.*CRC"):
        load(path)


def test_unknown_storage_type_is_refused(tmp_path):
    pkl = _state_dict({"w": _tensor("0", "ComplexFloatStorage", 1, 0, (1,), (1,))})
    with pytest.raises(TorchZipError, match=r"refusing global torch\.ComplexFloatStorage"):
        load(_write(tmp_path / "c.pt", pkl, {"0": b"\0" * 8}))


def test_state_dict_with_non_tensor_values_is_refused(tmp_path):
    path = _write(tmp_path / "c.pt", b"\x80\x02}(" + _str("epoch") + _int(3) + b"u.", {})
    assert load(path) == {"epoch": 3}
    with pytest.raises(TorchZipError, match=r"entry 'epoch' is a int, expected a tensor"):
        load_state_dict(path)


def test_legacy_pickle_checkpoint_gets_a_clear_message(tmp_path):
    path = tmp_path / "old.pt"
    path.write_bytes(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")
    with pytest.raises(TorchZipError, match="legacy"):
        load(path)


def test_missing_file(tmp_path):
    with pytest.raises(TorchZipError, match="file not found"):
        load(tmp_path / "nothing.pt")


def test_errors_are_importer_errors():
    assert issubclass(TorchZipError, ImporterError) and issubclass(TorchZipError, ValueError)


def _long(i: int) -> bytes:
    raw = i.to_bytes(i.bit_length() // 8 + 1, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def _tensor_raw(size: tuple[bytes, ...], stride: tuple[bytes, ...], offset: bytes = b"J\0\0\0\0") -> bytes:
    pid = _tuple(_str("storage"), _global("torch", "FloatStorage"), _str("0"), _str("cpu"), _int(4)) + b"Q"
    hooks = _global("collections", "OrderedDict") + b")R"
    return _global("torch._utils", "_rebuild_tensor_v2") + _tuple(pid, offset, _tuple(*size), _tuple(*stride),
                                                                  b"\x89", hooks) + b"R"


@pytest.mark.parametrize("tensor, message", [
    (_tensor_raw((_int(1), _long(2**70)), (_int(1), _int(0))), "invalid size"),
    (_tensor_raw((_int(1), _int(1)), (_long(2**70), _int(1))), "invalid size"),
    (_tensor_raw((_int(1),), (_int(1),), offset=_long(2**70)), "invalid size"),
    (_tensor_raw((b"\x88",), (b"\x88",)), "invalid size (True,)"),
    (_tensor_raw((_int(1),) * 65, (_int(1),) * 65), "invalid size"),
    (_tensor_raw((_int(0), _long(2**40), _long(2**40)), (_int(1),) * 3), "dimensions multiply past 2**63 bytes"),
    (_tensor_raw((_int(2**15), _int(2**15)), (_int(0), _int(0))), "has 1073741824 elements, more than the 4"),
], ids=["dim-2**70", "stride-2**70", "offset-2**70", "bool-size", "rank-65", "empty-but-huge", "stride-0-1GiB"])
def test_impossible_tensor_geometry_is_refused_before_allocating(tmp_path, tensor, message):
    path = _write(tmp_path / "c.pt", _state_dict({"w": tensor}), {"0": b"\0" * 16})
    with pytest.raises(TorchZipError, match=r"at pickle byte \d+") as err:
        load(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_a_deflated_checkpoint_loads_but_a_zip_bomb_is_refused_before_inflating(tmp_path):
    weights = np.random.default_rng(0).standard_normal(1024).astype("<f4")
    plain = {"w": _tensor("0", "FloatStorage", 1024, 0, (1024,), (1,))}
    path = _write(tmp_path / "ok.pt", _state_dict(plain), {"0": weights.tobytes()}, compression=zipfile.ZIP_DEFLATED)
    np.testing.assert_array_equal(load(path)["w"], weights)
    n = 1 << 24  # 64 MiB of zeros deflate to about 64 KiB
    bomb = {"w": _tensor("0", "FloatStorage", n, 0, (n,), (1,))}
    path = _write(tmp_path / "bomb.pt", _state_dict(bomb), {"0": bytes(4 * n)}, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(TorchZipError, match=r"would inflate to 67108864 bytes: with the entries before it, more "
                                            r"than 16x the file's size"):
        load(path)


def test_many_views_of_one_storage_cannot_multiply_memory(tmp_path):
    views = {f"w{i}": _tensor("0", "FloatStorage", 1024, i, (1024 - i,), (1,)) for i in range(100)}
    path = _write(tmp_path / "c.pt", _state_dict(views), {"0": b"\0" * 4096})
    with pytest.raises(TorchZipError, match=r"more than \d+ bytes, 16x the checkpoint's size"):
        load(path)


@pytest.mark.parametrize("target, state", [
    (_global("torch._utils", "_rebuild_tensor_v2"), b"}" + _str("x") + _int(1) + b"s"),
    (_global("torch._utils", "_rebuild_tensor_v2"), _tuple(b"N", b"}" + _str("__defaults__") + _tuple(_int(7)) + b"s")),
    (_global("torch._utils", "_rebuild_parameter"), _tuple(b"N", b"}" + _str("__name__") + _str("pwned") + b"s")),
    (_global("torch", "FloatStorage"), _tuple(b"N", b"}" + _str("dtype") + _int(1) + b"s")),
], ids=["function-dict", "function-defaults", "parameter-name", "storage-dtype"])
def test_build_cannot_modify_the_stand_ins(tmp_path, target, state):
    from zoo.importers import torch_zip
    path = _write(tmp_path / "c.pt", b"\x80\x02" + target + state + b"b.", {})
    with pytest.raises(TorchZipError, match="refusing to set state"):
        load(path)
    assert torch_zip._rebuild_tensor_v2.__defaults__ == (False, None, None)
    assert torch_zip._rebuild_parameter.__name__ == "_rebuild_parameter" and not torch_zip._rebuild_tensor_v2.__dict__
    test_any_folder_prefix_and_shared_storage(tmp_path)


def test_one_storage_key_with_two_element_types_is_refused(tmp_path):
    pkl = _state_dict({"w": _tensor("0", "FloatStorage", 4, 0, (4,), (1,)),
                       "v": _tensor("0", "ByteStorage", 16, 0, (16,), (1,))})
    with pytest.raises(TorchZipError, match="storage '0' is a FloatStorage and also a ByteStorage"):
        load(_write(tmp_path / "c.pt", pkl, {"0": b"\0" * 16}))


def test_negative_storage_element_count_is_refused(tmp_path):
    pkl = _state_dict({"w": _tensor("0", "FloatStorage", -1, 0, (1,), (1,))})
    with pytest.raises(TorchZipError, match="unsupported persistent id"):
        load(_write(tmp_path / "c.pt", pkl, {"0": b"\0" * 4}))
