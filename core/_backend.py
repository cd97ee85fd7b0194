"""The compute backend of core: which SIMD kernels run and on how many threads.

>>> import core
>>> core.backend_info()["isa"] in ("scalar", "avx2", "avx512")
True
>>> core.set_num_threads(1); core.get_num_threads()
1

The ISA is chosen from CPUID at import; ``ZOOHUB_CPU_ISA=scalar|avx2|avx512`` overrides it (importing fails with a
clear error if the CPU cannot run the one asked for). ``avx512-emulated`` runs the AVX-512 kernels' code on an AVX2
CPU through emulated intrinsics, for testing that code where the hardware is missing; it is slow and never the
default. ``ZOOHUB_NUM_THREADS`` sets the starting thread count.
"""
from __future__ import annotations

from typing import Any

from core._C import _kernels


def backend_info() -> dict[str, Any]:
    """The ISA in use, the ISAs this CPU can run, threads, compiler, build type and per-ISA compiler flags.

    >>> sorted(backend_info())[:3]
    ['available_isas', 'build_flags', 'build_type']
    """
    return dict(_kernels.backend_info())


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (the caller included) in every kernel; ``n >= 1``."""
    _kernels.set_num_threads(int(n))


def get_num_threads() -> int:
    """The number of threads the kernels use."""
    return int(_kernels.get_num_threads())


__all__ = ["backend_info", "get_num_threads", "set_num_threads"]
