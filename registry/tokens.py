"""Bearer tokens for the zoohub server: made once, shown once, stored only as their sha256.

A token is 32 random bytes (url-safe base64) behind the prefix `zh_`; with that much entropy a plain sha256
is enough to store it (no password stretching needed), and lookups are by that hash.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import InvalidName, NotFound
from registry.schema import ApiToken, utcnow

PREFIX = "zh_"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def token_sha256(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidName(f"invalid token name {name!r}: expected lower-case letters, digits, '.', '_' or '-' "
                          f"(e.g. 'ci-publisher' or 'alice')")
    return name


def create_token(session: Session, name: str) -> str:
    """Record a new token called name and return it (the only time it is visible); call inside write()."""
    check_token_name(name)
    existing = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if existing is not None and existing.revoked_at is not None:
        raise InvalidName(f"a revoked token called {name!r} exists (its record stays for the history): pick another "
                          f"name, e.g. {name}-2")
    if existing is not None:
        raise InvalidName(f"a token called {name!r} exists already: revoke it first or pick another name")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_sha256=token_sha256(token)))
    session.flush()
    return token


def token_owner(session: Session, token: str) -> str | None:
    """The name of the live token, or None for an unknown or revoked one."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_sha256(token)))
    if row is None or row.revoked_at is not None:
        return None
    return row.name


def revoke_token(session: Session, name: str) -> None:
    """Revoke the token called name (kept with its revocation time); call inside write()."""
    row = session.scalar(select(ApiToken).where(ApiToken.name == check_token_name(name)))
    if row is None or row.revoked_at is not None:
        raise NotFound(f"no live token called {name!r} (`zoohub token list` shows them)")
    row.revoked_at = utcnow()


def list_tokens(session: Session) -> list[tuple[str, datetime, datetime | None]]:
    """(name, created_at, revoked_at) of every token, oldest first."""
    return [(t.name, t.created_at, t.revoked_at) for t in session.scalars(select(ApiToken).order_by(ApiToken.id))]
