"""The safetensors format at the numpy level: validated header, memory-mapped arrays, atomic writes.

Layout (from the format's specification): an 8-byte little-endian u64 N, then N bytes of a UTF-8 JSON
object mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
byte buffer that follows the header) plus an optional "__metadata__" of string to string; then the buffer.
Nothing here executes code from the file. bfloat16 has no numpy dtype: its arrays come back as uint16 bit
patterns, and `SafetensorsFile.dtype(name)` says "BF16".
"""
from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

# safetensors dtype tag -> (numpy storage dtype, item size)
NUMPY_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_TAG_OF_NUMPY = {np.dtype("<f8"): "F64", np.dtype("<f4"): "F32", np.dtype("<f2"): "F16",
                 np.dtype("<i8"): "I64", np.dtype("<i4"): "I32", np.dtype("<i2"): "I16",
                 np.dtype("i1"): "I8", np.dtype("u1"): "U8", np.dtype("?"): "BOOL"}
MAX_HEADER_BYTES = 100 * 1024 * 1024
MAX_RANK = 64  # numpy's limit on dimensions
_MAX_ARRAY_BYTES = 2**63 - 1  # numpy counts bytes in a signed 64-bit integer, even for an empty array's other dims


class SafetensorsError(ValueError):
    """A file that is not valid safetensors; the message names the file and the byte offset."""

    def __init__(self, path: str | os.PathLike, offset: int, reason: str) -> None:
        self.path = str(path)
        self.offset = offset
        self.reason = reason
        super().__init__(f"{self.path}: invalid safetensors at byte {offset}: {reason}")


@dataclass(frozen=True)
class TensorInfo:
    """Where one tensor lives in the file: dtype tag, shape and byte range inside the data buffer."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]
    data_offset: int  # absolute file offset of the data buffer


def read_header(path: str | os.PathLike) -> Header:
    """Parse and validate the header of a safetensors file without reading the tensor data.

    Every tensor's byte range must lie inside the file, match its dtype and shape, and the ranges must
    tile the buffer with no overlap, so a truncated or tampered file is refused before anything maps it.
    """
    path = Path(path)
    try:
        file_size = path.stat().st_size
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise SafetensorsError(path, len(prefix),
                                       f"file has {file_size} bytes, too short for the 8-byte header length")
            n = int.from_bytes(prefix, "little")
            if 8 + n > file_size:
                raise SafetensorsError(path, 0,
                                       f"header length {n} runs past the end of the {file_size}-byte file (truncated?)")
            if n > MAX_HEADER_BYTES:
                raise SafetensorsError(path, 0, f"header length {n} is larger than the {MAX_HEADER_BYTES} bytes "
                                                "a safetensors header may have")
            raw = f.read(n)
    except OSError as e:
        raise SafetensorsError(path, 0, f"cannot read: {e.strerror or e}") from None
    try:
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_object_without_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        pos = getattr(e, "pos", getattr(e, "start", 0))
        raise SafetensorsError(path, 8 + pos, f"header is not UTF-8 JSON ({e.__class__.__name__})") from None
    except _DuplicateName as e:
        raise SafetensorsError(path, 8, f"header names {e.args[0]!r} twice") from None
    except RecursionError:
        raise SafetensorsError(path, 8, "header JSON is nested too deeply") from None
    except ValueError:  # the only other ValueError: an integer literal longer than Python converts
        raise SafetensorsError(path, 8, f"header JSON has an integer of more than {sys.get_int_max_str_digits()} "
                                        "digits") from None
    if not isinstance(doc, dict):
        raise SafetensorsError(path, 8, "header is not a JSON object")
    metadata = doc.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(
            _is_text(k) and _is_text(v) for k, v in metadata.items()):
        raise SafetensorsError(path, 8, f"__metadata__ must map strings to strings, got {_abbrev(metadata)}")
    data_offset = 8 + n
    buffer_size = file_size - data_offset
    tensors: dict[str, TensorInfo] = {}
    for name, spec in doc.items():
        tensors[name] = _tensor_info(path, name, spec, data_offset, buffer_size)
    covered = 0
    for name, info in sorted(tensors.items(), key=lambda kv: (kv[1].begin, kv[1].end)):
        if info.begin != covered:
            what = "overlaps the previous tensor" if info.begin < covered else f"leaves a gap at {covered}"
            raise SafetensorsError(path, data_offset + info.begin, f"tensor {name!r} {what}")
        covered = info.end
    if covered != buffer_size:
        raise SafetensorsError(path, data_offset + covered,
                               f"data buffer has {buffer_size} bytes but the tensors cover {covered}")
    return Header(tensors, dict(metadata), data_offset)


class _DuplicateName(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # json.loads would keep the last of two equal names and silently drop the other tensor
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateName(key)
        out[key] = value
    return out


def _is_text(value: object) -> bool:
    """A str that is valid Unicode: JSON escapes can smuggle in lone surrogates, which no UTF-8 file can hold."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _abbrev(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 0  # JSON true/false arrive as bool, a subclass of int


def _tensor_info(path: Path, name: str, spec: object, data_offset: int, buffer_size: int) -> TensorInfo:
    if not _is_text(name):
        raise SafetensorsError(path, 8, f"tensor name {name!r} is not valid Unicode")
    if not isinstance(spec, dict):
        raise SafetensorsError(path, 8, f"entry {name!r} is not an object")
    dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in NUMPY_DTYPES:
        raise SafetensorsError(path, 8, f"tensor {name!r} has unsupported dtype {_abbrev(dtype)} "
                                        f"(supported: {', '.join(NUMPY_DTYPES)})")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise SafetensorsError(path, 8, f"tensor {name!r} has an invalid shape {_abbrev(shape)}")
    if len(shape) > MAX_RANK:
        raise SafetensorsError(path, 8, f"tensor {name!r} has {len(shape)} dimensions (at most {MAX_RANK})")
    itemsize = NUMPY_DTYPES[dtype].itemsize
    if math.prod(d for d in shape if d) * itemsize > _MAX_ARRAY_BYTES:
        raise SafetensorsError(path, 8, f"tensor {name!r} has an impossible shape {_abbrev(tuple(shape))}: "
                                        "its dimensions multiply past 2**63 bytes")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets)
            or not offsets[0] <= offsets[1]):
        raise SafetensorsError(path, 8, f"tensor {name!r} has invalid data_offsets {_abbrev(offsets)}")
    begin, end = offsets
    if end > buffer_size:
        raise SafetensorsError(path, data_offset + buffer_size,
                               f"tensor {name!r} ends at {data_offset + end} but the file ends at "
                               f"{data_offset + buffer_size} (truncated?)")
    expected = math.prod(shape) * itemsize
    if end - begin != expected:
        raise SafetensorsError(path, data_offset + begin,
                               f"tensor {name!r} of dtype {dtype} and shape {tuple(shape)} needs {expected} bytes, "
                               f"the file gives it {end - begin}")
    return TensorInfo(dtype, tuple(shape), begin, end)


class SafetensorsFile:
    """A validated safetensors file whose arrays are read-only memory maps (nothing is copied).

    With copy_on_write=True the map is private: a write through another view (a core Tensor sharing the
    memory) changes only this process's copy of that page, never the file.

    >>> f = SafetensorsFile("model.safetensors")
    >>> f.array("embeddings.weight").shape
    (30522, 384)
    """

    def __init__(self, path: str | os.PathLike, copy_on_write: bool = False) -> None:
        self.path = Path(path)
        self.header = read_header(self.path)
        self._map = None
        if self.header.tensors and self.path.stat().st_size > self.header.data_offset:
            # A private (copy-on-write) map lets engines that write in place do so without a fault; the file
            # itself is never modified either way.
            self._map = np.memmap(self.path, dtype=np.uint8, mode="c" if copy_on_write else "r")

    @property
    def metadata(self) -> dict[str, str]:
        return self.header.metadata

    def names(self) -> list[str]:
        return list(self.header.tensors)

    def dtype(self, name: str) -> str:
        return self._info(name).dtype

    def array(self, name: str) -> np.ndarray:
        """The tensor as a read-only numpy view of the mapped file (bfloat16 as uint16 bits)."""
        info = self._info(name)
        np_dtype = NUMPY_DTYPES[info.dtype]
        if info.end == info.begin:
            return np.zeros(info.shape, dtype=np_dtype)
        start = self.header.data_offset + info.begin
        arr = self._map[start:self.header.data_offset + info.end].view(np_dtype).reshape(info.shape)
        arr.flags.writeable = False
        return arr

    def _info(self, name: str) -> TensorInfo:
        try:
            return self.header.tensors[name]
        except KeyError:
            raise KeyError(f"{self.path}: no tensor named {name!r}") from None


def save_arrays(arrays: Mapping[str, tuple[str, np.ndarray]], path: str | os.PathLike,
                metadata: Mapping[str, str] | None = None) -> None:
    """Write {name: (dtype tag, array)} as safetensors: temp file in the same folder, fsync, atomic rename."""
    path = Path(path)
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    blobs = []
    for name, (tag, arr) in arrays.items():
        if tag not in NUMPY_DTYPES:
            raise TypeError(f"save: tensor {name!r} has unsupported dtype tag {tag!r}")
        data = np.asarray(arr, dtype=NUMPY_DTYPES[tag], order="C")  # keeps 0-d shapes, unlike ascontiguousarray
        nbytes = data.nbytes
        header[name] = {"dtype": tag, "shape": list(data.shape), "data_offsets": [offset, offset + nbytes]}
        blobs.append(data)
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-(8 + len(raw)) % 8)  # pad so the data buffer starts 8-byte aligned
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(len(raw).to_bytes(8, "little"))
            f.write(raw)
            for data in blobs:
                f.write(memoryview(data.reshape(-1)).cast("B"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; weights are meant to be readable like any written file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def tag_of(arr: np.ndarray) -> str:
    """The safetensors dtype tag of a numpy array's dtype."""
    try:
        return _TAG_OF_NUMPY[arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype]
    except KeyError:
        raise TypeError(f"safetensors has no dtype for numpy {arr.dtype}") from None
