"""`zoohub pull`: import a catalog model if needed, check its files, lay out its folder."""
from __future__ import annotations

import argparse

import hub


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("pull", help="make a model available locally (imports catalog models)")
    p.add_argument("ref", help="NAME, NAME@VERSION, NAME:ALIAS or NAME@sha256:PREFIX")
    p.add_argument("--repair", action="store_true", help="re-hash everything and rewrite damaged files from the "
                                                          "catalog source")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = hub.pull(args.ref, repair=args.repair, progress=None)
    print(f"{info.ref} ready: {len(info.files)} files in {info.folder}")
    return 0
