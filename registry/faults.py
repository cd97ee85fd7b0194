"""A fault-injection hook for the crash tests: pause at a named stage so a test can SIGKILL the process there.

With ZOOHUB_TEST_PAUSE=<stage> and ZOOHUB_TEST_PAUSE_FILE=<path>, reaching the stage writes our pid to the
file and sleeps. Stages: "blob-write" (a blob half written to its temp file), "before-commit" (a version's
rows inserted, transaction not committed). Unset, it costs one environment lookup.
"""
from __future__ import annotations

import os
import time
from pathlib import Path


def pause_point(stage: str) -> None:
    if os.environ.get("ZOOHUB_TEST_PAUSE") == stage:
        Path(os.environ["ZOOHUB_TEST_PAUSE_FILE"]).write_text(str(os.getpid()))
        time.sleep(600)
