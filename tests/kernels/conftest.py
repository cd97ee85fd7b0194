"""Kernel tests run once per ISA; ISAs this CPU cannot run are skipped (and say so).

"avx512-emulated" is the AVX-512 kernels' own code compiled over emulated intrinsics (SIMDe) for AVX2 CPUs, so that
code runs here even where the hardware is missing; on an AVX-512 CPU both it and the real "avx512" run.
"""
import pytest

from core._C import _kernels

ALL_ISAS = ["scalar", "avx2", "avx512", "avx512-emulated"]


@pytest.fixture(params=ALL_ISAS)
def isa(request):
    if request.param not in _kernels.backend_info()["available_isas"]:
        pytest.skip(f"this CPU cannot run {request.param} kernels")
    return request.param


@pytest.fixture(autouse=True)
def _restore_threads():
    before = _kernels.get_num_threads()
    yield
    _kernels.set_num_threads(before)
