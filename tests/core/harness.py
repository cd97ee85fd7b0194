"""One line per op: run it on core tensors and on numpy in float64, compare, then check gradients by central
finite differences (tinygrad's helper_test_op idea, our code).

Tolerances: forward float64 atol 1e-9 / rtol 1e-7 (bit-level differences of libm only); gradients rtol 1e-5,
atol 1e-6 with eps 1e-6 (central differences have O(eps^2) error, the float64 round-off is ~1e-10/eps).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

import core

FWD_ATOL, FWD_RTOL = 1e-9, 1e-7
GRAD_ATOL, GRAD_RTOL, EPS = 1e-6, 1e-5, 1e-6


@dataclass
class Spec:
    """An op test. `shapes` lists input shapes (or callables rng -> numpy array for special inputs)."""

    name: str
    ours: Callable[..., Any]
    ref: Callable[..., Any] | None
    shapes: Sequence[Any]
    grad: bool = True
    grad_inputs: Sequence[int] | None = None  # which inputs to differentiate (default: all float inputs)
    low: float = -2.0
    high: float = 2.0
    atol: float = FWD_ATOL
    rtol: float = FWD_RTOL
    grad_atol: float = GRAD_ATOL
    grad_rtol: float = GRAD_RTOL
    eps: float = EPS
    id: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = self.name


def make_inputs(spec: Spec, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for s in spec.shapes:
        if callable(s):
            out.append(np.asarray(s(rng)))
        else:
            out.append(rng.uniform(spec.low, spec.high, size=s).astype(np.float64))
    return out


def to_core(arrays: list[np.ndarray], layout: str) -> list[core.Tensor]:
    """Core tensors for numpy inputs with the given memory layout: contiguous, transposed, or stepped."""
    ts = []
    for a in arrays:
        if layout == "transposed" and a.ndim >= 2:
            t = core.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).transpose(-1, -2)
        elif layout == "stepped" and a.ndim >= 1 and a.shape[-1] > 0:
            wide = np.repeat(a, 2, axis=-1)
            t = core.tensor(wide)[..., ::2]
        else:
            t = core.tensor(a)
        ts.append(t)
    return ts


def _outputs(x: Any) -> list[np.ndarray]:
    if isinstance(x, (tuple, list)):
        return [o for item in x for o in _outputs(item)]
    if isinstance(x, core.Tensor):
        return [x.detach().numpy().astype(np.float64) if x.dtype != core.bool else x.detach().numpy()]
    return [np.asarray(x)]


def check_forward(spec: Spec, seed: int = 0, layouts: Sequence[str] = ("contiguous", "transposed", "stepped")) -> None:
    rng = np.random.default_rng(seed)
    arrays = make_inputs(spec, rng)
    expected = _outputs(spec.ref(*arrays))
    for layout in layouts:
        got = _outputs(spec.ours(*to_core(arrays, layout)))
        assert len(got) == len(expected), f"{spec.id}: {len(got)} outputs, numpy gives {len(expected)}"
        for g, e in zip(got, expected):
            assert g.shape == e.shape, f"{spec.id} [{layout}]: shape {g.shape} != numpy {e.shape}"
            np.testing.assert_allclose(g, e, atol=spec.atol, rtol=spec.rtol, err_msg=f"{spec.id} [{layout}]")


def _scalar_loss(out: Any, cotangents: list[core.Tensor]) -> core.Tensor:
    outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if isinstance(o, core.Tensor)
            and o.dtype.is_floating_point]
    total = None
    for o, c in zip(outs, cotangents):
        term = (o * c).sum()
        total = term if total is None else total + term
    return total


def check_grad(spec: Spec, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    arrays = make_inputs(spec, rng)
    which = spec.grad_inputs if spec.grad_inputs is not None else [
        i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    inputs = to_core(arrays, "contiguous")
    for i in which:
        inputs[i].requires_grad = True
    out = spec.ours(*inputs)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if isinstance(o, core.Tensor)
            and o.dtype.is_floating_point]
    cot = [core.tensor(rng.standard_normal(o.shape)) for o in outs]
    loss = _scalar_loss(out, cot)
    loss.backward()
    for i in which:
        analytic = inputs[i].grad.numpy() if inputs[i].grad is not None else np.zeros_like(arrays[i])
        numeric = np.zeros_like(arrays[i])
        flat = arrays[i].reshape(-1)
        for k in range(flat.size):
            vals = []
            for sign in (1, -1):
                perturbed = [a.copy() for a in arrays]
                perturbed[i].reshape(-1)[k] = flat[k] + sign * spec.eps
                with core.no_grad():
                    vals.append(_scalar_loss(spec.ours(*to_core(perturbed, "contiguous")), cot).item())
            numeric.reshape(-1)[k] = (vals[0] - vals[1]) / (2 * spec.eps)
        np.testing.assert_allclose(analytic, numeric, atol=spec.grad_atol, rtol=spec.grad_rtol,
                                   err_msg=f"{spec.id}: gradient of input {i}")
