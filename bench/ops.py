"""Fused ops: softmax, layer_norm, gelu and attention, ours vs numpy and PyTorch when importable, 1 and 2 threads.

    PYTHONPATH=. python bench/ops.py

Times in milliseconds (best of 5 rounds in which the libraries take turns); ratios are the other's time over ours
(above 1: ours is faster). Attention is Whisper base's encoder self-attention: 8 heads, 1500 positions, head size
64 (numpy builds the full score matrix); the short one is MiniLM's at batch 32: 12 heads of 32 over 12 tokens.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kernel_timing import best_times_interleaved, print_table, threads, torch  # noqa: E402

from core._C import _kernels  # noqa: E402

try:
    from scipy.special import erf as _erf
except ImportError:
    _erf = None


def np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    d = x - mean
    return d / np.sqrt((d * d).mean(axis=-1, keepdims=True) + eps) * w + b


def np_gelu(x):
    if _erf is not None:
        return 0.5 * x * (1.0 + _erf(x * np.float32(1 / math.sqrt(2))))
    return 0.5 * x * (1.0 + np.tanh(np.float32(math.sqrt(2 / math.pi)) * (x + np.float32(0.044715) * x**3)))


def np_attention(q, k, v, causal):
    s = (q @ np.swapaxes(k, -1, -2)) * np.float32(1 / math.sqrt(q.shape[-1]))
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, np.float32(-np.inf))
    return np_softmax(s) @ v


def cases():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((8 * 1500, 1500), dtype=np.float32)
    acts = rng.standard_normal((1500, 512), dtype=np.float32)
    w, b = rng.standard_normal(512, dtype=np.float32), rng.standard_normal(512, dtype=np.float32)
    hidden = rng.standard_normal((1500, 2048), dtype=np.float32)
    q, k, v = (rng.standard_normal((1, 8, 1500, 64), dtype=np.float32) for _ in range(3))
    # MiniLM's self-attention at batch 32 of 12-token sentences: 12 heads of 32, read in place from the fused
    # projection's output (B, T, 3, H, D) as the model does
    fused = rng.standard_normal((32, 12, 3, 12, 32), dtype=np.float32)
    sq, sk, sv = (fused[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
    out = [
        ("softmax", "12000x1500 rows", lambda: _kernels.softmax(scores), lambda: np_softmax(scores),
         "torch.softmax", (scores,)),
        ("layer_norm", "1500x512", lambda: _kernels.layer_norm(acts, w, b), lambda: np_layer_norm(acts, w, b),
         "layer_norm", (acts, w, b)),
        ("gelu (erf)", "1500x2048", lambda: _kernels.unary("gelu", hidden), lambda: np_gelu(hidden),
         "gelu", (hidden,)),
        ("attention", "1x8x1500x64", lambda: _kernels.sdpa(q, k, v), lambda: np_attention(q, k, v, False),
         "sdpa", (q, k, v, False)),
        ("attention causal", "1x8x1500x64", lambda: _kernels.sdpa(q, k, v, causal=True),
         lambda: np_attention(q, k, v, True), "sdpa", (q, k, v, True)),
        ("attention, short", "32x12x12x32 strided", lambda: _kernels.sdpa(sq, sk, sv),
         lambda: np_attention(sq, sk, sv, False), "sdpa", (sq, sk, sv, False)),
    ]
    return out


def torch_fn(kind, arrays):
    if torch is None:
        return None
    t = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in arrays]
    f = torch.nn.functional
    if kind == "torch.softmax":
        return lambda: torch.softmax(t[0], dim=-1)
    if kind == "layer_norm":
        return lambda: f.layer_norm(t[0], (t[0].shape[-1],), t[1], t[2])
    if kind == "gelu":
        return lambda: f.gelu(t[0])
    return lambda: f.scaled_dot_product_attention(t[0], t[1], t[2], is_causal=t[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    info = _kernels.backend_info()
    print(f"ours: isa={info['isa']}; numpy {np.__version__}"
          + (f"; torch {torch.__version__}" if torch is not None else "; torch not installed"))
    headers = ["op", "shape", "threads", "ours ms", "numpy ms", "numpy/ours"]
    if torch is not None:
        headers += ["torch ms", "torch/ours"]
    rows = []
    with torch.inference_mode() if torch is not None else contextlib.nullcontext():
        for name, shape, ours_fn, np_fn, kind, arrays in cases():
            tfn = torch_fn(kind, arrays)
            for t in args.threads:
                fns = [ours_fn, np_fn] + ([tfn] if tfn is not None else [])
                with threads(t):
                    times = best_times_interleaved(fns, repeats=5, min_time=0.1, settle=0.1 if t > 1 else 0.0)
                ours, npy = times[0], times[1]
                tch = times[2] if tfn is not None else None
                row = [name, shape, str(t), f"{ours * 1e3:.2f}", f"{npy * 1e3:.2f}", f"{npy / ours:.2f}x"]
                if tch is not None:
                    row += [f"{tch * 1e3:.2f}", f"{tch / ours:.2f}x"]
                rows.append(row)
                print(" | ".join(row), file=sys.stderr, flush=True)
    print_table(headers, rows)


if __name__ == "__main__":
    main()
