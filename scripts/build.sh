#!/usr/bin/env bash
# Incremental in-place build of core._C for development and tests: ./scripts/build.sh [build-dir]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$(command -v python)}"
bdir="${1:-$here/build/dev}"
if [ ! -f "$bdir/build.ninja" ]; then
  cmake -S "$here" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DZOOHUB_INPLACE=ON \
    -DPython_EXECUTABLE="$py" >/dev/null
fi
cmake --build "$bdir" -- -j"$(nproc)"
