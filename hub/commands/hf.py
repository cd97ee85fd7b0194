"""`zoohub push-hf REF REPO_ID`: export a version and upload it to the Hugging Face Hub (token: $HF_TOKEN)."""
from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("push-hf", help="upload a version to a Hugging Face Hub repository ($HF_TOKEN)")
    p.add_argument("ref", help="NAME, NAME@VERSION, NAME:ALIAS or NAME@sha256:PREFIX")
    p.add_argument("repo_id", help="ORG/NAME on the Hub")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--dry-run", action="store_true", help="list the files the commit would upload; no network")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hub.hf import push_hf
    operations = push_hf(args.ref, args.repo_id, private=args.private, dry_run=args.dry_run)
    verb = "would upload" if args.dry_run else "uploaded"
    for op in operations:
        print(f"{verb} {op.path_in_repo} ({op.upload_info.size} bytes, sha256:{op.upload_info.sha256.hex()})")
    print(f"{'dry run: ' if args.dry_run else ''}{len(operations)} files for {args.repo_id}")
    return 0
