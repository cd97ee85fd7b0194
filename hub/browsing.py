"""`hub.list`, `hub.info` and `hub.history`: what the registry and the catalog hold."""
from __future__ import annotations

from datetime import datetime, timezone

from hub.access import database, version_info
from hub.errors import HubError, InvalidReference, ModelNotFound, user_errors
from hub.records import AliasChange, ModelSummary, VersionInfo
from hub.references import parse_reference
from registry.aliases import alias_history
from registry.names import check_alias
from registry import versions
from registry.versions import aliases_of, all_model_names, get_model, resolve_version, unknown_model_message


def _catalog() -> dict:
    from zoo.catalog import entries
    return entries()


@user_errors
def list_models(task: str | None = None, query: str | None = None) -> list[ModelSummary]:
    """`hub.list`: registry models and catalog models not pulled yet, optionally of one task or matching a text.

    >>> [m.name for m in hub.list(task="speech")]
    ['speech/base', 'speech/tiny.en']
    """
    for label, value in (("task", task), ("query", query)):
        if value is not None and not isinstance(value, str):
            raise HubError(f"list: {label} must be a string, not {type(value).__name__}")
    from hub import remote
    if remote.enabled():
        return remote.client().list_models(task, query)
    with database().read() as session:
        rows = [ModelSummary(name=m.full_name, task=m.task, description=m.description, license=m.license,
                             in_registry=True, latest_version=max((v.version for v in m.versions), default=None),
                             aliases=aliases_of(session, m))
                for m in versions.list_models(session, task, query)]
    present = {r.name for r in rows}
    needle = (query or "").lower()
    for name, entry in sorted(_catalog().items()):
        if name in present or (task and entry.task != task):
            continue
        if needle and needle not in name.lower() and needle not in entry.description.lower():
            continue
        rows.append(ModelSummary(name=name, task=entry.task, description=entry.description, license=entry.license,
                                 in_registry=False))
    return sorted(rows, key=lambda r: r.name)


@user_errors
def info(ref: str) -> VersionInfo:
    """One version (by reference) with its files, config, card, the model's versions and aliases, and verdicts.

    >>> hub.info("speech/base:production").files[0].path
    'config.json'
    """
    from hub import remote
    if remote.enabled():
        return remote.client().resolve(ref)
    parsed = parse_reference(ref)
    with database().read() as session:
        if get_model(session, parsed.name) is None:
            _missing(parsed.name, all_model_names(session))
        version = resolve_version(session, parsed.name, version=parsed.version, alias=parsed.alias,
                                  manifest_prefix=parsed.manifest_prefix)
        return version_info(session, version, verdicts=True)


def _missing(name: str, known: list[str]) -> None:
    catalog = _catalog()
    if name in catalog:
        raise ModelNotFound(f"{name} is in the catalog but not in the registry yet: `zoohub pull {name}` imports it")
    raise ModelNotFound(unknown_model_message(name, known + [n for n in catalog]))


@user_errors
def history(name: str, alias: str | None = None, at: datetime | None = None) -> list[AliasChange]:
    """Every move of the model's aliases (or of one alias), oldest first; with `at`, only moves up to then.

    What was in production on 3 May:
    >>> hub.history("speech/base", "production", at=datetime(2026, 5, 3, tzinfo=timezone.utc))[-1].to_version
    2
    """
    parsed = parse_reference(name)
    if not parsed.is_plain:
        raise InvalidReference(f"history takes a model name, not the reference {name!r}")
    if alias is not None:
        check_alias(alias)
    if at is not None and not isinstance(at, datetime):
        raise HubError(f"history: at must be a datetime, e.g. datetime(2026, 5, 3, tzinfo=timezone.utc), not "
                       f"{type(at).__name__}")
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    from hub import remote
    if remote.enabled():
        changes = remote.client().history(parsed.name, alias)
    else:
        with database().read() as session:
            model = get_model(session, parsed.name)
            if model is None:
                _missing(parsed.name, all_model_names(session))
            changes = [AliasChange(model.full_name, event.alias, before, after, event.actor, event.reason, event.at)
                       for event, before, after in alias_history(session, model, alias)]
    return [c for c in changes if at is None or c.at <= at]
