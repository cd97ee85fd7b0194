"""`zoohub promote REF ALIAS --reason ...` and `zoohub history NAME`."""
from __future__ import annotations

import argparse
from datetime import date, datetime, time, timezone

import hub
from hub.commands.formatting import table, when
from hub.errors import UsageError


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("promote", help="point an alias (production, staging, ...) at a version")
    p.add_argument("ref", help="the version, e.g. speech/base@3")
    p.add_argument("alias", help="e.g. production")
    p.add_argument("--reason", default="", help="why, kept in the alias history")
    p.set_defaults(run=run_promote)
    p = commands.add_parser("history", help="every move of a model's aliases, with who, when and why")
    p.add_argument("name")
    p.add_argument("--alias", help="only this alias")
    p.add_argument("--at", help="only moves up to this time: a day (2026-05-03 or 20260503: up to the end of that day, "
                                "UTC) or an ISO time (2026-05-03T12:00, UTC unless it names a zone)")
    p.set_defaults(run=run_history)


def run_promote(args: argparse.Namespace) -> int:
    change = hub.promote(args.ref, args.alias, reason=args.reason)
    if not change.moved:
        print(f"{change.name}:{change.alias} already points to version {change.to_version}; nothing changed")
        return 0
    before = f"version {change.from_version}" if change.from_version is not None else "unset"
    print(f"{change.name}:{change.alias} -> version {change.to_version} (was {before})")
    return 0


def _parse_time(text: str) -> datetime:
    """`--at`: a day in any ISO form (2026-05-03, 20260503) is the end of that day; a time is that instant; UTC
    unless the text names a zone."""
    expected = "expected a date (2026-05-03 or 20260503) or an ISO time (2026-05-03T12:00)"
    if not text.strip():
        raise UsageError(f"--at is empty: {expected}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    try:
        at = datetime.combine(day, time.max) if day is not None else datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at {text!r}: {expected}") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def run_history(args: argparse.Namespace) -> int:
    at = _parse_time(args.at) if args.at is not None else None
    changes = hub.history(args.name, alias=args.alias, at=at)
    if not changes:
        print(f"{args.name}: no alias has been set" + (f" by {when(at)}" if at else ""))
        return 0
    print(table(["WHEN", "ALIAS", "FROM", "TO", "BY", "REASON"],
                [[when(c.at), c.alias, "-" if c.from_version is None else c.from_version, c.to_version, c.actor,
                  c.reason] for c in changes]))
    return 0
