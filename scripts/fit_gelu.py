"""Fits the constants of the exact gelu kernel (vtwice_half_erfc in core/csrc/kernels/simd_kernels.h).

    .venv/bin/python scripts/fit_gelu.py      # needs scipy (erfcx); prints the float32 constants and their errors

The kernel writes the normal tail H(a) = erfc(a / sqrt 2) / 2 as exp(-a^2 / 2) P(a) / Q(a) on [0, 12.79] and takes
exp(r) = 1 + r + c2 r^2 + ... + c5 r^5 on |r| <= ln 2 / 2. Both are fitted for the least maximum relative error:
a weighted linear least-squares fit, reweighted by Lawson's rule (each point's weight times its error) until the
error levels out; the rational fit linearises P - R Q with the last Q as the weight (Loeb's iteration).
"""
from __future__ import annotations

import numpy as np
from scipy.special import erfcx

A_MAX = 12.79  # past it the kernel's scale is 0 (see simd_kernels.h)
R_MAX = 0.3466  # ln 2 / 2 and a little
P_SCALE = 1024.0  # P carries the scale's 2^9 and the 2 of "2 H"


def chebyshev_points(lo: float, hi: float, n: int = 4000) -> np.ndarray:
    return lo + (hi - lo) * (np.cos(np.linspace(np.pi, 0.0, n)) + 1.0) / 2.0


def tail_ratio(a: np.ndarray) -> np.ndarray:
    """H(a) exp(a^2 / 2), smooth and slowly varying: 1/2 at 0, about 1 / (a sqrt(2 pi)) far out."""
    return 0.5 * erfcx(a / np.sqrt(2.0))


def fit_rational(degree_p: int, degree_q: int, rounds: int = 120) -> tuple[float, np.ndarray, np.ndarray]:
    a = chebyshev_points(0.0, A_MAX)
    y = tail_ratio(a)
    weight, last_q = np.ones_like(a), np.ones_like(a)
    best = (np.inf, None, None)
    for _ in range(rounds):
        basis = np.hstack([a[:, None] ** np.arange(degree_p + 1),
                           -y[:, None] * a[:, None] ** np.arange(1, degree_q + 1)])
        row = np.sqrt(weight) / np.abs(y * last_q)
        c, *_ = np.linalg.lstsq(basis * row[:, None], y * row, rcond=None)
        p, q = c[:degree_p + 1], np.concatenate([[1.0], c[degree_p + 1:]])
        last_q = np.polynomial.polynomial.polyval(a, q)
        err = np.polynomial.polynomial.polyval(a, p) / last_q / y - 1.0
        worst = float(np.max(np.abs(err)))
        if worst < best[0]:
            best = (worst, p, q)
        weight = np.maximum(weight * np.abs(err) / np.sum(weight * np.abs(err)), 1e-12)
    return best


def fit_exp(degree: int, rounds: int = 150) -> tuple[float, np.ndarray]:
    r = chebyshev_points(-R_MAX, R_MAX)
    y = np.exp(r)
    weight = np.ones_like(r)
    best = (np.inf, None)
    for _ in range(rounds):
        basis = r[:, None] ** np.arange(2, degree + 1)
        row = np.sqrt(weight) / y
        c, *_ = np.linalg.lstsq(basis * row[:, None], (y - 1.0 - r) * row, rcond=None)
        err = (1.0 + r + basis @ c) / y - 1.0
        worst = float(np.max(np.abs(err)))
        if worst < best[0]:
            best = (worst, c)
        weight = np.maximum(weight * np.abs(err) / np.sum(weight * np.abs(err)), 1e-14)
    return best


def main() -> None:
    _, p, q = fit_rational(4, 4)
    p32, q32 = (p * P_SCALE).astype(np.float32), q.astype(np.float32)
    a = np.linspace(0.0, A_MAX, 200001)
    ratio = np.polynomial.polynomial.polyval(a, p32.astype(np.float64)) / np.polynomial.polynomial.polyval(
        a, q32.astype(np.float64)) / P_SCALE
    print(f"P / Q, degrees 4 / 4: max relative error {np.max(np.abs(ratio / tail_ratio(a) - 1)):.2e} "
          "with float32 coefficients")
    print("  P (constant first, times 1024):", ", ".join(f"{float(v)!r}f" for v in p32))
    print("  Q (constant first):", ", ".join(f"{float(v)!r}f" for v in q32))
    _, c = fit_exp(5)
    c32 = c.astype(np.float32)
    r = np.linspace(-R_MAX, R_MAX, 100001)
    approx = 1.0 + r + sum(float(v) * r ** (j + 2) for j, v in enumerate(c32))
    print(f"exp, degree 5: max relative error {np.max(np.abs(approx / np.exp(r) - 1)):.2e} with float32 coefficients")
    print("  c2..c5:", ", ".join(f"{float(v)!r}f" for v in c32))


if __name__ == "__main__":
    main()
