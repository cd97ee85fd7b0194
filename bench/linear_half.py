"""Few-row products against a float16-exact weight: ours packed in float32, ours kept in float16, numpy's
`x @ w.T` (OpenBLAS) and PyTorch's `F.linear` when importable, 1 and 2 threads, in one run.

    PYTHONPATH=. python bench/linear_half.py

The weights are float16 values widened to float32, as Whisper's are after import, so both packings give the
same bits. Times in milliseconds (best of 5); ratios are the other's time over ours in float16 (above 1: ours
is faster). Decoding-step shapes: 1 or 5 rows against Whisper's vocabulary projection and MLP weights.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kernel_timing import best_time, print_table, threads, torch  # noqa: E402

from core._C import _kernels  # noqa: E402

SHAPES = [  # (rows, in_features, out_features, what)
    (1, 384, 51865, "tiny.en vocabulary"),
    (5, 384, 51865, "tiny.en vocabulary, beam 5"),
    (1, 512, 51865, "base vocabulary"),
    (1, 384, 1536, "tiny.en mlp fc1"),
    (1, 2048, 512, "base mlp fc2"),
    (5, 512, 2048, "base mlp fc1, beam 5"),
]


def main() -> int:
    rng = np.random.default_rng(0)
    rows = []
    for m, k, n, what in SHAPES:
        w = rng.standard_normal((n, k)).astype(np.float16).astype(np.float32)
        x = rng.standard_normal((m, k)).astype(np.float32)
        f32, f16 = _kernels.pack_weight(w), _kernels.pack_weight_half(w)
        assert np.array_equal(_kernels.linear_packed(x, f32), _kernels.linear_packed(x, f16))
        for t in (1, 2):
            with threads(t):
                ours16 = best_time(lambda: _kernels.linear_packed(x, f16))
                ours32 = best_time(lambda: _kernels.linear_packed(x, f32))
                npy = best_time(lambda: x @ w.T)
                row = [f"{m}x{k} @ {k}x{n} ({what})", str(t), f"{ours16 * 1e3:.3f}", f"{ours32 * 1e3:.3f}",
                       f"{ours32 / ours16:.2f}x", f"{npy * 1e3:.3f}", f"{npy / ours16:.2f}x"]
                if torch is not None:
                    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
                    tt = best_time(lambda: torch.nn.functional.linear(tx, tw))
                    row += [f"{tt * 1e3:.3f}", f"{tt / ours16:.2f}x"]
                rows.append(row)
    headers = ["product", "threads", "ours f16 ms", "ours f32 ms", "f32/f16", "numpy ms", "numpy/ours"]
    if torch is not None:
        headers += ["torch ms", "torch/ours"]
    print_table(headers, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
