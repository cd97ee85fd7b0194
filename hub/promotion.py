"""`hub.promote`: point an alias (production, staging, ...) at a version, with the event in the same transaction."""
from __future__ import annotations

from hub.access import actor, database
from hub.browsing import info
from hub.errors import ArgumentTypeError, user_errors
from hub.records import AliasChange
from registry.aliases import set_alias
from registry.names import check_alias, check_line
from registry.schema import AliasEvent
from registry.versions import resolve_version


@user_errors
def promote(ref: str, alias: str, reason: str = "", *, by: str | None = None) -> AliasChange:
    """Point `alias` of the model at the version `ref` names and record who, when and why.

    >>> hub.promote("speech/base@3", "production", reason="WER 0.3 points better on speech-dev")
    AliasChange(name='speech/base', alias='production', from_version=2, to_version=3, ...)

    An alias that already points at the version is left as it is: nothing is written and the change returned
    has from_version == to_version (`.moved` is False).
    """
    for label, value in (("reason", reason), ("by", by)):
        if not isinstance(value, str) and not (label == "by" and value is None):
            raise ArgumentTypeError(f"promote {ref!r}: {label} must be a string, not {type(value).__name__}")
    check_alias(alias)
    check_line("reason", reason)
    from hub import remote
    if remote.enabled():
        return remote.client().promote(ref, alias, reason)
    target = info(ref)  # resolves the reference with its errors (unknown model, version, alias)
    with database().write() as session:
        version = resolve_version(session, target.name, version=target.version)
        event, moved = set_alias(session, version, alias, actor=by or actor(), reason=reason)
        return alias_change(target.name, event, moved)


def alias_change(name: str, event: AliasEvent, moved: bool) -> AliasChange:
    """What set_alias did as an AliasChange: the move, or (not moved) from and to the version the alias keeps."""
    after = event.to_version.version
    if not moved:
        return AliasChange(name, event.alias, after, after, event.actor, event.reason, event.at)
    before = event.from_version.version if event.from_version is not None else None
    return AliasChange(name, event.alias, before, after, event.actor, event.reason, event.at)
