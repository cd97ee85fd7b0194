"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay (PyTorch's rule)."""
from __future__ import annotations

from typing import Any, Callable, Iterable

import core
from core import _C
from core.optim.optimizer import Optimizer, required

Tensor = _C.Tensor


class SGD(Optimizer):
    """For each parameter p with gradient g, at every step:

        g = g + weight_decay * p                       (if weight_decay)
        b = g (first step)  or  momentum * b + (1 - dampening) * g      (if momentum)
        g = g + momentum * b (nesterov)  or  b
        p = p - lr * g                                  (p + lr * g with maximize)

    >>> opt = core.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = required, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 maximize: bool = False) -> None:
        if lr is not required and lr < 0.0:
            raise ValueError(f"SGD: invalid learning rate {lr}")
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"SGD: invalid weight_decay {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One SGD update of every parameter that has a .grad; returns closure() if given."""
        loss = self._closure_loss(closure)
        with core.no_grad():
            for group in self.param_groups:
                lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
                for p, g in self._gradients(group):
                    if momentum != 0:
                        state = self.state.setdefault(p, {})
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = core.clone(g)
                            state["momentum_buffer"] = buf
                        else:
                            buf.mul_(momentum).add_(g * (1 - dampening))
                        g = g + buf * momentum if group["nesterov"] else buf
                    p.sub_(g * lr)
        return loss
