"""CTranslate2 `model.bin` reader and the Whisper converter into our format.

The layout (binary version 6, as the ctranslate2 package's `specs/model_spec.py` writes it), all integers
little-endian:

    u32 binary version | string spec name | u32 spec revision | u32 variable count
    per variable: string name | u8 rank | rank x u32 dims | u8 dtype id | u32 byte count | bytes
    u32 alias count | per alias: string alias | string target variable

A string is a u16 length that counts a trailing NUL, then the bytes and the NUL. dtype ids follow the
DataType enum of the C++ library: float32, int8, int16, int32, float16, bfloat16. The reader never trusts
a length before checking it against the bytes left in the file, and reports the offset of what is wrong.
"""
from __future__ import annotations

import json
import math
import mmap
import os
import shutil
import struct
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.importers import ImporterError, write_atomic

SUPPORTED_BINARY_VERSIONS = (5, 6)
DTYPES = (np.dtype("<f4"), np.dtype("i1"), np.dtype("<i2"), np.dtype("<i4"), np.dtype("<f2"), None)
DTYPE_NAMES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
MAX_RANK = 8
MAX_VARIABLES = 100_000
Progress = Callable[[int, int], None]
# Flags of the decoder spec that a Whisper decoder must have (activation 3 = exact GELU in CTranslate2's enum).
DECODER_FLAGS = {"decoder/activation": 3, "decoder/pre_norm": 1, "decoder/scale_embeddings": 0, "decoder/alibi": 0}


@dataclass(frozen=True)
class Variable:
    """One stored variable: its shape, dtype and where its bytes lie in the file."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    offset: int
    nbytes: int


@dataclass(frozen=True)
class ModelBin:
    """The validated index of a model.bin: spec name and revision, variables, aliases (alias -> variable)."""

    path: Path
    version: int
    spec: str
    revision: int
    variables: dict[str, Variable]
    aliases: dict[str, str]

    def resolve(self, name: str) -> Variable:
        """The variable stored under name, following an alias if name is one."""
        target = self.aliases.get(name, name)
        try:
            return self.variables[target]
        except KeyError:
            raise KeyError(f"{self.path}: no variable or alias named {name!r}") from None

    def names(self) -> list[str]:
        return list(self.variables) + list(self.aliases)


class _Cursor:
    """Bounds-checked little-endian reads over a byte buffer; every failure names the file and offset."""

    def __init__(self, path: Path, data: bytes | mmap.mmap) -> None:
        self.path, self.data, self.pos, self.size = path, data, 0, len(data)

    def fail(self, reason: str, offset: int | None = None) -> ImporterError:
        return ImporterError(self.path, reason, offset=self.pos if offset is None else offset)

    def need(self, n: int, what: str) -> int:
        if n > self.size - self.pos:
            raise self.fail(f"{what} needs {n} bytes but the file ends at byte {self.size} (truncated?)")
        start = self.pos
        self.pos += n
        return start

    def unpack(self, fmt: str, what: str) -> int:
        start = self.need(struct.calcsize(fmt), what)
        return struct.unpack_from(fmt, self.data, start)[0]

    def string(self, what: str) -> str:
        at = self.pos
        length = self.unpack("<H", f"length of {what}")
        if length == 0:
            raise self.fail(f"{what} has length 0 (a string stores at least its NUL terminator)", at)
        start = self.need(length, what)
        raw = bytes(self.data[start:start + length])
        if raw[-1] != 0:
            raise self.fail(f"{what} is not NUL-terminated", start + length - 1)
        try:
            text = raw[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{what} is not UTF-8", start) from None
        if "\0" in text:
            raise self.fail(f"{what} contains a NUL byte before its end", start)
        return text


def parse_model_bin(path: str | os.PathLike, data: bytes | mmap.mmap) -> ModelBin:
    """Validate the whole index of a model.bin held in data (bytes or a memory map) and return it.

    Every variable is checked: a non-empty unique name, rank <= 8, a known dtype, a byte count equal to
    the product of the dims times the item size, and bytes inside the file; every alias must name a
    stored variable; nothing may follow the alias table.
    """
    cur = _Cursor(Path(path), data)
    version = cur.unpack("<I", "binary version")
    if version not in SUPPORTED_BINARY_VERSIONS:
        raise cur.fail(f"binary version {version} is not supported (this reader knows "
                       f"{', '.join(map(str, SUPPORTED_BINARY_VERSIONS))}); is this a CTranslate2 model.bin?", 0)
    spec = cur.string("spec name")
    revision = cur.unpack("<I", "spec revision")
    count_at = cur.pos
    count = cur.unpack("<I", "variable count")
    if count > MAX_VARIABLES:
        raise cur.fail(f"variable count {count} is implausible (more than {MAX_VARIABLES})", count_at)
    variables: dict[str, Variable] = {}
    for index in range(count):
        entry_at = cur.pos
        name = cur.string(f"name of variable {index}")
        if not name:
            raise cur.fail(f"variable {index} has an empty name", entry_at)
        if name in variables:
            raise cur.fail(f"variable {name!r} is stored twice", entry_at)
        rank_at = cur.pos
        rank = cur.unpack("<B", f"rank of {name!r}")
        if rank > MAX_RANK:
            raise cur.fail(f"variable {name!r} has rank {rank} (at most {MAX_RANK})", rank_at)
        shape = tuple(cur.unpack("<I", f"dim {i} of {name!r}") for i in range(rank))
        dtype_at = cur.pos
        dtype_id = cur.unpack("<B", f"dtype of {name!r}")
        if dtype_id >= len(DTYPE_NAMES):
            raise cur.fail(f"variable {name!r} has unknown dtype id {dtype_id} "
                           f"(known: {', '.join(f'{i}={n}' for i, n in enumerate(DTYPE_NAMES))})", dtype_at)
        nbytes_at = cur.pos
        nbytes = cur.unpack("<I", f"byte count of {name!r}")
        itemsize = 2 if DTYPES[dtype_id] is None else DTYPES[dtype_id].itemsize
        expected = math.prod(shape) * itemsize
        if nbytes != expected:
            raise cur.fail(f"variable {name!r} of shape {shape} and dtype {DTYPE_NAMES[dtype_id]} needs "
                           f"{expected} bytes but declares {nbytes}", nbytes_at)
        offset = cur.need(nbytes, f"data of {name!r}")
        variables[name] = Variable(name, shape, DTYPE_NAMES[dtype_id], offset, nbytes)
    aliases: dict[str, str] = {}
    alias_count_at = cur.pos
    alias_count = cur.unpack("<I", "alias count")
    if alias_count > MAX_VARIABLES:
        raise cur.fail(f"alias count {alias_count} is implausible", alias_count_at)
    for index in range(alias_count):
        entry_at = cur.pos
        alias = cur.string(f"alias {index}")
        target = cur.string(f"target of alias {alias!r}")
        if alias in variables or alias in aliases:
            raise cur.fail(f"alias {alias!r} is defined twice or shadows a variable", entry_at)
        if target not in variables:
            raise cur.fail(f"alias {alias!r} points at {target!r}, which is not a stored variable", entry_at)
        aliases[alias] = target
    if cur.pos != cur.size:
        raise cur.fail(f"{cur.size - cur.pos} unexpected bytes after the alias table")
    return ModelBin(Path(path), version, spec, revision, variables, aliases)


@contextmanager
def open_model_bin(path: str | os.PathLike) -> Iterator[tuple[ModelBin, mmap.mmap | bytes]]:
    """Memory-map a model.bin, validate its index, and yield (index, mapped bytes) for array reads.

    >>> with open_model_bin("model.bin") as (index, data):
    ...     weight = read_array(index, data, "decoder/embeddings/weight")
    """
    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise ImporterError(path, f"cannot open: {exc.strerror or exc}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        data: mmap.mmap | bytes = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        try:
            yield parse_model_bin(path, data), data
        finally:
            if isinstance(data, mmap.mmap):
                try:
                    data.close()
                except BufferError:  # a caller still holds a view (say, in a traceback): it unmaps when freed
                    pass


def read_array(index: ModelBin, data: bytes | mmap.mmap, name: str) -> np.ndarray:
    """A variable as a new numpy array; floating point (float16, bfloat16, float32) comes back float32."""
    var = index.resolve(name)
    raw = np.frombuffer(data, dtype=np.uint8, count=var.nbytes, offset=var.offset)
    if var.dtype == "bfloat16":
        bits = raw.view("<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(var.shape)
    arr = raw.view(DTYPES[DTYPE_NAMES.index(var.dtype)]).reshape(var.shape)
    if var.dtype in ("float16", "float32"):
        return arr.astype(np.float32)
    return arr.copy()


def concatenate_parts(parts: Iterable[str | os.PathLike], dest: str | os.PathLike,
                      progress: Progress | None = None) -> Path:
    """Join split files (model.bin.part1, .part2, ...) into dest by streaming, one chunk in memory at a time."""
    parts = [Path(p) for p in parts]
    dest = Path(dest)
    total = sum(p.stat().st_size for p in parts)
    done = 0
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(1 << 22):
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


# ---- Whisper: CTranslate2 WhisperSpec names -> our names (zoo/speech/model.py) ----

def _scalar(index: ModelBin, data, name: str) -> int:
    arr = read_array(index, data, name)
    if arr.size != 1:
        raise ImporterError(index.path, f"{name!r} should be a scalar, has shape {arr.shape}",
                            offset=index.resolve(name).offset)
    value = arr.reshape(()).item()
    if not float(value).is_integer():
        raise ImporterError(index.path, f"{name!r} should be a whole number, is {value}",
                            offset=index.resolve(name).offset)
    return int(value)


def _shape(index: ModelBin, name: str, rank: int) -> tuple[int, ...]:
    var = index.resolve(name)
    if len(var.shape) != rank:
        raise ImporterError(index.path, f"{name!r} should have {rank} dimensions, has shape {var.shape}",
                            offset=var.offset)
    return var.shape


def _count_layers(index: ModelBin, prefix: str) -> int:
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in index.variables:
        n += 1
    return n


def whisper_dims(index: ModelBin, data) -> dict:
    """Hyper-parameters of a WhisperSpec model, read off tensor shapes and the int16 num_heads scalars."""
    if index.spec != "WhisperSpec":
        raise ImporterError(index.path, f"spec is {index.spec!r}, expected 'WhisperSpec' (not a Whisper model)")
    try:
        emb = _shape(index, "decoder/embeddings/weight", 2)
        pos_dec = _shape(index, "decoder/position_encodings/encodings", 2)
        pos_enc = _shape(index, "encoder/position_encodings/encodings", 2)
        conv1 = _shape(index, "encoder/conv1/weight", 3)
        dims = {
            "n_mels": conv1[1],
            "n_audio_ctx": pos_enc[0],
            "n_audio_state": pos_enc[1],
            "n_audio_head": _scalar(index, data, "encoder/num_heads"),
            "n_audio_layer": _count_layers(index, "encoder"),
            "n_vocab": emb[0],
            "n_text_ctx": pos_dec[0],
            "n_text_state": emb[1],
            "n_text_head": _scalar(index, data, "decoder/num_heads"),
            "n_text_layer": _count_layers(index, "decoder"),
        }
    except KeyError as exc:
        raise ImporterError(index.path, f"not a complete WhisperSpec model: {exc.args[0]}") from None
    for name, expected in DECODER_FLAGS.items():
        if name in index.variables and _scalar(index, data, name) != expected:
            raise ImporterError(index.path, f"{name} is {_scalar(index, data, name)}, Whisper needs {expected}",
                                offset=index.variables[name].offset)
    for key in ("n_audio_state", "n_text_state"):
        head_key = key.replace("state", "head")
        if dims[head_key] <= 0 or dims[key] % dims[head_key]:
            raise ImporterError(index.path, f"{key} {dims[key]} is not divisible by {head_key} {dims[head_key]}")
    return dims


def _whisper_tensors(index: ModelBin, dims: dict) -> Iterator[tuple[str, str, Callable[[np.ndarray], list]]]:
    """(our name prefix, ct2 name, split function) for every tensor; fused QKV/KV are split in our layout."""
    def plain(arr: np.ndarray) -> list:
        return [("", arr)]

    kv_weight, kv_bias = _suffixed((".key.weight", ".value.weight")), _suffixed((".key.bias", ".value.bias"))
    yield "encoder.conv1.weight", "encoder/conv1/weight", plain
    yield "encoder.conv1.bias", "encoder/conv1/bias", plain
    yield "encoder.conv2.weight", "encoder/conv2/weight", plain
    yield "encoder.conv2.bias", "encoder/conv2/bias", plain
    yield "encoder.positional_embedding", "encoder/position_encodings/encodings", plain
    yield "encoder.ln_post.weight", "encoder/layer_norm/gamma", plain
    yield "encoder.ln_post.bias", "encoder/layer_norm/beta", plain
    for side, n in (("encoder", dims["n_audio_layer"]), ("decoder", dims["n_text_layer"])):
        for i in range(n):
            ct, ours = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            yield from _block(ct, ours, plain)
            if side == "decoder":
                yield f"{ours}.cross_attn.query.weight", f"{ct}/attention/linear_0/weight", plain
                yield f"{ours}.cross_attn.query.bias", f"{ct}/attention/linear_0/bias", plain
                yield f"{ours}.cross_attn", f"{ct}/attention/linear_1/weight", kv_weight
                yield f"{ours}.cross_attn", f"{ct}/attention/linear_1/bias", kv_bias
                yield f"{ours}.cross_attn.out.weight", f"{ct}/attention/linear_2/weight", plain
                yield f"{ours}.cross_attn.out.bias", f"{ct}/attention/linear_2/bias", plain
                yield f"{ours}.cross_attn_ln.weight", f"{ct}/attention/layer_norm/gamma", plain
                yield f"{ours}.cross_attn_ln.bias", f"{ct}/attention/layer_norm/beta", plain
            yield f"{ours}.mlp_ln.weight", f"{ct}/ffn/layer_norm/gamma", plain
            yield f"{ours}.mlp_ln.bias", f"{ct}/ffn/layer_norm/beta", plain
            yield f"{ours}.mlp.0.weight", f"{ct}/ffn/linear_0/weight", plain
            yield f"{ours}.mlp.0.bias", f"{ct}/ffn/linear_0/bias", plain
            yield f"{ours}.mlp.2.weight", f"{ct}/ffn/linear_1/weight", plain
            yield f"{ours}.mlp.2.bias", f"{ct}/ffn/linear_1/bias", plain
    yield "decoder.token_embedding.weight", "decoder/embeddings/weight", plain
    yield "decoder.positional_embedding", "decoder/position_encodings/encodings", plain
    yield "decoder.ln.weight", "decoder/layer_norm/gamma", plain
    yield "decoder.ln.bias", "decoder/layer_norm/beta", plain


def _block(ct: str, ours: str, plain):
    """The self-attention of a layer: fused QKV split into query, key and value."""
    ct_attn, our_attn = "self_attention", "attn"
    qkv_w = (f".{s}.weight" for s in ("query", "key", "value"))
    qkv_b = (f".{s}.bias" for s in ("query", "key", "value"))
    yield f"{ours}.{our_attn}", f"{ct}/{ct_attn}/linear_0/weight", _suffixed(tuple(qkv_w))
    yield f"{ours}.{our_attn}", f"{ct}/{ct_attn}/linear_0/bias", _suffixed(tuple(qkv_b))
    yield f"{ours}.{our_attn}.out.weight", f"{ct}/{ct_attn}/linear_1/weight", plain
    yield f"{ours}.{our_attn}.out.bias", f"{ct}/{ct_attn}/linear_1/bias", plain
    yield f"{ours}.{our_attn}_ln.weight", f"{ct}/{ct_attn}/layer_norm/gamma", plain
    yield f"{ours}.{our_attn}_ln.bias", f"{ct}/{ct_attn}/layer_norm/beta", plain


def _suffixed(suffixes: tuple[str, ...]) -> Callable[[np.ndarray], list]:
    def split(arr: np.ndarray) -> list:
        if arr.shape[0] % len(suffixes):
            raise ValueError(f"first dim {arr.shape[0]} does not split into {len(suffixes)}")
        return list(zip(suffixes, np.split(arr, len(suffixes), axis=0)))
    return split


def _expected_shapes(dims: dict) -> dict[str, tuple[int, ...]]:
    """Our tensor names and the shapes the architecture needs, so a wrong-shaped source is refused."""
    a, t, m = dims["n_audio_state"], dims["n_text_state"], dims["n_mels"]
    shapes: dict[str, tuple[int, ...]] = {
        "encoder.conv1.weight": (a, m, 3), "encoder.conv1.bias": (a,),
        "encoder.conv2.weight": (a, a, 3), "encoder.conv2.bias": (a,),
        "encoder.positional_embedding": (dims["n_audio_ctx"], a),
        "encoder.ln_post.weight": (a,), "encoder.ln_post.bias": (a,),
        "decoder.token_embedding.weight": (dims["n_vocab"], t),
        "decoder.positional_embedding": (dims["n_text_ctx"], t),
        "decoder.ln.weight": (t,), "decoder.ln.bias": (t,),
    }
    for side, n, d in (("encoder", dims["n_audio_layer"], a), ("decoder", dims["n_text_layer"], t)):
        attns = ("attn", "cross_attn") if side == "decoder" else ("attn",)
        for i in range(n):
            p = f"{side}.blocks.{i}"
            for attn in attns:
                for proj in ("query", "key", "value", "out"):
                    shapes[f"{p}.{attn}.{proj}.weight"] = (d, d)
                    shapes[f"{p}.{attn}.{proj}.bias"] = (d,)
                shapes[f"{p}.{attn}_ln.weight"] = shapes[f"{p}.{attn}_ln.bias"] = (d,)
            shapes[f"{p}.mlp_ln.weight"] = shapes[f"{p}.mlp_ln.bias"] = (d,)
            shapes[f"{p}.mlp.0.weight"], shapes[f"{p}.mlp.0.bias"] = (4 * d, d), (4 * d,)
            shapes[f"{p}.mlp.2.weight"], shapes[f"{p}.mlp.2.bias"] = (d, 4 * d), (d,)
    return shapes


def whisper_state_dict(index: ModelBin, data, dims: dict,
                       progress: Progress | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (our name, float32 array) for every Whisper tensor, one source variable in memory at a time."""
    expected = _expected_shapes(dims)
    items = list(_whisper_tensors(index, dims))
    total = sum(index.resolve(ct).nbytes for _, ct, _ in items if ct in index.variables or ct in index.aliases)
    done = 0
    seen: set[str] = set()
    for ours, ct, split in items:
        try:
            var = index.resolve(ct)
        except KeyError:
            raise ImporterError(index.path, f"missing variable {ct!r} (needed for {ours})") from None
        if var.dtype not in ("float16", "float32", "bfloat16"):
            raise ImporterError(index.path, f"variable {ct!r} has dtype {var.dtype}; this importer reads "
                                            "float models (float16/bfloat16/float32), not quantized ones",
                                offset=var.offset)
        arr = read_array(index, data, ct)
        try:
            pieces = split(arr)
        except ValueError as exc:
            raise ImporterError(index.path, f"variable {ct!r}: {exc}", offset=var.offset) from None
        for suffix, piece in pieces:
            name = ours + suffix
            if name not in expected:
                raise ImporterError(index.path, f"internal: {name} is not a Whisper parameter")
            if piece.shape != expected[name]:
                raise ImporterError(index.path, f"variable {ct!r} gives {name} shape {piece.shape}, the model "
                                                f"needs {expected[name]}", offset=var.offset)
            seen.add(name)
            yield name, np.ascontiguousarray(piece, dtype=np.float32)
        done += var.nbytes
        if progress:
            progress(done, total)
    missing = sorted(set(expected) - seen)
    if missing:
        raise ImporterError(index.path, f"no source for {', '.join(missing[:5])}")


def convert_whisper(model_bin: str | os.PathLike, ct2_config: str | os.PathLike,
                    tokenizer_json: str | os.PathLike, dest: str | os.PathLike,
                    vocabulary: str | os.PathLike | None = None, extra_config: dict | None = None,
                    progress: Progress | None = None) -> dict:
    """Convert a CTranslate2 Whisper folder's files into our model folder dest; returns our config.

    dest gets model.safetensors (float32, our names), config.json ({"architecture": "whisper", dims,
    alignment heads, suppress ids, language ids, special token ids}), tokenizer.json and vocabulary.txt.
    """
    from core.io.safetensors import save_arrays
    from zoo.speech.tokenizer import special_token_ids

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        raw = Path(ct2_config).read_bytes()
    except FileNotFoundError:
        raise ImporterError(ct2_config, "missing") from None
    except OSError as exc:
        raise ImporterError(ct2_config, f"cannot read: {exc.strerror or exc}") from None
    try:
        ct2 = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ImporterError(ct2_config, f"not UTF-8 text ({exc.reason})", offset=exc.start) from None
    except json.JSONDecodeError as exc:
        raise ImporterError(ct2_config, f"not JSON ({exc.msg})", offset=len(exc.doc[:exc.pos].encode())) from None
    if not isinstance(ct2, dict):
        raise ImporterError(ct2_config, f"must be a JSON object, is a JSON {type(ct2).__name__}")
    for key in ("suppress_ids", "suppress_ids_begin", "lang_ids", "alignment_heads"):
        if not isinstance(ct2.get(key), list):
            raise ImporterError(ct2_config, f"no list {key!r}")
    with open_model_bin(model_bin) as (index, data):
        dims = whisper_dims(index, data)
        tensors = dict(whisper_state_dict(index, data, dims, progress))
    specials = special_token_ids(tokenizer_json, dims["n_vocab"])
    config = {
        "architecture": "whisper",
        **dims,
        "multilingual": dims["n_vocab"] >= 51865,
        "alignment_heads": ct2["alignment_heads"],
        "suppress_ids": ct2["suppress_ids"],
        "suppress_ids_begin": ct2["suppress_ids_begin"],
        "lang_ids": ct2["lang_ids"],
        **specials,
        **(extra_config or {}),
    }
    save_arrays({name: ("F32", arr) for name, arr in tensors.items()}, dest / "model.safetensors")
    del tensors
    shutil.copyfile(tokenizer_json, dest / "tokenizer.json")
    if vocabulary is not None:
        shutil.copyfile(vocabulary, dest / "vocabulary.txt")
    write_atomic(dest / "config.json", (json.dumps(config, indent=2) + "\n").encode())
    return config


__all__ = ["ModelBin", "Variable", "concatenate_parts", "convert_whisper", "open_model_bin", "parse_model_bin",
           "read_array", "whisper_dims", "whisper_state_dict"]
