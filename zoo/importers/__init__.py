"""Importers: foreign weight formats (Hugging Face folders, PyTorch zip checkpoints, ...) into our format.

Our format is a folder with `config.json` (our architecture tag and hyper-parameters) and
`model.safetensors` (our parameter names, float32), plus whatever the model needs to run
(`tokenizer.json`, a model card). Every importer refuses a malformed input with an `ImporterError` that
names the file, and the byte offset when the problem is in binary data.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


class ImporterError(ValueError):
    """A source file an importer cannot use; the message names the file (and the byte offset if known).

    >>> raise ImporterError("model/config.json", "not JSON (Expecting value)", offset=0)
    Traceback (most recent call last):
    ...
    zoo.importers.ImporterError: model/config.json: at byte 0: not JSON (Expecting value)
    """

    def __init__(self, path: str | os.PathLike, reason: str, offset: int | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.offset = offset
        where = f"{self.path}: at byte {offset}" if offset is not None else self.path
        super().__init__(f"{where}: {reason}")


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write a file of an imported model: temp file in the same folder, fsync, rename over path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a model folder is meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["ImporterError", "write_atomic"]
