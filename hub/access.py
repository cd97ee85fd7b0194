"""The hub's way into the registry: the database and blob store of this process, and ORM rows as records."""
from __future__ import annotations

import getpass
import json
import os

from sqlalchemy.orm import Session

from hub.records import FileInfo, VersionInfo
from registry import db
from registry.blobstore import BlobStore
from registry.evaluations import latest_verdicts
from registry.names import check_line
from registry.schema import ModelVersion
from registry.versions import MAX_ACTOR, aliases_of


def database() -> db.Database:
    """The registry database ($ZOOHUB_DB_URL, or SQLite under $ZOOHUB_HOME), checked against the schema."""
    return db.connect()


def blob_store() -> BlobStore:
    """The blob store under $ZOOHUB_HOME/blobs."""
    return BlobStore(db.zoohub_home() / "blobs")


def actor() -> str:
    """Who is acting, for created_by and alias events: $ZOOHUB_ACTOR (one line of text), else the login name."""
    if os.environ.get("ZOOHUB_ACTOR"):
        return check_line("$ZOOHUB_ACTOR", os.environ["ZOOHUB_ACTOR"], MAX_ACTOR)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def version_info(session: Session, version: ModelVersion, *, verdicts: bool = False, created: bool = False,
                 folder=None) -> VersionInfo:
    """A version row (and its model, files, aliases, verdicts) as a detached VersionInfo."""
    model = version.model
    return VersionInfo(
        name=model.full_name, version=version.version, manifest_sha256=version.manifest_sha256, task=model.task,
        description=model.description, license=model.license, config=json.loads(version.config_json),
        card=version.card_md, files=tuple(FileInfo(f.path, f.blob.sha256, f.blob.size) for f in version.files),
        source=version.source, status=version.status, created_by=version.created_by, created_at=version.created_at,
        aliases=aliases_of(session, model), versions=tuple(v.version for v in model.versions),
        verdicts=tuple(latest_verdicts(session, version)) if verdicts else (), created=created, folder=folder)
