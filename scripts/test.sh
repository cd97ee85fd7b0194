#!/usr/bin/env bash
# The whole test suite on a fresh clone: sets everything up, then runs pytest. `.ci/run` calls this.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
./scripts/setup.sh
.venv/bin/python -m ruff check core zoo registry hub app bench tests
if [ $# -eq 0 ]; then
  # The tensor and nn tests once more on each kernel set this CPU can run but does not pick: the scalar fallback
  # and the AVX-512 code (emulated on AVX2-only CPUs). The full run below covers the default one.
  others="$(.venv/bin/python -c "import core; i = core.backend_info(); print(*[a for a in i['available_isas'] if a != i['isa']])")"
  for isa in $others; do
    echo "tests/core tests/nn with ZOOHUB_CPU_ISA=$isa"
    ZOOHUB_CPU_ISA="$isa" .venv/bin/python -m pytest -q -p no:cacheprovider tests/core tests/nn
  done
fi
exec .venv/bin/python -m pytest -q "$@"
