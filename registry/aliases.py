"""Aliases (production, staging, any name) and their append-only history.

Every move of an alias appends one alias_event in the same transaction, under the model's row lock, so the
events of an alias form a chain (each event's `from` is the previous event's `to`) that ends at the alias's
current version, and "what was in production on 3 May?" is a query over them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from registry.names import check_alias, check_line
from registry.schema import Alias, AliasEvent, Model, ModelVersion
from registry.versions import MAX_ACTOR


def set_alias(session: Session, version: ModelVersion, alias: str, *, actor: str = "",
              reason: str = "") -> tuple[AliasEvent, bool]:
    """Point `alias` of the version's model at `version` and append the event; returns (event, moved).

    Call inside `Database.write()`. An alias that already points at `version` is left as it is and nothing is
    written: (the event that set it, False).
    """
    check_alias(alias)
    check_line("actor", actor, MAX_ACTOR)
    check_line("reason", reason)
    session.scalar(select(Model).where(Model.id == version.model_id).with_for_update())
    row = session.get(Alias, (version.model_id, alias), populate_existing=True)
    if row is not None and row.version_id == version.id:
        setting = session.scalar(select(AliasEvent).where(AliasEvent.model_id == version.model_id,
                                                          AliasEvent.alias == alias)
                                 .order_by(AliasEvent.id.desc()).limit(1))
        if setting is not None:  # else an alias without history (written by hand): its first event follows
            return setting, False
    previous = row.version_id if row is not None else None
    if row is None:
        session.add(Alias(model_id=version.model_id, name=alias, version_id=version.id))
    else:
        row.version_id = version.id
    event = AliasEvent(model_id=version.model_id, alias=alias, from_version_id=previous, to_version_id=version.id,
                       actor=actor, reason=reason)
    session.add(event)
    session.flush()
    return event, True


def alias_history(session: Session, model: Model, alias: str | None = None) -> list[tuple[AliasEvent, int | None, int]]:
    """(event, from version number, to version number) for a model's aliases, oldest first."""
    source, target = aliased(ModelVersion), aliased(ModelVersion)
    stmt = (select(AliasEvent, source.version, target.version)
            .outerjoin(source, AliasEvent.from_version_id == source.id)
            .join(target, AliasEvent.to_version_id == target.id)
            .where(AliasEvent.model_id == model.id).order_by(AliasEvent.id))
    if alias is not None:
        stmt = stmt.where(AliasEvent.alias == check_alias(alias))
    return [(event, before, after) for event, before, after in session.execute(stmt)]


def alias_at(session: Session, model: Model, alias: str, when: datetime) -> int | None:
    """The version number `alias` pointed at, at time `when` (None if it was not set yet)."""
    stmt = (select(ModelVersion.version).join(AliasEvent, AliasEvent.to_version_id == ModelVersion.id)
            .where(AliasEvent.model_id == model.id, AliasEvent.alias == check_alias(alias), AliasEvent.at <= when)
            .order_by(AliasEvent.id.desc()).limit(1))
    return session.scalar(stmt)
