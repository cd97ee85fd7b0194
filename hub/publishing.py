"""`hub.publish`: check a model folder (or an in-memory core.nn.Module) and record it as an immutable version.

Everything is checked before anything is written: model name and file paths (no `../`, no absolute paths, no
odd characters), config.json (a JSON object naming its "architecture"), every *.safetensors header (a
truncated file is refused), and no pickled weights (refused by name and by content, never unpickled). Then
the files go into the blob store and one transaction records the version.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hub.access import actor, blob_store, database, version_info
from hub.errors import ArgumentTypeError, InvalidModel, user_errors
from hub.garbage import check_blobs_present
from hub.progress import byte_bar
from hub.records import VersionInfo
from registry.errors import InvalidName, scratch_folder
from registry.names import check_file_path, split_model_name
from registry.versions import FileEntry, check_model_metadata, publish_version

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz", ".h5")
MAX_CARD_BYTES = 1 << 20


def _looks_pickled(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    # pickle protocol 2+ opens with PROTO (0x80, version); torch.save writes a zip of pickles
    return (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or head == b"PK\x03\x04"


def scan_folder(folder: Path) -> dict[str, Path]:
    """The files a model folder holds, as {relative path: file}; hidden files and folders (.git) are skipped."""
    if not folder.is_dir():
        raise InvalidModel(f"{folder}: not a folder (publish a folder with config.json and *.safetensors, or a "
                           f"core.nn.Module with config=...)")
    root = folder.resolve()
    files: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith("."):
                continue
            path = Path(dirpath) / filename
            rel = path.relative_to(folder).as_posix()
            try:
                check_file_path(rel)
            except InvalidName as exc:
                raise InvalidModel(f"{folder}: {exc}") from None
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                raise InvalidModel(f"{path}: a symbolic link to {path.resolve()}, outside the model folder; copy the "
                                   f"file in instead")
            if not path.is_file():
                raise InvalidModel(f"{path}: not a regular file")
            files[rel] = path
    return files


def check_folder(folder: Path) -> tuple[dict[str, Path], dict, str | None]:
    """Validate a model folder; returns (files, config, card). Raises InvalidModel naming the file."""
    from core.io import SafetensorsError, read_header
    files = scan_folder(folder)
    for rel, path in files.items():
        if rel.lower().endswith(PICKLE_SUFFIXES) or (not rel.endswith(".safetensors") and _looks_pickled(path)):
            raise InvalidModel(f"{path}: looks like pickled weights (PyTorch/pickle), which zoohub refuses to load "
                               f"because unpickling runs code; convert it to safetensors (zoo.importers.torch_zip "
                               f"reads PyTorch checkpoints without running them)")
    if "config.json" not in files:
        raise InvalidModel(f"{folder}: no config.json (a JSON object with the \"architecture\" to build)")
    weights = [rel for rel in files if rel.endswith(".safetensors")]
    if not weights:
        raise InvalidModel(f"{folder}: no *.safetensors weights")
    try:
        config = strict_json(files["config.json"].read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidModel(f"{files['config.json']}: not JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
        raise InvalidModel(f"{files['config.json']}: must be a JSON object with an \"architecture\" string naming "
                           f"the builder (zoo.architectures)")
    for rel in weights:
        try:
            read_header(files[rel])
        except SafetensorsError as exc:
            raise InvalidModel(str(exc)) from None
    card = None
    if "README.md" in files:
        raw = files["README.md"].read_bytes()
        if len(raw) > MAX_CARD_BYTES:
            raise InvalidModel(f"{files['README.md']}: the model card is {len(raw)} bytes, over {MAX_CARD_BYTES}")
        try:
            card = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidModel(f"{files['README.md']}: not UTF-8 text ({exc})") from None
    return files, config, card


def strict_json(text: str) -> Any:
    """json.loads refusing NaN and Infinity, which Python writes and reads but JSON has not: stored, they would make
    `zoohub info --json` and the server's answers invalid JSON for every other client."""
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a JSON number")
    return json.loads(text, parse_constant=refuse)


def write_module_folder(model: Any, config: dict | None, card: str | None, dest: Path) -> None:
    """Write an in-memory core.nn.Module as a model folder: config.json, model.safetensors, README.md."""
    from core.io import save_file
    if not isinstance(config, dict):
        raise InvalidModel("publishing a module needs config=dict(architecture=..., ...): the builder reads it back")
    try:
        text = json.dumps(config, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidModel(f"config is not JSON-serialisable: {exc}") from None
    (dest / "config.json").write_text(text + "\n", encoding="utf-8")
    try:
        save_file(dict(model.state_dict()), dest / "model.safetensors")
    except (TypeError, ValueError) as exc:
        raise InvalidModel(f"cannot write the module's state_dict as safetensors: {exc}") from None
    if isinstance(card, os.PathLike):
        try:
            card = Path(card).read_bytes().decode("utf-8")
        except OSError as exc:
            raise InvalidModel(f"card={os.fspath(card)!r}: cannot read the model card: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise InvalidModel(f"card={os.fspath(card)!r}: the model card is not UTF-8 text ({exc})") from None
    if card is not None:
        (dest / "README.md").write_text(card, encoding="utf-8")


@user_errors
def publish(source: str | os.PathLike | Any, name: str, *, config: dict | None = None,
            card: str | os.PathLike | None = None, task: str | None = None, description: str = "", license: str = "",
            source_label: str | None = None, progress: bool | None = None) -> VersionInfo:
    """Publish a model folder, or a core.nn.Module with its config, as a version of `name`.

    card (modules only): the model card's Markdown text, or the path of a README file to read it from.
    task, description and license describe the model: given (not None or ""), each replaces the model's own, also
    for a model that exists already. Publishing the same files again returns the existing version (`.created` is
    False).

    >>> info = hub.publish("out/digits", "vision/my-digits", description="my retrain")
    >>> info.ref, info.created
    ('vision/my-digits@1', True)
    >>> hub.publish(model, "vision/my-digits", config={"architecture": "digits-cnn", ...})
    """
    split_model_name(name)
    for label, value in (("task", task), ("description", description), ("license", license)):
        if not isinstance(value, str) and not (label == "task" and value is None):
            raise ArgumentTypeError(f"publish {name}: {label} must be a string, not {type(value).__name__}")
    if card is not None and not isinstance(card, (str, os.PathLike)):
        raise ArgumentTypeError(f"publish {name}: card must be the card's Markdown text (a str) or the path of a "
                                f"README file, not {type(card).__name__}")
    check_model_metadata(name, task, license, description)  # before any blob is stored
    if not isinstance(source, (str, os.PathLike)) and not hasattr(source, "state_dict"):
        raise InvalidModel(f"publish {name}: expected a model folder (a path) or a core.nn.Module, not "
                           f"{type(source).__name__}")
    from hub import remote
    if remote.enabled():
        return remote.publish(source, name, config=config, card=card, task=task, description=description,
                              license=license, source_label=source_label, progress=progress)
    if hasattr(source, "state_dict"):
        with scratch_folder("zoohub-publish-") as tmp:
            write_module_folder(source, config, card, tmp)
            return publish_folder(tmp, name, task, description, license, source_label or "module", progress)
    if config is not None or card is not None:
        raise InvalidModel("config= and card= are for publishing a module; a folder carries config.json and "
                           "README.md")
    folder = Path(source)
    return publish_folder(folder, name, task, description, license, source_label or f"folder:{folder.resolve()}",
                           progress)


def publish_folder(folder: Path, name: str, task: str | None, description: str, license: str, source: str,
                   progress: bool | None) -> VersionInfo:
    """Check a folder and publish it (the work of `publish`, without its error translation)."""
    files, config, card = check_folder(folder)
    who = actor()
    db = database()  # refuses an out-of-date schema before any blob is written
    db.require_writable()  # and a registry this process can only read
    store = blob_store()
    entries = []
    with byte_bar(sum(p.stat().st_size for p in files.values()), f"publish {name}", progress) as update:
        for rel, path in files.items():
            blob = store.put_file(path, progress=update)
            entries.append(FileEntry(rel, blob.sha256, blob.size))
    with db.write() as session:
        check_blobs_present(session, store, ((e.path, e.sha256) for e in entries))
        version, created = publish_version(session, name, entries, config_json=json.dumps(config, sort_keys=True),
                                           card_md=card, task=task, description=description, license=license,
                                           source=source, created_by=who)
        return version_info(session, version, created=created)
