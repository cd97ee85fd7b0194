#!/usr/bin/env bash
# The whole test suite on a fresh clone: sets everything up, then runs pytest. `.ci/run` calls this.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
./scripts/setup.sh
.venv/bin/python -m ruff check core zoo registry hub app bench tests
exec .venv/bin/python -m pytest -q "$@"
