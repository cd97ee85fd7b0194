"""Architectures the hub can build from a registry version.

A model family registers a builder under the name its config.json carries in "architecture":

    @register_architecture("bert-sentence-embedding")
    def build(folder: Path, config: dict) -> SentenceEncoder: ...

`build(folder)` reads folder/config.json, imports the family modules (which register their builders) and
returns the model in eval mode. The folder holds the version's files as the registry stores them
(config.json, *.safetensors, tokenizer files); builders load weights memory-mapped from it.
"""
from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Builder = Callable[[Path, dict], Any]

ARCHITECTURES: dict[str, Builder] = {}

# Packages whose import registers builders and catalog entries; a family not yet written is skipped.
FAMILIES = ("zoo.vision", "zoo.text", "zoo.speech")


def register_architecture(name: str) -> Callable[[Builder], Builder]:
    def decorate(builder: Builder) -> Builder:
        if name in ARCHITECTURES and ARCHITECTURES[name] is not builder:
            raise ValueError(f"architecture {name!r} is registered twice")
        ARCHITECTURES[name] = builder
        return builder
    return decorate


def load_families() -> None:
    for module in FAMILIES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def build(folder: str | Path) -> Any:
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text())
    except FileNotFoundError:
        raise ValueError(f"{folder}: no config.json") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{folder / 'config.json'}: not JSON ({exc})") from None
    name = config.get("architecture") if isinstance(config, dict) else None
    if not name:
        raise ValueError(f"{folder / 'config.json'}: no \"architecture\" key")
    load_families()
    if name not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES)) or "none"
        raise ValueError(f"{folder}: unknown architecture {name!r} (known: {known})")
    return ARCHITECTURES[name](folder, config)
