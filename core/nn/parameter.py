"""Parameter: a tensor that a Module registers as learnable (requires_grad by default)."""
from __future__ import annotations

import core
from core import _C


class Parameter(_C.Tensor):
    """A Tensor that, assigned as a Module attribute, is listed by `parameters()` and saved by `state_dict()`.

    It shares storage and autograd identity with `data` (no copy) and requires grad unless told otherwise.

    >>> w = core.nn.Parameter(core.zeros(3, 4))
    >>> w.requires_grad
    True
    """

    def __init__(self, data: _C.Tensor | None = None, requires_grad: bool = True) -> None:
        if data is None:
            data = core.empty(0)
        if not isinstance(data, _C.Tensor):
            raise TypeError(f"Parameter: data must be a Tensor, got {type(data).__name__}")
        if requires_grad and not data.dtype.is_floating_point:
            raise TypeError(f"Parameter: only floating point tensors can require gradients, got {data.dtype!r}; "
                            "pass requires_grad=False")
        super().__init__(_C.detach(data))
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + _C.Tensor.__repr__(self)

    __str__ = __repr__
