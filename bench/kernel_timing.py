"""Timing and thread control shared by bench/gemm.py and bench/ops.py.

Times are the best of several repeats (each repeat loops until it has run for at least `min_time` seconds): on a
shared machine the minimum is the number least disturbed by other work.
"""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator

from core._C import _kernels

try:
    import torch
except ImportError:  # PyTorch is optional: its columns are left out
    torch = None

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None


def best_time(fn: Callable[[], object], repeats: int = 5, min_time: float = 0.05) -> float:
    """Seconds per call of fn: the best over `repeats` runs of a loop lasting at least `min_time`."""
    return best_times_interleaved([fn], repeats, min_time)[0]


def _seconds_per_call(fn: Callable[[], object], min_time: float) -> float:
    """One timed loop of fn lasting at least min_time seconds."""
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / calls


def best_times_interleaved(fns: list[Callable[[], object]], repeats: int = 7, min_time: float = 0.05,
                           settle: float = 0.0) -> list[float]:
    """Seconds per call of each fn, the best over `repeats` rounds in which every fn takes its turn.

    Taking turns spreads each library's repeats over the same stretch of time, so a slow minute on a shared
    machine lowers them all instead of deciding the ratio; `settle` seconds of sleep before each turn let the
    previous library's idle worker threads stop spinning (OpenBLAS's and OpenMP's do, for milliseconds) so they
    do not take a core from the next one.
    """
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            if settle:
                time.sleep(settle)
            best[i] = min(best[i], _seconds_per_call(fn, min_time))
    return best


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Run ours, numpy's BLAS (through threadpoolctl) and PyTorch on n threads."""
    before = _kernels.get_num_threads()
    _kernels.set_num_threads(n)
    torch_before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    limits = threadpool_limits(limits=n) if threadpool_limits is not None else contextlib.nullcontext()
    try:
        with limits:
            yield
    finally:
        _kernels.set_num_threads(before)
        if torch is not None:
            torch.set_num_threads(torch_before)


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A Markdown table (pastes straight into docs/performance.md)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |")
