"""Adam and AdamW (decoupled weight decay), with PyTorch's update rules including bias correction and amsgrad."""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import core
from core import _C
from core.optim.optimizer import Optimizer

Tensor = _C.Tensor


class Adam(Optimizer):
    """Adam (Kingma & Ba). For each parameter p with gradient g, at step t = 1, 2, ...:

        g = g + weight_decay * p                  (L2 penalty folded into the gradient; AdamW decouples it)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                     (amsgrad; v_max is used in place of v below)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    >>> opt = core.optim.Adam(model.parameters(), lr=1e-3)
    """

    _decoupled = False

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, maximize: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {lr}")
        if eps < 0.0:
            raise ValueError(f"{type(self).__name__}: invalid epsilon {eps}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{type(self).__name__}: invalid beta parameter at index {i}: {b}")
        if weight_decay < 0.0:
            raise ValueError(f"{type(self).__name__}: invalid weight_decay {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adam update of every parameter that has a .grad; returns closure() if given."""
        loss = self._closure_loss(closure)
        with core.no_grad():
            for group in self.param_groups:
                lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
                beta1, beta2 = group["betas"]
                for p, g in self._gradients(group, l2=not self._decoupled):
                    state = self.state.setdefault(p, {})
                    if not state:
                        state["step"] = 0
                        state["exp_avg"] = core.zeros_like(p)
                        state["exp_avg_sq"] = core.zeros_like(p)
                        if group["amsgrad"]:
                            state["max_exp_avg_sq"] = core.zeros_like(p)
                    state["step"] += 1
                    t = state["step"]
                    if wd != 0 and self._decoupled:
                        p.mul_(1 - lr * wd)
                    m, v = state["exp_avg"], state["exp_avg_sq"]
                    m.mul_(beta1).add_(g * (1 - beta1))
                    v.mul_(beta2).add_(g * g * (1 - beta2))
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"].copy_(core.maximum(state["max_exp_avg_sq"], v))
                        v = state["max_exp_avg_sq"]
                    step_size = lr / (1 - beta1 ** t)
                    denom = v.sqrt() / math.sqrt(1 - beta2 ** t) + eps
                    p.sub_(m / denom * step_size)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): before the Adam update, p = p * (1 - lr * wd).

    The default weight_decay is 0.01, as in PyTorch.

    >>> opt = core.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    """

    _decoupled = True

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)
