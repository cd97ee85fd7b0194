"""The JSON form of the hub's records on the wire, written by the server and read back by hub.remote."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from hub.records import AliasChange, FileInfo, ModelSummary, VersionInfo
from registry.evaluations import Verdict


def to_wire(record: Any) -> Any:
    """A record (dataclass, datetime, list) as JSON-ready values; datetimes become ISO text, paths are dropped."""
    if dataclasses.is_dataclass(record):
        return {f.name: to_wire(getattr(record, f.name)) for f in dataclasses.fields(record) if f.name != "folder"}
    if isinstance(record, datetime):
        return record.isoformat()
    if isinstance(record, (list, tuple)):
        return [to_wire(r) for r in record]
    if isinstance(record, dict):
        return {k: to_wire(v) for k, v in record.items()}
    return record


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def version_from_wire(doc: dict) -> VersionInfo:
    """VersionInfo from the server's JSON."""
    return VersionInfo(
        name=doc["name"], version=doc["version"], manifest_sha256=doc["manifest_sha256"], task=doc["task"],
        description=doc["description"], license=doc["license"], config=doc["config"], card=doc["card"],
        files=tuple(FileInfo(f["path"], f["sha256"], f["size"]) for f in doc["files"]), source=doc["source"],
        status=doc["status"], created_by=doc["created_by"], created_at=_when(doc["created_at"]),
        aliases=dict(doc["aliases"]), versions=tuple(doc["versions"]),
        verdicts=tuple(Verdict(**{**v, "at": _when(v["at"])}) for v in doc["verdicts"]), created=doc["created"])


def summary_from_wire(doc: dict) -> ModelSummary:
    return ModelSummary(**doc)


def change_from_wire(doc: dict) -> AliasChange:
    return AliasChange(**{**doc, "at": _when(doc["at"])})
