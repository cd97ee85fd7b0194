"""A process of the concurrency and crash tests: publishes and promotes through the hub API.

    python -m tests.hub.publish_worker WORKER_ID ROUNDS OUT_DIR

Each round publishes a folder unique to (worker, round) and the folder every worker shares to `test/shared`,
then promotes one of the versions it got to `production`. Prints one JSON line: the versions it got and the
promotions it made.
"""
import json
import sys
from pathlib import Path

import hub
from tests.hub.tiny_model import write_folder

MODEL = "test/shared"


def main() -> None:
    worker, rounds, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    published, promoted = [], []
    for i in range(rounds):
        own = write_folder(out / f"w{worker}-r{i}", seed=1000 * (worker + 1) + i)
        shared = write_folder(out / f"shared-w{worker}-r{i}", seed=7)
        for folder in (own, shared):
            info = hub.publish(folder, MODEL, progress=False)
            published.append([folder.name, info.version, info.manifest_sha256, info.created])
        change = hub.promote(f"{MODEL}@{published[-2 + (i % 2)][1]}", "production", reason=f"w{worker} r{i}")
        promoted.append([change.reason, change.from_version, change.to_version])
    print(json.dumps({"published": published, "promoted": promoted}))


if __name__ == "__main__":
    main()
