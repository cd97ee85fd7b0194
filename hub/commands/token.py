"""`zoohub token create|list|revoke`: the bearer tokens of `zoohub serve`, stored hashed in the registry."""
from __future__ import annotations

import argparse
import sys

from hub.access import database
from hub.commands.formatting import table, when
from hub.errors import user_errors
from registry.tokens import create_token, list_tokens, revoke_token


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("token", help="tokens for writing to (or reading from) `zoohub serve`")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token; it is printed once, only its hash is kept")
    create.add_argument("name", help="who or what uses it, e.g. alice or ci-publisher")
    create.set_defaults(run=run_create)
    listing = actions.add_parser("list", help="token names, when made, whether revoked")
    listing.set_defaults(run=run_list)
    revoke = actions.add_parser("revoke", help="revoke a token (its record stays)")
    revoke.add_argument("name")
    revoke.set_defaults(run=run_revoke)


@user_errors
def run_create(args: argparse.Namespace) -> int:
    with database().write() as session:
        token = create_token(session, args.name)
    print(token)
    print(f"token {args.name!r} created: give it to its user as ZOOHUB_TOKEN; it is not shown again",
          file=sys.stderr)
    return 0


@user_errors
def run_list(args: argparse.Namespace) -> int:
    with database().read() as session:
        rows = list_tokens(session)
    if not rows:
        print("no tokens")
        return 0
    print(table(["NAME", "CREATED", "REVOKED"], [[n, when(c), when(r) if r else "-"] for n, c, r in rows]))
    return 0


@user_errors
def run_revoke(args: argparse.Namespace) -> int:
    with database().write() as session:
        revoke_token(session, args.name)
    print(f"token {args.name!r} revoked")
    return 0
