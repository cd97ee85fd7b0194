"""A client process of the server's concurrency test (ZOOHUB_REMOTE and ZOOHUB_TOKEN come from the environment).

    python -m tests.server.remote_worker download HOME ROUNDS REF...   pull each REF ROUNDS times, each round
                                                                       into a fresh HOME/round-N cache
    python -m tests.server.remote_worker publish WORKER ROUNDS DIR     publish and promote test/shared

Prints one JSON line: what it got (re-hashed from disk), and the latency of every request it sent.
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import hub
from hub import remote
from tests.hub.tiny_model import write_folder

MODEL = "test/shared"


def download(home: Path, rounds: int, refs: list[str]) -> dict:
    got = []
    for n in range(rounds):
        os.environ["ZOOHUB_HOME"] = str(home / f"round-{n}")
        for ref in refs:
            info = hub.pull(ref, progress=False)
            for f in info.files:
                actual = hashlib.sha256((info.folder / f.path).read_bytes()).hexdigest()
                got.append([ref, info.version, f.path, f.sha256, actual])
    return {"files": got, "latencies": remote.client().latencies}


def publish(worker: int, rounds: int, out: Path) -> dict:
    published, promoted = [], []
    for n in range(rounds):
        own = write_folder(out / f"w{worker}-r{n}", seed=1000 * (worker + 1) + n, n_in=64, n_out=64)
        shared = write_folder(out / f"shared-w{worker}-r{n}", seed=7, n_in=64, n_out=64)
        for folder in (own, shared):
            info = hub.publish(folder, MODEL, progress=False)
            published.append([folder.name, info.version, info.manifest_sha256, info.created])
        change = hub.promote(f"{MODEL}@{published[-2][1]}", "production", reason=f"w{worker} r{n}")
        promoted.append([change.reason, change.from_version, change.to_version])
    return {"published": published, "promoted": promoted, "latencies": remote.client().latencies}


def main() -> None:
    mode = sys.argv[1]
    if mode == "download":
        result = download(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
    else:
        result = publish(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
