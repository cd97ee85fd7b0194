#!/usr/bin/env bash
# The main job on a fresh clone: set up, then train the digits CNN from scratch on core and print its accuracy.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
./scripts/setup.sh
exec .venv/bin/python scripts/demo_digits.py "$@"
