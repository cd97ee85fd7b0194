"""Optimizer: parameter groups, per-parameter state, zero_grad and state dicts shared by SGD, Adam and AdamW."""
from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, Iterator

import core
from core import _C
from core.nn.module import clear_grads

Tensor = _C.Tensor


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: holds `param_groups` (dicts with "params" and hyper-parameters) and `state` (per parameter).

    Subclasses implement `step()`. Parameters may be given as an iterable of tensors or of dicts, one per
    group, whose keys override the defaults:

    >>> opt = core.optim.SGD([{"params": net.body.parameters()},
    ...                       {"params": net.head.parameters(), "lr": 1e-2}], lr=1e-3, momentum=0.9)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of Tensors or dicts, got a single Tensor "
                            "(pass model.parameters() or [tensor])")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a group of parameters with its own hyper-parameters (e.g. a layer unfrozen mid-training)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__} can't optimize a non-leaf Tensor (shape {p.shape})")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears every parameter's .grad: to None (default, frees memory) or filled with zeros."""
        clear_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Performs one update of every parameter that has a gradient; returns closure() if given."""
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    @staticmethod
    def _gradients(group: dict[str, Any], l2: bool = True) -> Iterator[tuple[Tensor, Tensor]]:
        """(parameter, gradient) for each parameter of group that has a .grad: the gradient negated under maximize
        and, with l2, plus weight_decay * p (the L2 penalty folded in, as SGD, Adam and RMSprop do)."""
        for p in group["params"]:
            if p.grad is None:
                continue
            g = -p.grad if group["maximize"] else p.grad
            if l2 and group["weight_decay"] != 0:
                g = g + p * group["weight_decay"]
            yield p, g

    def _closure_loss(self, closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with core.enable_grad():
            return closure()

    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}, indices over all groups.

        The tensors in "state" are the optimizer's own (not copies); `load_state_dict` copies them in.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores hyper-parameters and per-parameter state saved by `state_dict` (same group layout)."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"the optimizer has {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict's group {i} has {len(saved['params'])} parameters, "
                                 f"the optimizer's has {len(group['params'])}")
        by_index = {idx: p for saved, group in zip(saved_groups, self.param_groups)
                    for idx, p in zip(saved["params"], group["params"])}
        self.state = {}
        for idx, s in state_dict["state"].items():
            p = by_index[int(idx)]
            self.state[p] = {k: _cast_state(v, p) for k, v in s.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = copy.deepcopy(v)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        return "\n".join(lines + [")"])


def _cast_state(value: Any, param: Tensor) -> Any:
    if isinstance(value, Tensor):
        dtype = param.dtype if value.dtype.is_floating_point else value.dtype
        return core.tensor(value, dtype=dtype)
    return copy.deepcopy(value)
