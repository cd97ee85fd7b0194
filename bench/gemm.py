"""GEMM throughput: ours vs numpy (OpenBLAS) and PyTorch when importable, 1 and 2 threads, float32.

    PYTHONPATH=. python bench/gemm.py            # the full table
    PYTHONPATH=. python bench/gemm.py --quick    # square sizes only

GFLOP/s = 2 M N K / best time, the libraries taking turns over 7 rounds (kernel_timing.best_times_interleaved).
Ratios above 1 mean ours is faster. Numpy's BLAS threads are set with threadpoolctl, PyTorch's with
torch.set_num_threads, ours with core.set_num_threads.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kernel_timing import best_times_interleaved, print_table, threads, torch  # noqa: E402

from core._C import _kernels  # noqa: E402

SQUARE = [64, 256, 512, 1024, 2048]
# (label, M, K, N): the products of Whisper base (1500 frames, width 512, MLP 2048) and MiniLM-L6 (a batch of
# 8 x 128 tokens, width 384, MLP 1536).
MODEL_SHAPES = [
    ("whisper-base attn proj", 1500, 512, 512),
    ("whisper-base mlp fc1", 1500, 512, 2048),
    ("whisper-base mlp fc2", 1500, 2048, 512),
    ("minilm attn proj", 1024, 384, 384),
    ("minilm mlp fc1", 1024, 384, 1536),
    ("minilm mlp fc2", 1024, 1536, 384),
]


def measure(m: int, k: int, n: int, nthreads: int) -> list[float | None]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    flops = 2.0 * m * n * k
    min_time = 0.05 if flops < 1e9 else 0.2
    fns = [lambda: _kernels.sgemm(a, b), lambda: a @ b]
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        fns.append(lambda: ta @ tb)
    with threads(nthreads):
        times = best_times_interleaved(fns, min_time=min_time, settle=0.1 if nthreads > 1 else 0.0)
    rates = [flops / t / 1e9 for t in times]
    return rates + [None] * (3 - len(rates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="square sizes only")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    info = _kernels.backend_info()
    print(f"ours: isa={info['isa']} tile={info['gemm_tile']} compiler={info['compiler']}; numpy {np.__version__}"
          + (f"; torch {torch.__version__}" if torch is not None else "; torch not installed"))
    cases = [(f"{n}x{n} @ {n}x{n}", n, n, n) for n in SQUARE]
    if not args.quick:
        cases += [(f"{label}: {m}x{k} @ {k}x{n}", m, k, n) for label, m, k, n in MODEL_SHAPES]
    headers = ["shape", "threads", "ours GFLOP/s", "numpy GFLOP/s", "ours/numpy"]
    if torch is not None:
        headers += ["torch GFLOP/s", "ours/torch"]
    rows = []
    for label, m, k, n in cases:
        for t in args.threads:
            ours, npy, tch = measure(m, k, n, t)
            row = [label, str(t), f"{ours:.1f}", f"{npy:.1f}", f"{ours / npy:.2f}x"]
            if tch is not None:
                row += [f"{tch:.1f}", f"{ours / tch:.2f}x"]
            rows.append(row)
            print(" | ".join(row), file=sys.stderr, flush=True)
    print_table(headers, rows)


if __name__ == "__main__":
    main()
