"""`zoohub reproduce REF [--benchmark NAME] [--json]` and `zoohub reproduce --all`: re-run benchmarks, judge
every claim, print claimed vs measured vs tolerance vs verdict; exit 0 only when every runnable claim reproduced."""
from __future__ import annotations

import argparse
import json
import sys
import time


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `reproduce` command to the zoohub CLI."""
    parser = subparsers.add_parser(
        "reproduce", help="re-run a model's benchmarks and compare with its claims",
        description="Re-run the benchmarks of a model version, compare each claim with the measurement "
                    "(|measured - claimed| <= abs_tol + rel_tol * |claimed|), store the runs and verdicts and "
                    "write a report under $ZOOHUB_HOME/reports/. Exit status 0 only when every runnable claim "
                    "is reproduced.")
    parser.add_argument("ref", nargs="?", help="model reference, e.g. text/minilm-l6 or speech/base@2")
    parser.add_argument("--all", action="store_true", help="every catalog model")
    parser.add_argument("--benchmark", metavar="NAME", help="run only this benchmark")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.set_defaults(run=run)
    return parser


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def table(report) -> str:
    """Claimed, measured, tolerance, delta and verdict per claim, then the reasons that need reading."""
    header = ("benchmark", "metric", "claimed", "measured", "tolerance", "delta", "verdict")
    rows = [(r.benchmark, r.metric, _fmt(r.claimed), _fmt(r.measured), f"{r.tolerance:.3g}",
             "—" if r.delta is None else f"{r.delta:+.3g}", r.verdict) for r in report.results]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [f"{report.ref}  (manifest {report.manifest_sha256[:12]}, {report.seconds:.1f} s)",
             "  ".join(h.ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    for r in report.results:
        if r.verdict != "reproduced":
            lines.append(f"  {r.benchmark}:{r.metric} {r.verdict}: {r.reason}")
    lines.append(f"  report: {report.markdown_path}")
    return "\n".join(lines)


def _progress(enabled: bool):
    """A tqdm bar over benchmarks on stderr (terminal only); returns (on_step, close)."""
    from tqdm import tqdm
    bar = tqdm(desc="reproduce", unit="benchmark", leave=False, disable=None if enabled else True, file=sys.stderr)
    started = []

    def on_step(name: str) -> None:
        if started:  # the previous benchmark is done
            bar.update(1)
        started.append(name)
        bar.set_postfix_str(name)

    def close() -> None:
        bar.update(1 if started else 0)
        bar.close()
    return on_step, close


def run(args: argparse.Namespace) -> int:
    """Reproduce one model or all; prints tables (or JSON); returns the exit status."""
    from hub.errors import HubError, UsageError
    from hub.reproduce import catalog_models, reproduce

    if bool(args.ref) == bool(args.all):
        raise UsageError("reproduce: give a model reference or --all (not both)")
    if args.all and args.benchmark:
        raise UsageError("reproduce: --benchmark needs one model reference, not --all")
    refs = catalog_models() if args.all else [args.ref]
    t0 = time.perf_counter()
    ok, docs = True, []
    for ref in refs:
        on_step, close = _progress(not args.json)
        try:
            report = reproduce(ref, args.benchmark, on_step=on_step)
        except HubError as exc:
            close()
            print(f"zoohub reproduce: error: {exc}", file=sys.stderr)
            ok = False
            docs.append({"ref": ref, "error": str(exc), "ok": False})
            continue
        close()
        ok &= report.ok
        if args.json:
            docs.append(report.to_dict())
        else:
            print(table(report))
            print()
    if args.json:
        print(json.dumps(docs if args.all else docs[0], indent=2, default=str))
    elif args.all:
        print(f"{len(refs)} model(s) in {time.perf_counter() - t0:.1f} s: "
              f"{'every runnable claim reproduced' if ok else 'some claims NOT reproduced'}")
    return 0 if ok else 1
