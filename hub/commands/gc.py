"""`zoohub gc [--older-than HOURS] [--dry-run]`: delete stored blobs that no version references."""
from __future__ import annotations

import argparse

import hub
from hub.commands.formatting import human_size
from hub.garbage import DEFAULT_GRACE_HOURS


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("gc", help="delete stored blobs no version references (uploads of publishes that never "
                                       "committed)")
    p.add_argument("--older-than", type=float, default=DEFAULT_GRACE_HOURS, metavar="HOURS",
                   help=f"keep blobs written or wanted by a publish within this many hours "
                        f"(default {DEFAULT_GRACE_HOURS:g})")
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    report = hub.gc(older_than_hours=args.older_than, dry_run=args.dry_run)
    verb = "would remove" if report.dry_run else "removed"
    for sha, size in report.removed:
        print(f"{verb} sha256:{sha} ({human_size(size)})")
    kept = f"; kept {report.kept_recent} newer than {args.older_than:g} h" if report.kept_recent else ""
    temps = f"; {verb} {report.removed_temp_files} stale temp files" if report.removed_temp_files else ""
    print(f"{verb} {len(report.removed)} unreferenced blobs ({human_size(report.freed_bytes)}){kept}{temps}")
    return 0
