"""`zoohub verify [REF]`: re-hash stored files; exit status 1 when anything is damaged."""
from __future__ import annotations

import argparse
import sys

import hub
from hub.commands.formatting import human_size


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("verify", help="re-hash every stored file and check every manifest")
    p.add_argument("ref", nargs="?", help="only this model or version")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    report = hub.verify(args.ref, progress=None)
    for problem in report.problems:
        print(f"zoohub: damaged: {problem}", file=sys.stderr)
    cleaned = f"; removed {report.removed_temp_files} stale temp files" if report.removed_temp_files else ""
    n = len(report.problems)
    status = "all intact" if report.ok else f"{n} problem{'' if n == 1 else 's'}"
    print(f"checked {report.checked_files} files ({human_size(report.checked_bytes)}): {status}{cleaned}")
    return 0 if report.ok else 1
