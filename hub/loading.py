"""`hub.load` and `hub.pull`: resolve a reference, import catalog models on first use, check the blobs, build.

A loaded version is served from a per-version folder, $ZOOHUB_HOME/versions/<manifest sha256>/, of relative
symbolic links into the blob store, so builders read config.json and memory-map *.safetensors straight from
the blobs. Before each build every blob of the version is checked (BlobStore.check: a re-hash unless the
blob's stat still equals the one recorded at its last good hash), and a damaged file stops the load with the
model, the file and the repair in the message. Nothing here opens a network connection (with ZOOHUB_REMOTE set,
load and pull go to a server through hub.remote; `hf://` references go through hub.hf).
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from hub.access import blob_store, database, version_info
from hub.errors import IntegrityError, InvalidModel, ModelNotFound, user_errors
from hub.progress import fraction_bar
from hub.publishing import publish_folder
from hub.records import VersionInfo
from hub.references import Reference, parse_reference
from registry.blobstore import BlobStore, hash_file
from registry.db import zoohub_home
from registry.errors import reading, scratch_folder, writing
from registry.versions import all_model_names, get_model, resolve_version, unknown_model_message


def _catalog() -> dict:
    from zoo.catalog import entries
    return entries()


def _resolve(ref: Reference, progress: bool | None, import_missing: bool = True) -> VersionInfo:
    """The version ref names, importing a catalog model the registry does not hold yet."""
    db = database()
    with db.read() as session:
        if get_model(session, ref.name) is not None:
            return version_info(session, resolve_version(session, ref.name, version=ref.version, alias=ref.alias,
                                                         manifest_prefix=ref.manifest_prefix))
        known = all_model_names(session)
    catalog = _catalog()
    if ref.name not in catalog:
        raise ModelNotFound(unknown_model_message(ref.name, known + list(catalog)))
    if not import_missing:
        raise ModelNotFound(f"{ref.name} is in the catalog but not in the registry yet: `zoohub pull {ref.name}` "
                            f"imports it")
    import_catalog_model(catalog[ref.name], progress)
    with db.read() as session:
        return version_info(session, resolve_version(session, ref.name, version=ref.version, alias=ref.alias,
                                                     manifest_prefix=ref.manifest_prefix))


@contextmanager
def unpacked(entry: Any, label: str, progress: bool | None = None) -> Iterator[Path]:
    """A temp folder holding the catalog entry's files from its offline source (hashes checked by the entry),
    removed at the end. A full or read-only temp file system is NotWritable naming the folder."""
    with scratch_folder("zoohub-import-") as tmp:
        with fraction_bar(f"{label} {entry.name}", progress) as report:
            entry.materialize(tmp, report)
        yield tmp


def import_catalog_model(entry: Any, progress: bool | None = None) -> VersionInfo:
    """Materialize a catalog entry from its offline source and publish it."""
    with unpacked(entry, "import", progress) as folder:
        return publish_folder(folder, entry.name, entry.task, entry.description, entry.license,
                              f"catalog:{entry.name}", progress)


def repair_hint(name: str) -> str:
    """How to rewrite a damaged blob of model `name`."""
    try:
        in_catalog = name in _catalog()
    except Exception:  # a broken model family must not hide the integrity error being reported
        in_catalog = False
    if in_catalog:
        return f"repair: `zoohub pull {name} --repair` re-imports it from its catalog source and rewrites the file"
    return (f"repair: publish the original folder again (`zoohub publish FOLDER {name}`): the same files give the "
            f"same version and the damaged blob is rewritten")


def check_version_blobs(info: VersionInfo, store: BlobStore, trust_record: bool = True) -> list[str]:
    """One line per damaged or missing file of the version (empty when all are intact); NotReadable naming the blob
    when this user may not read it or enter its folder."""
    problems = []
    for f in info.files:
        try:
            with reading(store.root):
                problem = store.check(f.sha256, f.size, trust_record=trust_record)
        except FileNotFoundError:
            problem = "its blob is missing from the store"
        if problem:
            problems.append(f"{info.ref}: file {f.path} (blob sha256:{f.sha256[:12]}) is damaged: {problem}, "
                            f"expected sha256:{f.sha256}")
    return problems


def version_folder(info: VersionInfo, store: BlobStore) -> Path:
    """$ZOOHUB_HOME/versions/<manifest>/ with a relative link per file into the blob store (made atomically)."""
    base = zoohub_home() / "versions"
    folder = base / info.manifest_sha256
    with reading(folder):  # a versions/ folder this user may not enter (another user's home)
        if _links_match(folder, info, store):
            return folder
    tmp = base / f".{info.manifest_sha256}.{uuid.uuid4().hex}"
    try:
        with writing(folder, name_path=True):  # a full or read-only home: the version was never laid out here
            base.mkdir(parents=True, exist_ok=True)
            for f in info.files:
                link = tmp / f.path
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.path.relpath(store.path(f.sha256), folder / Path(f.path).parent), link)
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)  # wrong links (an older layout or a hand edit): rebuild
            try:
                os.rename(tmp, folder)
            except OSError:
                if not _links_match(folder, info, store):  # someone else finished first, or a broken folder remains
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _links_match(folder: Path, info: VersionInfo, store: BlobStore) -> bool:
    if not folder.is_dir():
        return False
    expected = {f.path: os.path.relpath(store.path(f.sha256), folder / Path(f.path).parent) for f in info.files}
    present = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if not p.is_dir()}
    return set(present) == set(expected) and all(p.is_symlink() and os.readlink(p) == expected[rel]
                                                 for rel, p in present.items())


def ready_version(ref: str, progress: bool | None = None) -> VersionInfo:
    """Resolve (importing from the catalog if needed), check every blob, and lay out the version folder."""
    info = _resolve(parse_reference(ref), progress)
    store = blob_store()
    problems = check_version_blobs(info, store)
    if problems:
        raise IntegrityError(f"{problems[0]}; {repair_hint(info.name)}")
    return _with_folder(info, version_folder(info, store))


def _with_folder(info: VersionInfo, folder: Path) -> VersionInfo:
    return replace(info, folder=folder)


@user_errors
def load(ref: str, *, progress: bool | None = None) -> Any:
    """Load a model by reference, in eval mode, weights memory-mapped from the blob store.

    A catalog model not in the registry yet is imported from its offline source (with a progress bar) and
    published first.

    >>> import hub
    >>> emb = hub.load("text/minilm-l6").encode(["a sentence", "another"])
    """
    from hub import remote
    if isinstance(ref, str) and ref.startswith("hf://"):
        from hub import hf
        return hf.load(ref, progress=progress)
    if remote.enabled():
        return remote.load(ref, progress)
    info = ready_version(ref, progress)
    return build_version(info)


def build_version(info: VersionInfo) -> Any:
    """The model of a version laid out in its folder, in eval mode; InvalidModel when its config cannot be built or
    its weights do not fit (StateDictMismatch). Any other error of a builder is a bug there and surfaces as itself."""
    from core.nn import StateDictMismatch
    from zoo.architectures import build
    try:
        model = build(info.folder)
    except ValueError as exc:  # unknown architecture, or a config its builder refuses
        raise InvalidModel(f"{info.ref} cannot be built: {exc}") from None
    except StateDictMismatch as exc:  # missing or extra tensors, other shapes, dtypes that cannot be cast
        message = " ".join(str(exc).split())
        raise InvalidModel(f"{info.ref} cannot be built: its weights do not fit its architecture: {message}") from None
    if callable(getattr(model, "eval", None)):
        model = model.eval() or model
    return model


@user_errors
def pull(ref: str, *, repair: bool = False, progress: bool | None = None) -> VersionInfo:
    """Make a version available locally: import it from the catalog if needed and check its files.

    repair=True re-imports a catalog model from its source and rewrites every damaged blob.

    >>> hub.pull("vision/digits-cnn").folder
    PosixPath('/home/me/.cache/zoohub/versions/3f1c…')
    """
    from hub import remote
    if remote.enabled():
        return remote.pull(ref, progress)
    if not repair:
        return ready_version(ref, progress)
    parsed = parse_reference(ref)
    info = _resolve(parsed, progress)
    store = blob_store()
    if not check_version_blobs(info, store, trust_record=False):
        return _with_folder(info, version_folder(info, store))
    catalog = _catalog()
    if info.name not in catalog:
        raise IntegrityError(f"{info.ref} is not a catalog model, so pull cannot re-import it; "
                             f"{repair_hint(info.name)}")
    wanted = {f.sha256 for f in info.files}
    with unpacked(catalog[info.name], "re-import", progress) as folder:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and hash_file(path) in wanted:
                store.put_file(path)
    problems = check_version_blobs(info, store, trust_record=False)
    if problems:
        raise IntegrityError(f"{problems[0]}; the catalog source no longer produces this file (was its package "
                             f"updated?): publish the original files of {info.ref} again to repair it")
    return _with_folder(info, version_folder(info, store))

