"""Configuration of a text encoder: our config.json, and the sentence-transformers files it is made from."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

from zoo.importers import ImporterError

POOLING_MODES = ("mean", "cls", "max")


@dataclass(frozen=True)
class TextEncoderConfig:
    """Hyper-parameters of a BERT-family encoder plus how its token states become one sentence vector.

    >>> config = TextEncoderConfig.from_folder("models/minilm-l6")
    >>> config.hidden_size, config.pooling, config.max_length
    (384, 'mean', 256)
    """

    architecture: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    hidden_act: str
    pad_token_id: int = 0
    pooling: str = "mean"  # one of POOLING_MODES
    normalize: bool = True  # L2-normalise the pooled vector
    # word pieces per sentence, [CLS] and [SEP] included, longer input is truncated; None: all positions
    max_length: int | None = None
    lowercase: bool = False  # lowercase before tokenising (sentence-transformers' do_lower_case)

    def __post_init__(self) -> None:
        if self.max_length is None:
            object.__setattr__(self, "max_length", self.max_position_embeddings)  # frozen: set once, here
        if self.pooling not in POOLING_MODES:
            raise ValueError(f"config: pooling {self.pooling!r} is not one of {POOLING_MODES}")
        if not 2 <= self.max_length <= self.max_position_embeddings:
            raise ValueError(f"config: max_length {self.max_length} must be between 2 and "
                             f"max_position_embeddings {self.max_position_embeddings}")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"config: hidden_size {self.hidden_size} is not a multiple of num_heads {self.num_heads}")

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden_size // self.num_heads

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TextEncoderConfig:
        """Build from our config.json's fields; keys this class does not know are ignored."""
        known = {f.name for f in fields(cls)}
        missing = [f.name for f in fields(cls) if f.name not in doc and f.default is MISSING]
        if missing:
            raise ValueError(f"config: missing field(s) {', '.join(missing)}")
        return cls(**{k: v for k, v in doc.items() if k in known})

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> TextEncoderConfig:
        """Read config.json of a model folder in our format."""
        path = Path(folder) / "config.json"
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError) as e:
            raise ValueError(f"{path}: {e}") from None

    def to_dict(self) -> dict:
        """The fields as our config.json writes them."""
        return asdict(self)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImporterError(path, "missing (the sentence-transformers folder needs it)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ImporterError(path, f"not JSON ({e})") from None


def sentence_transformers_settings(folder: str | os.PathLike) -> dict:
    """Pooling, normalisation and max length from a sentence-transformers folder, as our config fields.

    Reads modules.json (Transformer, then Pooling, then optionally Normalize), the pooling module's
    config.json and sentence_bert_config.json; any other module (Dense, ...) is refused by name.

    >>> sentence_transformers_settings("all-MiniLM-L6-v2")
    {'pooling': 'mean', 'normalize': True, 'max_length': 256, 'lowercase': False}
    """
    folder = Path(folder)
    modules_path = folder / "modules.json"
    modules = _read_json(modules_path)
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise ImporterError(modules_path, "expected a list of module objects")
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ImporterError(modules_path, f"modules {kinds} are not supported "
                                          f"(expected Transformer, Pooling and optionally Normalize)")
    if modules[0].get("path", "") != "":
        raise ImporterError(modules_path, f"the Transformer module lives in {modules[0]['path']!r}; "
                                          f"only a Transformer at the folder's root is supported")
    pooling_path = folder / modules[1].get("path", "") / "config.json"
    pooling = _read_json(pooling_path)
    chosen = [mode for mode in POOLING_MODES if pooling.get(f"pooling_mode_{mode}_tokens"
                                                            if mode != "cls" else "pooling_mode_cls_token")]
    others = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v
              and k not in ("pooling_mode_mean_tokens", "pooling_mode_max_tokens", "pooling_mode_cls_token")]
    if len(chosen) != 1 or others:
        raise ImporterError(pooling_path, f"exactly one of mean, max or cls pooling is supported, "
                                          f"got {chosen + others}")
    st_config = _read_json(folder / "sentence_bert_config.json")
    max_length = st_config.get("max_seq_length")
    if not isinstance(max_length, int) or max_length < 2:
        raise ImporterError(folder / "sentence_bert_config.json", f"max_seq_length {max_length!r} is not valid")
    return {"pooling": chosen[0], "normalize": kinds[-1] == "Normalize", "max_length": max_length,
            "lowercase": bool(st_config.get("do_lower_case", False))}
