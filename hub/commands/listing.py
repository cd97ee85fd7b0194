"""`zoohub list` and `zoohub info`."""
from __future__ import annotations

import argparse
import dataclasses

import hub
from hub.commands.formatting import human_size, table, to_json, when


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("list", help="models in the registry and the catalog")
    p.add_argument("--task", help="only models of this task (speech, text, vision, ...)")
    p.add_argument("--query", help="only models whose name or description contains this text")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run_list)
    p = commands.add_parser("info", help="one version: files, config, aliases, versions, verdicts")
    p.add_argument("ref", help="NAME, NAME@VERSION, NAME:ALIAS or NAME@sha256:PREFIX")
    p.add_argument("--card", action="store_true", help="also print the model card")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run_info)


def run_list(args: argparse.Namespace) -> int:
    models = hub.list(task=args.task, query=args.query)
    if args.json:
        print(to_json([dataclasses.asdict(m) for m in models]))
        return 0
    if not models:
        print("no models")
        return 0
    rows = [[m.name, m.task, m.latest_version if m.in_registry else "-",
             ", ".join(f"{a}@{v}" for a, v in m.aliases.items()) or "-",
             m.license, m.description if m.in_registry else f"(not pulled) {m.description}"] for m in models]
    print(table(["NAME", "TASK", "LATEST", "ALIASES", "LICENSE", "DESCRIPTION"], rows))
    return 0


def run_info(args: argparse.Namespace) -> int:
    info = hub.info(args.ref)
    if args.json:
        print(to_json(info))
        return 0
    aliases = ", ".join(f"{a} -> {v}" for a, v in info.aliases.items()) or "none"
    print(f"{info.ref}  ({info.task}, {info.license or 'no license given'})")
    print(f"  {info.description}" if info.description else "", end="\n" if info.description else "")
    print(f"  manifest  sha256:{info.manifest_sha256}")
    print(f"  created   {when(info.created_at)} by {info.created_by or '?'} from {info.source or '?'}")
    print(f"  versions  {', '.join(map(str, info.versions))}; aliases: {aliases}")
    print(f"  config    {info.config}")
    print()
    print(table(["FILE", "SIZE", "SHA256"], [[f.path, human_size(f.size), f.sha256] for f in info.files]))
    if info.verdicts:
        print()
        print(table(["BENCHMARK", "CLAIMED", "MEASURED", "DELTA", "TOLERANCE", "VERDICT", "SOURCE"],
                    [[v.benchmark, f"{v.claimed:.4g}", "-" if v.measured is None else f"{v.measured:.4g}",
                      "-" if v.delta is None else f"{v.delta:+.3g}", f"{v.abs_tol:g} + {v.rel_tol:g}*|claim|",
                      v.verdict, v.source] for v in info.verdicts]))
    if args.card and info.card:
        print()
        print(info.card)
    return 0
