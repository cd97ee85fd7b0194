"""`zoohub publish FOLDER NAME`."""
from __future__ import annotations

import argparse

import hub


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("publish", help="publish a model folder (config.json, *.safetensors, README.md)")
    p.add_argument("folder")
    p.add_argument("name", help="namespace/name, e.g. vision/my-digits")
    p.add_argument("--task", help="the model's task (default: the namespace); given, it replaces an existing model's")
    p.add_argument("--description", default="", help="given, it replaces an existing model's")
    p.add_argument("--license", default="", help="an SPDX id or a short name; given, it replaces an existing model's")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = hub.publish(args.folder, args.name, task=args.task, description=args.description, license=args.license,
                       progress=None)
    given = [label for label, value in (("task", args.task), ("description", args.description),
                                        ("license", args.license)) if value]
    if info.created:
        print(f"published {info.ref} (manifest sha256:{info.manifest_sha256})")
    elif given:
        print(f"{info.ref} already holds these files (manifest sha256:{info.manifest_sha256}); no new version, the "
              f"model's {', '.join(given)} updated")
    else:
        print(f"{info.ref} already holds these files (manifest sha256:{info.manifest_sha256}); nothing new")
    return 0
