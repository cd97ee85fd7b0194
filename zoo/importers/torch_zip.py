"""PyTorch zip checkpoints (`torch.save` since torch 1.6) read into numpy, without torch and without running code.

Layout (from torch/serialization.py): a zip whose entries share one folder prefix; `<prefix>/data.pkl` is a
pickle of the saved object in which each tensor is a call `torch._utils._rebuild_tensor_v2(storage, offset,
size, stride, requires_grad, hooks)` on a persistent id `("storage", torch.FloatStorage, key, location,
numel)`; `<prefix>/data/<key>` holds that storage's raw bytes and `<prefix>/byteorder` says "little" or "big".

The unpickler resolves only the globals in `ALLOWED_GLOBALS`, each to a stand-in of ours; any other global
(`os.system`, `builtins.eval`, ...) is refused when the pickle names it, before anything could be called.
"""
from __future__ import annotations

import collections
import io
import math
import os
import pickle
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from zoo.importers import ImporterError

# torch storage class name -> numpy dtype of its elements (bfloat16 arrives as uint16 bits, widened below)
STORAGE_DTYPES: dict[str, np.dtype] = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}
MAX_EXPANSION = 16  # the tensors of one checkpoint may take at most this many times its size in memory


class TorchZipError(ImporterError):
    """A PyTorch checkpoint that is malformed, truncated, or asks the unpickler for something not allowed."""


def _refuse_state(obj: object, state: object) -> None:
    # BUILD would otherwise setattr on our stand-ins (slots too), letting a file rewrite them
    raise pickle.UnpicklingError(f"refusing to set state {state!r:.60} on {obj!r}: a checkpoint may not modify "
                                 "what it references")


class _StorageType:
    """Stand-in for a `torch.*Storage` class; a BUILD opcode on it is refused."""

    __slots__ = ("dtype", "name")

    def __init__(self, name: str, dtype: np.dtype) -> None:
        self.name = name
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    __setstate__ = _refuse_state


class _Function:
    """A fresh stand-in for an allowed torch function per reference, so the pickle never holds ours."""

    __slots__ = ("fn", "name")

    def __init__(self, name: str, fn: Callable[..., object]) -> None:
        self.name = name
        self.fn = fn

    def __call__(self, *args: object) -> object:
        return self.fn(*args)

    def __repr__(self) -> str:
        return f"torch._utils.{self.name}"

    __setstate__ = _refuse_state


class _Storage:
    """One storage's elements as a flat read-only array, with the zip entry it came from (for errors)."""

    __slots__ = ("archive", "array", "bfloat16", "entry", "kind")

    def __init__(self, archive: _Archive, array: np.ndarray, entry: str, kind: _StorageType) -> None:
        self.archive = archive
        self.array = array
        self.entry = entry
        self.kind = kind
        self.bfloat16 = kind.name == "BFloat16Storage"

    __setstate__ = _refuse_state


MAX_RANK = 64  # numpy's limit on dimensions
_MAX_INDEX = 2**63 - 1  # numpy sizes, strides and offsets are signed 64-bit


def _is_index(value: object) -> bool:
    return type(value) is int and 0 <= value <= _MAX_INDEX  # a pickled True is a bool, a subclass of int


def _rebuild_tensor_v2(storage: object, storage_offset: object, size: object, stride: object,
                       requires_grad: object = False, backward_hooks: object = None,
                       metadata: object = None) -> np.ndarray:
    if not isinstance(storage, _Storage):
        raise TypeError(f"_rebuild_tensor_v2: expected a storage, got {type(storage).__name__}")
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride) <= MAX_RANK
            and all(_is_index(v) for v in size + stride) and _is_index(storage_offset)):
        raise TypeError(f"_rebuild_tensor_v2: invalid size {size!r:.200}, stride {stride!r:.200} or offset "
                        f"{storage_offset!r}")
    flat = storage.array
    numel = math.prod(size)
    if math.prod(n for n in size if n) * flat.itemsize > _MAX_INDEX:
        raise ValueError(f"tensor of size {size} is impossible: its dimensions multiply past 2**63 bytes")
    if numel > flat.size:
        # only an overlapping view (stride 0, as expand makes) has more elements than its storage; we would copy it
        raise ValueError(f"tensor of size {size} and stride {stride} has {numel} elements, more than the "
                         f"{flat.size} of its storage {storage.entry!r}")
    storage.archive.spend(numel * flat.itemsize * (2 if storage.bfloat16 else 1))
    if numel == 0:
        out = np.zeros(size, dtype=flat.dtype)
    else:
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise ValueError(f"tensor of size {size} and stride {stride} at offset {storage_offset} reads element "
                             f"{last} of storage {storage.entry!r}, which has {flat.size} elements")
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(flat[storage_offset:], shape=size,
                                               strides=tuple(s * item for s in stride), writeable=False)
        out = np.array(view, dtype=flat.dtype.newbyteorder("="), order="C")
    if storage.bfloat16:  # bfloat16 is the top half of a float32: widening is exact
        out = (out.astype(np.uint32) << 16).view(np.float32)
    return out


def _rebuild_parameter(data: object, requires_grad: object = False, backward_hooks: object = None) -> object:
    if not isinstance(data, np.ndarray):
        raise TypeError(f"_rebuild_parameter: expected a tensor, got {type(data).__name__}")
    return data


# (module, name) -> what the pickle gets instead; the complete list of what a checkpoint may reference.
ALLOWED_GLOBALS: dict[tuple[str, str], Callable[[], object]] = {
    ("collections", "OrderedDict"): lambda: collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): lambda: _Function("_rebuild_tensor_v2", _rebuild_tensor_v2),
    ("torch._utils", "_rebuild_parameter"): lambda: _Function("_rebuild_parameter", _rebuild_parameter),
    **{("torch", name): (lambda name=name, dt=dt: _StorageType(name, dt)) for name, dt in STORAGE_DTYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: io.BytesIO, archive: _Archive) -> None:
        super().__init__(data)
        self._archive = archive

    def find_class(self, module: str, name: str) -> Any:
        make = ALLOWED_GLOBALS.get((module, name))
        if make is None:
            raise pickle.UnpicklingError(
                f"refusing global {module}.{name}: a checkpoint may only reference tensors "
                f"({', '.join(sorted({m for m, _ in ALLOWED_GLOBALS}))})")
        return make()

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str) and _is_index(pid[4])):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r} (expected a torch storage)")
        return self._archive.storage(pid[1], pid[2], pid[4])


class _Archive:
    """The zip side: finds the prefix, reads each storage once (tensors may share one)."""

    def __init__(self, path: Path, zf: zipfile.ZipFile) -> None:
        self.path = path
        self.zf = zf
        pickles = [n for n in zf.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise TorchZipError(path, f"expected one data.pkl entry in the zip, found {len(pickles)} "
                                      f"(is this a torch.save checkpoint?)")
        self.pickle_entry = pickles[0]
        self.prefix = pickles[0][: -len("data.pkl")]
        self.inflate_left = MAX_EXPANSION * path.stat().st_size  # the same bound on what compressed entries inflate to
        self.big_endian = self._byteorder() == "big"
        self._storages: dict[str, _Storage] = {}
        # Each tensor is copied out of its storage; many views of one big storage would multiply memory without
        # bound. Real checkpoints stay well under this: bfloat16 widens x2, and an embedding tied under several
        # names (T5's shared, encoder and decoder embeddings and its head) counts once per name.
        self.bytes_left = MAX_EXPANSION * path.stat().st_size

    def spend(self, nbytes: int) -> None:
        if nbytes > self.bytes_left:
            raise ValueError(f"the tensors would take more than {MAX_EXPANSION * self.path.stat().st_size} bytes, "
                             f"{MAX_EXPANSION}x the checkpoint's size: are many tensors views of one storage?")
        self.bytes_left -= nbytes

    def _byteorder(self) -> str:
        name = self.prefix + "byteorder"
        if name not in self.zf.NameToInfo:
            return "little"
        order = self.read(name).decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            raise TorchZipError(self.path, f"entry {name!r} says byte order {order!r}, expected little or big",
                                self.zf.getinfo(name).header_offset)
        return order

    def read(self, name: str) -> bytes:
        info = self.zf.getinfo(name)
        if info.compress_type != zipfile.ZIP_STORED:  # torch.save stores entries; a re-zipped file may deflate them
            if info.file_size > self.inflate_left:  # a zip bomb: a small file that inflates to gigabytes
                raise TorchZipError(self.path, f"zip entry {name!r} would inflate to {info.file_size} bytes: with the "
                                               f"entries before it, more than {MAX_EXPANSION}x the file's size",
                                    info.header_offset)
            self.inflate_left -= info.file_size
        try:
            return self.zf.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
            raise TorchZipError(self.path, f"cannot read zip entry {name!r}: {e}", info.header_offset) from None

    def storage(self, kind: _StorageType, key: str, numel: int) -> _Storage:
        if key in self._storages:
            storage = self._storages[key]
            if storage.kind.name != kind.name:
                raise pickle.UnpicklingError(f"storage {key!r} is a {storage.kind.name} and also a {kind.name}")
            return storage
        name = f"{self.prefix}data/{key}"
        if name not in self.zf.NameToInfo:
            raise pickle.UnpicklingError(f"storage {key!r} has no zip entry {name!r}")
        info = self.zf.getinfo(name)
        expected = numel * kind.dtype.itemsize
        if info.file_size != expected:
            raise TorchZipError(self.path, f"entry {name!r} holds {info.file_size} bytes, but its {kind.name} of "
                                           f"{numel} elements needs {expected}", info.header_offset)
        dtype = kind.dtype.newbyteorder(">") if self.big_endian else kind.dtype
        array = np.frombuffer(self.read(name), dtype=dtype)
        storage = _Storage(self, array, name, kind)
        self._storages[key] = storage
        return storage


def load(path: str | os.PathLike) -> Any:
    """Unpickle a PyTorch zip checkpoint with every tensor as a numpy array (bfloat16 widened to float32).

    Only tensors, storages and OrderedDict may be referenced; plain containers and numbers come back as they
    are. Raises TorchZipError naming the file (and the entry and byte offset) for anything else.

    >>> sd = load("pytorch_model.bin")
    >>> sd["embeddings.word_embeddings.weight"].shape
    (30522, 384)
    """
    path = Path(path)
    if not path.is_file():
        raise TorchZipError(path, "file not found")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        size = path.stat().st_size
        with open(path, "rb") as f:
            legacy = f.read(2) == b"\x80\x02"
        hint = ("a legacy (torch < 1.6) pickle checkpoint, which is not supported: re-save it with torch.save"
                if legacy else f"not a zip archive or truncated: no readable central directory ({e})")
        raise TorchZipError(path, hint, 0 if legacy else size) from None
    with zf:
        archive = _Archive(path, zf)
        data = io.BytesIO(archive.read(archive.pickle_entry))
        try:
            return _RestrictedUnpickler(data, archive).load()
        except ImporterError:
            raise
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, KeyError, AttributeError, IndexError,
                RecursionError, MemoryError, OverflowError) as e:
            raise TorchZipError(path, f"entry {archive.pickle_entry!r} at pickle byte {data.tell()}: {e}",
                                zf.getinfo(archive.pickle_entry).header_offset) from None


def load_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a checkpoint that holds a state dict (name -> tensor), as torch.save(model.state_dict()) writes.

    >>> weights = load_state_dict("pytorch_model.bin")
    """
    obj = load(path)
    if not isinstance(obj, dict):
        raise TorchZipError(path, f"holds a {type(obj).__name__}, expected a state dict of name -> tensor")
    out: dict[str, np.ndarray] = {}
    for name, value in obj.items():
        if not isinstance(name, str) or not isinstance(value, np.ndarray):
            raise TorchZipError(path, f"state dict entry {name!r} is a {type(value).__name__}, expected a tensor")
        out[name] = value
    return out
