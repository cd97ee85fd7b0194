"""RMSprop (Hinton's lecture 6e, in PyTorch's form: eps outside the square root, optional centring and momentum)."""
from __future__ import annotations

from typing import Any, Callable, Iterable

import core
from core import _C
from core.optim.optimizer import Optimizer

Tensor = _C.Tensor


class RMSprop(Optimizer):
    """For each parameter p with gradient g, at every step:

        g = g + weight_decay * p                         (if weight_decay)
        v = alpha * v + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g                  (centered: the running mean of g)
        d = sqrt(v - a * a) + eps  (centered)  or  sqrt(v) + eps
        b = momentum * b + g / d; p = p - lr * b         (if momentum)  or  p = p - lr * g / d

    >>> opt = core.optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.99)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 maximize: bool = False) -> None:
        for name, value in (("learning rate", lr), ("epsilon", eps), ("momentum", momentum),
                            ("weight_decay", weight_decay), ("alpha", alpha)):
            if value < 0.0:
                raise ValueError(f"RMSprop: invalid {name} {value}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One RMSprop update of every parameter that has a .grad; returns closure() if given."""
        loss = self._closure_loss(closure)
        with core.no_grad():
            for group in self.param_groups:
                lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
                for p, g in self._gradients(group):
                    state = self.state.setdefault(p, {})
                    if not state:
                        state["step"] = 0
                        state["square_avg"] = core.zeros_like(p)
                        if momentum > 0:
                            state["momentum_buffer"] = core.zeros_like(p)
                        if group["centered"]:
                            state["grad_avg"] = core.zeros_like(p)
                    state["step"] += 1
                    v = state["square_avg"]
                    v.mul_(alpha).add_(g * g * (1 - alpha))
                    if group["centered"]:
                        a = state["grad_avg"]
                        a.mul_(alpha).add_(g * (1 - alpha))
                        denom = (v - a * a).sqrt() + eps
                    else:
                        denom = v.sqrt() + eps
                    if momentum > 0:
                        buf = state["momentum_buffer"]
                        buf.mul_(momentum).add_(g / denom)
                        p.sub_(buf * lr)
                    else:
                        p.sub_(g / denom * lr)
        return loss
