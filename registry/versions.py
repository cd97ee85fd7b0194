"""Models and their immutable versions: publish, resolve, list.

A version is identified by its manifest: the sha256 of a canonical JSON document naming the model and every
file (path, sha256, size). Publishing a manifest the registry already holds returns that version. New
version numbers come from `model.latest_version`, incremented under the model's row lock in the publishing transaction:
PostgreSQL holds the row lock until commit and SQLite holds the database write lock (BEGIN IMMEDIATE), so
concurrent publishers get consecutive, distinct numbers, and a publisher that dies before commit leaves
neither a version nor a used number behind.
"""
from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from registry.errors import AmbiguousReference, InvalidName, NotFound
from registry.faults import pause_point
from registry.names import check_file_path, check_line, check_manifest_prefix, check_task, split_model_name
from registry.schema import Alias, Blob, Model, ModelVersion, VersionFile

MANIFEST_FORMAT = "zoohub.manifest/1"
MIN_MANIFEST_PREFIX = 6
MAX_LICENSE = 128  # the model table's column
MAX_ACTOR = 128  # the created_by and alias_event.actor columns


@dataclass(frozen=True)
class FileEntry:
    path: str
    sha256: str
    size: int


def manifest_document(model_name: str, files: list[FileEntry]) -> str:
    """The canonical JSON text whose sha256 identifies a version."""
    split_model_name(model_name)
    doc = {"format": MANIFEST_FORMAT, "model": model_name,
           "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in sorted(files, key=lambda f: f.path)]}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def manifest_sha256(model_name: str, files: list[FileEntry]) -> str:
    """The sha256 of manifest_document: a version's identity."""
    return hashlib.sha256(manifest_document(model_name, files).encode()).hexdigest()


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def get_model(session: Session, name: str) -> Model | None:
    """The model called `namespace/name`, or None."""
    namespace, short = split_model_name(name)
    return session.scalar(select(Model).where(Model.namespace == namespace, Model.name == short))


def require_model(session: Session, name: str, extra_names: tuple[str, ...] = ()) -> Model:
    """The model called name, or NotFound suggesting close names (from the registry and extra_names)."""
    model = get_model(session, name)
    if model is None:
        raise NotFound(unknown_model_message(name, all_model_names(session) + list(extra_names)))
    return model


def unknown_model_message(name: str, known: list[str]) -> str:
    """"unknown model 'x'; did you mean ...?" with up to three close names (difflib)."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; `zoohub list` shows the models"
    return f"unknown model {name!r}{hint}"


def all_model_names(session: Session) -> list[str]:
    """Every model name in the registry."""
    return [f"{ns}/{n}" for ns, n in session.execute(select(Model.namespace, Model.name))]


def check_model_metadata(name: str, task: str | None, license: str, description: str = "",
                         created_by: str = "") -> str:
    """Check what a publish records about the model besides its files; returns the task (default: the namespace).
    Publishers call it before storing any blob, and publish_version again."""
    namespace, _ = split_model_name(name)
    task = check_task(namespace if task is None or task == "" else task)
    if len(license) > MAX_LICENSE or "\n" in license:
        raise InvalidName(f"publish {name}: the license must be one line of at most {MAX_LICENSE} characters (an SPDX "
                          f"id such as 'Apache-2.0', or a short name), got {len(license)} characters")
    check_line("license", license)
    check_line("description", description)
    check_line("actor", created_by, MAX_ACTOR)
    return task


def publish_version(session: Session, name: str, files: list[FileEntry], *, config_json: str,
                    card_md: str | None = None, task: str | None = None, description: str = "", license: str = "",
                    source: str = "", created_by: str = "") -> tuple[ModelVersion, bool]:
    """Record a version of model `name` whose blobs are already stored; returns (version, created).

    Call inside `Database.write()`. The model is created on first publish (task defaults to the namespace);
    the blob rows are inserted if missing. Same manifest as an existing version: that version, created=False.
    A task, description or license given (not None or "") becomes the model's, whether the model is new or not and
    whether or not the files make a new version: versions are immutable, the model's description of itself is not.
    """
    namespace, short = split_model_name(name)
    task_given = task not in (None, "")
    task = check_model_metadata(name, task, license, description, created_by)
    paths = [check_file_path(f.path) for f in files]
    if len(set(paths)) != len(paths):
        raise ValueError(f"publish {name}: a file path appears twice")
    manifest = manifest_sha256(name, files)
    insert = _insert(session)
    session.execute(insert(Model).values(namespace=namespace, name=short, task=task,
                                         description=description, license=license, latest_version=0)
                    .on_conflict_do_nothing(index_elements=["namespace", "name"]))
    # The model's row lock (PostgreSQL; SQLite already holds the write lock) serialises its publishers until
    # commit: the manifest check below sees every version committed before us, and the counter is ours.
    model = session.scalar(select(Model).where(Model.namespace == namespace, Model.name == short)
                           .with_for_update().execution_options(populate_existing=True))
    if task_given:
        model.task = task
    if description:
        model.description = description
    if license:
        model.license = license
    existing = session.scalar(select(ModelVersion).where(ModelVersion.manifest_sha256 == manifest))
    if existing is not None:
        return existing, False
    model.latest_version += 1
    for f in sorted(files, key=lambda f: f.sha256):  # one order everywhere: concurrent inserts cannot deadlock
        session.execute(insert(Blob).values(sha256=f.sha256, size=f.size).on_conflict_do_nothing(
            index_elements=["sha256"]))
    version = ModelVersion(model_id=model.id, version=model.latest_version, manifest_sha256=manifest,
                           config_json=config_json, card_md=card_md, source=source, status="ready",
                           created_by=created_by)
    session.add(version)
    session.flush()
    session.add_all(VersionFile(version_id=version.id, path=f.path, blob_sha256=f.sha256) for f in files)
    session.flush()
    pause_point("before-commit")
    return version, True


def resolve_version(session: Session, name: str, *, version: int | None = None, alias: str | None = None,
                    manifest_prefix: str | None = None, extra_names: tuple[str, ...] = ()) -> ModelVersion:
    """The version a reference names: a number, an alias, a manifest prefix, or (none given) the production
    alias if set, else the newest version."""
    model = require_model(session, name, extra_names)
    query = select(ModelVersion).where(ModelVersion.model_id == model.id).options(
        selectinload(ModelVersion.files).selectinload(VersionFile.blob), selectinload(ModelVersion.model))
    if version is not None:
        found = session.scalar(query.where(ModelVersion.version == version))
        if found is None:
            raise NotFound(f"{name} has no version {version} (versions: {_version_range(model)})")
        return found
    if alias is not None:
        target = session.scalar(select(Alias.version_id).where(Alias.model_id == model.id, Alias.name == alias))
        if target is None:
            names = session.scalars(select(Alias.name).where(Alias.model_id == model.id).order_by(Alias.name)).all()
            raise NotFound(f"{name} has no alias {alias!r} (aliases: {', '.join(names) or 'none'}); "
                           f"`zoohub promote {name}@N {alias}` sets it")
        return session.scalar(query.where(ModelVersion.id == target))
    if manifest_prefix is not None:
        manifest_prefix = check_manifest_prefix(manifest_prefix)  # hex only: no LIKE wildcard reaches the query
        if len(manifest_prefix) < MIN_MANIFEST_PREFIX:
            raise NotFound(f"manifest prefix {manifest_prefix!r} is too short: give at least "
                           f"{MIN_MANIFEST_PREFIX} hex digits")
        found = session.scalars(query.where(ModelVersion.manifest_sha256.startswith(manifest_prefix)).limit(2)).all()
        if not found:
            raise NotFound(f"{name} has no version whose manifest starts with sha256:{manifest_prefix} "
                           f"(`zoohub info {name}` lists the manifests)")
        if len(found) > 1:
            raise AmbiguousReference(f"sha256:{manifest_prefix} matches several versions of {name}: give more digits")
        return found[0]
    production = session.scalar(select(Alias.version_id).where(Alias.model_id == model.id,
                                                                Alias.name == "production"))
    if production is not None:
        return session.scalar(query.where(ModelVersion.id == production))
    newest = session.scalar(query.order_by(ModelVersion.version.desc()).limit(1))
    if newest is None:
        raise NotFound(f"{name} has no versions yet")
    return newest


def _version_range(model: Model) -> str:
    numbers = [v.version for v in model.versions]
    if not numbers:
        return "none"
    if len(numbers) > 2 and numbers == list(range(1, max(numbers) + 1)):
        return f"1..{max(numbers)}"
    return ", ".join(map(str, numbers))


def list_models(session: Session, task: str | None = None, query: str | None = None) -> list[Model]:
    """Models, optionally of one task and matching a substring of name or description (case-insensitive)."""
    stmt = select(Model).options(selectinload(Model.versions)).order_by(Model.namespace, Model.name)
    if task:
        stmt = stmt.where(Model.task == task)
    if query:
        # a plain substring: LIKE's wildcards in the query (`_`, `%`) match only themselves
        text = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{text}%"
        stmt = stmt.where(or_(func.lower(Model.namespace + "/" + Model.name).like(like, escape="\\"),
                              func.lower(Model.description).like(like, escape="\\")))
    return list(session.scalars(stmt))


def aliases_of(session: Session, model: Model) -> dict[str, int]:
    """alias name -> version number, for one model."""
    rows = session.execute(select(Alias.name, ModelVersion.version).join(ModelVersion, Alias.version_id ==
                                                                        ModelVersion.id)
                           .where(Alias.model_id == model.id).order_by(Alias.name))
    return {alias: number for alias, number in rows}


def all_version_files(session: Session) -> list[tuple[str, int, str, str, int]]:
    """(model name, version, path, blob sha256, size) for every file of every version."""
    rows = session.execute(
        select(Model.namespace, Model.name, ModelVersion.version, VersionFile.path, Blob.sha256, Blob.size)
        .join(ModelVersion, ModelVersion.model_id == Model.id).join(VersionFile, VersionFile.version_id ==
                                                                    ModelVersion.id)
        .join(Blob, Blob.sha256 == VersionFile.blob_sha256)
        .order_by(Model.namespace, Model.name, ModelVersion.version, VersionFile.path))
    return [(f"{ns}/{n}", v, path, sha, size) for ns, n, v, path, sha, size in rows]
