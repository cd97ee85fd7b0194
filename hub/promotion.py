"""`hub.promote`: point an alias (production, staging, ...) at a version, with the event in the same transaction."""
from __future__ import annotations

from hub.access import actor, database
from hub.browsing import info
from hub.errors import ArgumentTypeError, user_errors
from hub.records import AliasChange
from registry.aliases import set_alias
from registry.names import check_alias
from registry.versions import resolve_version


@user_errors
def promote(ref: str, alias: str, reason: str = "", *, by: str | None = None) -> AliasChange:
    """Point `alias` of the model at the version `ref` names and record who, when and why.

    >>> hub.promote("speech/base@3", "production", reason="WER 0.3 points better on speech-dev")
    AliasChange(name='speech/base', alias='production', from_version=2, to_version=3, ...)
    """
    for label, value in (("reason", reason), ("by", by)):
        if not isinstance(value, str) and not (label == "by" and value is None):
            raise ArgumentTypeError(f"promote {ref!r}: {label} must be a string, not {type(value).__name__}")
    check_alias(alias)
    from hub import remote
    if remote.enabled():
        return remote.client().promote(ref, alias, reason)
    target = info(ref)  # resolves the reference with its errors (unknown model, version, alias)
    with database().write() as session:
        version = resolve_version(session, target.name, version=target.version)
        event = set_alias(session, version, alias, actor=by or actor(), reason=reason)
        before = event.from_version.version if event.from_version is not None else None
        return AliasChange(target.name, alias, before, version.version, event.actor, event.reason, event.at)
