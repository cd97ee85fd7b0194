"""ISA choice and thread count: environment overrides (checked in fresh interpreters) and the Python API."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import core
from core._C import _kernels

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120)


def test_backend_info_reports_isa_threads_and_flags():
    info = core.backend_info()
    assert info["isa"] in info["available_isas"]
    assert info["available_isas"][0] == "scalar"
    assert info["threads"] == core.get_num_threads() >= 1
    assert "-mavx2" in info["build_flags"]["avx2"] and "-mavx512f" in info["build_flags"]["avx512"]
    assert info["compiler"]


@pytest.mark.parametrize("name", ["scalar", "avx2", "avx512", "avx512-emulated"])
def test_env_override_selects_each_isa_the_cpu_has(name):
    if name not in _kernels.backend_info()["available_isas"]:
        pytest.skip(f"this CPU cannot run {name} kernels")
    r = run_python("import core; print(core.backend_info()['isa'])", ZOOHUB_CPU_ISA=name)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == name


def test_emulated_avx512_is_the_avx512_layer_and_never_the_default():
    info = _kernels.backend_info()
    if "avx512-emulated" not in info["available_isas"]:
        pytest.skip("this build has no SIMDe headers (Debian: libsimde-dev)")
    assert info["isa"] != "avx512-emulated"
    r = run_python("import core; i = core.backend_info(); print(i['isa'], i['gemm_tile'])",
                   ZOOHUB_CPU_ISA="avx512-emulated")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split(maxsplit=1) == ["avx512-emulated", "(12, 32)\n"]  # AVX-512's 12 x 32 tile, 16 lanes


def test_env_override_with_an_unknown_isa_fails_the_import_clearly():
    r = run_python("import core", ZOOHUB_CPU_ISA="avx9000")
    assert r.returncode == 1
    assert "ZOOHUB_CPU_ISA: unknown ISA 'avx9000'; choose one of scalar, avx2, avx512, avx512-emulated" in r.stderr
    assert "Traceback" in r.stderr  # a Python exception, not an abort


def test_env_override_with_an_isa_the_cpu_lacks_fails_the_import_clearly():
    missing = [n for n in ("avx2", "avx512") if n not in _kernels.backend_info()["available_isas"]]
    if not missing:
        pytest.skip("this CPU runs every ISA")
    r = run_python("import core", ZOOHUB_CPU_ISA=missing[0])
    assert r.returncode == 1
    assert f"ZOOHUB_CPU_ISA: this CPU cannot run {missing[0]} kernels" in r.stderr
    assert "available here: scalar" in r.stderr


def test_env_thread_count_is_used_and_validated():
    r = run_python("import core; print(core.get_num_threads())", ZOOHUB_NUM_THREADS="3")
    assert r.returncode == 0 and r.stdout.strip() == "3", r.stderr
    r = run_python("import core", ZOOHUB_NUM_THREADS="many")
    assert r.returncode == 1 and "ZOOHUB_NUM_THREADS: expected a whole number from 1 to 1024, got 'many'" in r.stderr


def test_set_num_threads_round_trips_and_rejects_zero():
    core.set_num_threads(1)
    assert core.get_num_threads() == 1
    core.set_num_threads(2)
    assert core.get_num_threads() == 2
    with pytest.raises(ValueError, match="expected 1 to 1024 threads, got 0"):
        core.set_num_threads(0)


def test_kernel_with_a_forced_isa_the_cpu_lacks_raises():
    missing = [n for n in ("avx2", "avx512") if n not in _kernels.backend_info()["available_isas"]]
    if not missing:
        pytest.skip("this CPU runs every ISA")
    import numpy as np

    with pytest.raises(RuntimeError, match=f"cannot run {missing[0]} kernels"):
        _kernels.softmax(np.zeros(3, np.float32), isa=missing[0])


def test_resizing_the_pool_back_to_back_never_hangs():
    # A pool replaced before its worker threads had started used to leave a worker asleep forever (the join in
    # the old pool's destructor then hung). Resize many times in a row, with and without work in between.
    code = (
        "import numpy as np\n"
        "from core._C import _kernels as K\n"
        "a = np.ones((96, 96), np.float32)\n"
        "for i in range(300):\n"
        "    K.set_num_threads(4 if i % 2 else 3)\n"
        "    if i % 3 == 0:\n"
        "        assert float(K.sgemm(a, a)[0, 0]) == 96.0\n"
        "print('ok')\n"
    )
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
