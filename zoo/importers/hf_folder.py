"""Hugging Face model folders (as `save_pretrained` writes them) into our format.

Input: `config.json` with a "model_type", the weights in `model.safetensors` (or `pytorch_model.bin`, read
through the restricted unpickler of `torch_zip`), and `tokenizer.json`. Output: our `config.json`,
`model.safetensors` (our parameter names, float32) and a copy of `tokenizer.json`.

Each Hugging Face architecture we read is one `HFArchitecture` in `HF_ARCHITECTURES`: how its config maps
to ours, and a table from each of our parameter names to the HF tensor(s) it is made of with their shapes
from the config. Adding the next text model is adding a table; the checks below serve every table.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tokenizers

from core.io import SafetensorsError, SafetensorsFile, save_arrays
from zoo.importers import ImporterError, write_atomic
from zoo.importers.torch_zip import load_state_dict

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Parameter:
    """One of our tensors: the HF tensors it is made of, concatenated along axis 0, each of `source_shape`."""

    sources: tuple[str, ...]
    source_shape: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.sources) * self.source_shape[0], *self.source_shape[1:])


@dataclass(frozen=True)
class HFArchitecture:
    """How to read one Hugging Face model_type: its config, its parameter table, what it may drop."""

    architecture: str  # our tag, written to config.json
    read_config: Callable[[Mapping[str, Any], Path], dict]  # HF config.json -> our config (validated)
    parameters: Callable[[Mapping[str, Any]], dict[str, Parameter]]  # our config -> our name -> spec
    ignored: tuple[str, ...] = ()  # regexes of HF tensors we do not use (buffers, task heads)
    prefixes: tuple[str, ...] = ()  # prefixes task-model checkpoints put before the encoder's names


@dataclass(frozen=True)
class ImportedModel:
    """A checked Hugging Face model in memory: our config and our float32 tensors."""

    config: dict
    tensors: dict[str, np.ndarray]  # our name -> float32 array, in the table's order


def _require(hf: Mapping[str, Any], path: Path, key: str, kind: type = int, positive: bool = True) -> Any:
    value = hf.get(key)
    ok = isinstance(value, (int, float) if kind is float else kind) and not isinstance(value, bool)
    if not ok or (positive and value <= 0):
        raise ImporterError(path, f"{key!r} must be a {'positive ' if positive else ''}{kind.__name__}, "
                                  f"got {value!r}")
    return kind(value)


def bert_config(hf: Mapping[str, Any], path: Path) -> dict:
    """Our config of a BERT encoder from Hugging Face's BertConfig fields."""
    config = {
        "architecture": "bert",
        "vocab_size": _require(hf, path, "vocab_size", int),
        "hidden_size": _require(hf, path, "hidden_size", int),
        "num_layers": _require(hf, path, "num_hidden_layers", int),
        "num_heads": _require(hf, path, "num_attention_heads", int),
        "intermediate_size": _require(hf, path, "intermediate_size", int),
        "max_position_embeddings": _require(hf, path, "max_position_embeddings", int),
        "type_vocab_size": _require(hf, path, "type_vocab_size", int),
        "layer_norm_eps": _require(hf, path, "layer_norm_eps", float),
        "hidden_act": hf.get("hidden_act"),
        "pad_token_id": _require(hf, path, "pad_token_id", int, positive=False) if "pad_token_id" in hf else 0,
    }
    if config["hidden_size"] % config["num_heads"]:
        raise ImporterError(path, f"hidden_size {config['hidden_size']} is not a multiple of "
                                  f"num_attention_heads {config['num_heads']}")
    if config["hidden_act"] != "gelu":
        raise ImporterError(path, f"hidden_act {config['hidden_act']!r} is not supported (BERT here uses 'gelu', "
                                  f"the erf form)")
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise ImporterError(path, f"position_embedding_type {hf['position_embedding_type']!r} is not supported "
                                  f"(only 'absolute')")
    if hf.get("is_decoder") or hf.get("add_cross_attention"):
        raise ImporterError(path, "BERT decoders (is_decoder / add_cross_attention) are not supported")
    return config


def bert_parameters(config: Mapping[str, Any]) -> dict[str, Parameter]:
    """Our BERT names -> HF names. q, k and v are fused into one (3H, H) `qkv` projection, q rows first."""
    h, i = config["hidden_size"], config["intermediate_size"]
    params = {
        "embeddings.word.weight": Parameter(("embeddings.word_embeddings.weight",), (config["vocab_size"], h)),
        "embeddings.position.weight": Parameter(("embeddings.position_embeddings.weight",),
                                                (config["max_position_embeddings"], h)),
        "embeddings.token_type.weight": Parameter(("embeddings.token_type_embeddings.weight",),
                                                  (config["type_vocab_size"], h)),
        "embeddings.norm.weight": Parameter(("embeddings.LayerNorm.weight",), (h,)),
        "embeddings.norm.bias": Parameter(("embeddings.LayerNorm.bias",), (h,)),
    }
    for n in range(config["num_layers"]):
        hf, ours = f"encoder.layer.{n}.", f"layers.{n}."
        for kind, shape in (("weight", (h, h)), ("bias", (h,))):
            params[ours + f"attn.qkv.{kind}"] = Parameter(
                tuple(f"{hf}attention.self.{proj}.{kind}" for proj in ("query", "key", "value")), shape)
        params.update({
            ours + "attn.out.weight": Parameter((hf + "attention.output.dense.weight",), (h, h)),
            ours + "attn.out.bias": Parameter((hf + "attention.output.dense.bias",), (h,)),
            ours + "attn_norm.weight": Parameter((hf + "attention.output.LayerNorm.weight",), (h,)),
            ours + "attn_norm.bias": Parameter((hf + "attention.output.LayerNorm.bias",), (h,)),
            ours + "ffn.up.weight": Parameter((hf + "intermediate.dense.weight",), (i, h)),
            ours + "ffn.up.bias": Parameter((hf + "intermediate.dense.bias",), (i,)),
            ours + "ffn.down.weight": Parameter((hf + "output.dense.weight",), (h, i)),
            ours + "ffn.down.bias": Parameter((hf + "output.dense.bias",), (h,)),
            ours + "ffn_norm.weight": Parameter((hf + "output.LayerNorm.weight",), (h,)),
            ours + "ffn_norm.bias": Parameter((hf + "output.LayerNorm.bias",), (h,)),
        })
    return params


BERT = HFArchitecture(
    architecture="bert",
    read_config=bert_config,
    parameters=bert_parameters,
    # position_ids is a buffer (arange); the pooler and cls heads serve pre-training, not the encoder output
    ignored=(r"embeddings\.position_ids", r"pooler\..*", r"cls\..*"),
    prefixes=("bert.",),
)

# Hugging Face "model_type" -> how to read it.
HF_ARCHITECTURES: dict[str, HFArchitecture] = {"bert": BERT}


class _Weights:
    """The folder's tensors by (prefix-stripped) HF name, with where each lives for error messages."""

    def __init__(self, path: Path, arch: HFArchitecture) -> None:
        self.path = path
        self._st: SafetensorsFile | None = None
        self._bin: dict[str, np.ndarray] = {}
        if path.suffix == ".safetensors":
            try:
                self._st = SafetensorsFile(path)
            except SafetensorsError as e:
                raise ImporterError(path, f"invalid safetensors: {e.reason}", e.offset) from None
            names = self._st.names()
        else:
            self._bin = load_state_dict(path)
            names = list(self._bin)
        self.by_name: dict[str, str] = {}  # stripped name -> name in the file
        for name in names:
            stripped = next((name[len(p):] for p in arch.prefixes if name.startswith(p)), name)
            if stripped in self.by_name:
                raise ImporterError(path, f"tensors {self.by_name[stripped]!r} and {name!r} are the same parameter")
            self.by_name[stripped] = name

    def shape(self, name: str) -> tuple[int, ...]:
        raw = self.by_name[name]
        return self._st.header.tensors[raw].shape if self._st else self._bin[raw].shape

    def offset(self, name: str) -> int | None:
        if self._st is None:
            return None
        return self._st.header.data_offset + self._st.header.tensors[self.by_name[name]].begin

    def float32(self, name: str) -> np.ndarray:
        raw = self.by_name[name]
        if self._st is None:
            arr = self._bin[raw]
            dtype = arr.dtype.name
        else:
            arr, dtype = self._st.array(raw), self._st.dtype(raw)
            if dtype == "BF16":  # bfloat16 bits are the top half of a float32
                return (arr.astype(np.uint32) << 16).view(np.float32)
        if arr.dtype.kind != "f":
            raise ImporterError(self.path, f"tensor {raw!r} has dtype {dtype}, expected a float type",
                                self.offset(name))
        return arr.astype(np.float32)


def _read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise ImporterError(path, f"missing {what}")
    raw = path.read_bytes()
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ImporterError(path, f"{what} is not UTF-8 text", e.start) from None
    except json.JSONDecodeError as e:
        offset = len(e.doc[:e.pos].encode("utf-8"))
        raise ImporterError(path, f"{what} is not JSON ({e.msg}, line {e.lineno} column {e.colno})", offset) from None
    if not isinstance(doc, dict):
        raise ImporterError(path, f"{what} must be a JSON object, got {type(doc).__name__}", 0)
    return doc


def _weights_file(src: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (src / name).is_file():
            return src / name
    sharded = [p.name for p in src.glob("*.index.json")]
    hint = f"; sharded checkpoints ({', '.join(sharded)}) are not supported yet" if sharded else ""
    raise ImporterError(src, f"missing weights: neither model.safetensors nor pytorch_model.bin{hint}")


def _list(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def read_hf_folder(src: str | os.PathLike, progress: Progress | None = None) -> ImportedModel:
    """Read and check a Hugging Face folder: our config and our float32 tensors, without writing anything.

    >>> model = read_hf_folder("all-MiniLM-L6-v2")
    >>> model.tensors["layers.0.attn.qkv.weight"].shape
    (1152, 384)
    """
    src = Path(src)
    if not src.is_dir():
        raise ImporterError(src, "not a folder (expected a Hugging Face model folder with config.json)")
    config_path = src / "config.json"
    hf = _read_json(config_path, "config.json")
    model_type = hf.get("model_type")
    arch = HF_ARCHITECTURES.get(model_type)
    if arch is None:
        raise ImporterError(config_path, f"model_type {model_type!r} is not supported "
                                         f"(supported: {', '.join(sorted(HF_ARCHITECTURES))})")
    config = arch.read_config(hf, config_path)
    specs = arch.parameters(config)
    weights = _Weights(_weights_file(src), arch)

    wanted = {s for spec in specs.values() for s in spec.sources}
    missing = [s for spec in specs.values() for s in spec.sources if s not in weights.by_name]
    if missing:
        raise ImporterError(weights.path, f"{len(missing)} tensor(s) the config needs are missing: {_list(missing)}")
    unexpected = [n for n in weights.by_name if n not in wanted
                  and not any(re.fullmatch(p, n) for p in arch.ignored)]
    if unexpected:
        raise ImporterError(weights.path, f"{len(unexpected)} unexpected tensor(s) for a {model_type} model: "
                                          f"{_list(unexpected)}")
    for spec in specs.values():
        for s in spec.sources:
            if weights.shape(s) != spec.source_shape:
                raise ImporterError(weights.path, f"tensor {weights.by_name[s]!r} has shape {weights.shape(s)}, "
                                                  f"config.json implies {spec.source_shape}", weights.offset(s))

    total = sum(int(np.prod(spec.shape)) * 4 for spec in specs.values())
    done = 0
    tensors: dict[str, np.ndarray] = {}
    for name, spec in specs.items():
        parts = [weights.float32(s) for s in spec.sources]
        tensors[name] = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        done += tensors[name].nbytes
        if progress:
            progress(done, total)
    return ImportedModel(config, tensors)


def import_hf_folder(src: str | os.PathLike, dest: str | os.PathLike, *,
                     extra_config: Mapping[str, Any] | None = None,
                     progress: Progress | None = None) -> dict:
    """Write a Hugging Face folder into dest in our format; returns our config (extra_config merged last).

    dest gets config.json, model.safetensors (our names, float32) and tokenizer.json; each file is written
    to a temp file and renamed, so a crash never leaves a half-written one.

    >>> import_hf_folder("all-MiniLM-L6-v2", "out", extra_config={"pooling": "mean"})["num_layers"]
    6
    """
    src, dest = Path(src), Path(dest)
    model = read_hf_folder(src, progress)
    tokenizer_path = src / "tokenizer.json"
    if not tokenizer_path.is_file():
        raise ImporterError(tokenizer_path, "missing tokenizer.json (folders with only vocab.txt or a "
                                            "sentencepiece model are not supported)")
    tokenizer_raw = tokenizer_path.read_bytes()
    try:
        tokenizers.Tokenizer.from_str(tokenizer_raw.decode("utf-8"))
    except Exception as e:  # noqa: BLE001 -- the tokenizers library raises bare Exception
        raise ImporterError(tokenizer_path, f"not a tokenizers file the tokenizers library can load: {e}") from None
    config = {**model.config, **(extra_config or {})}
    dest.mkdir(parents=True, exist_ok=True)
    save_arrays({name: ("F32", arr) for name, arr in model.tensors.items()}, dest / "model.safetensors",
                {"format": "zoohub", "architecture": config["architecture"]})
    write_atomic(dest / "tokenizer.json", tokenizer_raw)
    write_atomic(dest / "config.json", (json.dumps(config, indent=2) + "\n").encode())
    return config
