"""`zoohub db upgrade` and `zoohub db status`: the registry database's schema revision."""
from __future__ import annotations

import argparse

from sqlalchemy import inspect

from hub.errors import user_errors
from registry import db


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("db", help="the registry database")
    actions = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions.add_parser("upgrade", help="bring the database to this zoohub's schema").set_defaults(run=run_upgrade)
    actions.add_parser("status", help="where the database is and its schema revision").set_defaults(run=run_status)


@user_errors
def run_upgrade(args: argparse.Namespace) -> int:
    before, after = db.upgrade()
    where = db.display_url(db.database_url())
    if before == after:
        print(f"{where}: already at schema revision {after}")
    else:
        print(f"{where}: upgraded from schema revision {before or '(empty)'} to {after}")
    return 0


@user_errors
def run_status(args: argparse.Namespace) -> int:
    url = db.database_url()
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            current = db.current_revision(conn)
            tables = sorted(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    head = db.head_revision()
    if current == head:
        state = "up to date"
    elif current:
        state = "run `zoohub db upgrade`"
    elif tables:  # someone else's database: zoohub will not write into it
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        state = f"not a zoohub registry (it has other tables: {shown}); point ZOOHUB_DB_URL or ZOOHUB_HOME elsewhere"
    else:
        state = "empty (created on first use)"
    read_only = db.read_only_reason(url)
    if read_only is not None:
        state += f"; read-only ({read_only})"
    print(f"{db.display_url(url)}: schema revision {current or '-'}, this zoohub's {head}: {state}")
    return 0
