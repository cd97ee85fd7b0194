"""`zoohub export REF --format hf DIR`: a version as a folder other tools load."""
from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("export", help="write a version as a Hugging Face folder (transformers, "
                                           "sentence-transformers)")
    p.add_argument("ref", help="NAME, NAME@VERSION, NAME:ALIAS or NAME@sha256:PREFIX")
    p.add_argument("dest", help="a new or empty folder")
    p.add_argument("--format", choices=("hf",), default="hf", help="the folder layout (hf: Hugging Face)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hub.hf import export_hf
    folder = export_hf(args.ref, args.dest)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    print(f"exported {args.ref} to {folder}: {', '.join(files)}")
    return 0
