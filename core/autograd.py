"""Functional autograd with PyTorch's names: ``grad`` returns gradients without touching any ``.grad``, and
``backward`` is ``Tensor.backward`` over several outputs at once, optionally restricted to some inputs.

>>> import core
>>> x = core.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (g,) = core.autograd.grad((x ** 3).sum(), x)
>>> g.tolist(), x.grad
([3.0, 12.0, 27.0], None)

Both run the same engine as ``Tensor.backward`` (see docs/tensors.md): the graph is freed afterwards unless
``retain_graph`` (which defaults to ``create_graph``), and ``create_graph=True`` records the backward itself so
that the gradients it returns can be differentiated again (gradient penalties, Hessian-vector products).
"""
from __future__ import annotations

from typing import Any, Sequence, Union

from core import _C
from core import _tensor as T

Tensor = _C.Tensor

__all__ = ["grad", "backward"]

_Tensors = Union[Tensor, Sequence[Tensor]]


def _tensors(api: str, name: str, value: Any) -> list[Tensor]:
    """A Tensor or a sequence of Tensors as a list; anything else is a TypeError naming the argument."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{api}(): {name} must be a Tensor or a sequence of Tensors, got {type(value).__name__}")
    out = list(value)
    for i, t in enumerate(out):
        if not isinstance(t, Tensor):
            raise TypeError(f"{api}(): {name}[{i}] must be a Tensor, got {type(t).__name__}")
    return out


def _inputs(api: str, inputs: Any) -> tuple[list[Tensor], list | None]:
    """The input tensors, and the keys when they came as a dict (PyTorch returns a dict then)."""
    if type(inputs) is dict:
        return _tensors(api, "inputs", list(inputs.values())), list(inputs.keys())
    ts = _tensors(api, "inputs", inputs)
    if not ts:
        raise RuntimeError(f"`inputs` argument to `{api}()` cannot be empty.")
    return ts, None


def _seeds(api: str, name: str, outputs: list[Tensor], grads: Any) -> list[Tensor | None]:
    """One gradient per output (None: ones, which the engine makes for one-element outputs only)."""
    if grads is None:
        return [None] * len(outputs)
    seq = [grads] if isinstance(grads, Tensor) else grads
    if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence):
        raise TypeError(f"{api}(): {name} must be a Tensor, a sequence of Tensors or None, "
                        f"got {type(grads).__name__}")
    seq = list(seq)
    if len(seq) != len(outputs):
        raise RuntimeError(f"{api}(): got {len(seq)} tensors in {name} for {len(outputs)} outputs")
    for i, (g, out) in enumerate(zip(seq, outputs)):
        if g is None:
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
        if tuple(g.shape) != tuple(out.shape):
            raise RuntimeError(f"Mismatch in shape: {name}[{i}] has a shape of {tuple(g.shape)} and "
                               f"output[{i}] has a shape of {tuple(out.shape)}.")
    return seq


def _flag(api: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, int)) and value is not None:
        raise TypeError(f"{api}(): {name} must be a bool, got {type(value).__name__}")
    return bool(value)


def grad(outputs: _Tensors, inputs: _Tensors | dict, grad_outputs: _Tensors | Sequence[Tensor | None] | None = None,
         retain_graph: bool | None = None, create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple[Tensor | None, ...] | dict:
    """Gradients of the sum of ``outputs`` (each weighted by its ``grad_outputs`` entry) with respect to each of
    ``inputs``, as a tuple in their order; no tensor's ``.grad`` changes.

    ``inputs`` may be leaves or intermediate tensors of the graph (a dict of them gives a dict back). A
    one-element output may leave its ``grad_outputs`` entry None (ones). Only the part of the graph between the
    outputs and the inputs is run, and freed unless ``retain_graph`` (default: ``create_graph``). With
    ``create_graph=True`` the gradients are themselves differentiable. An input no gradient reaches is an error
    unless ``allow_unused`` (its gradient is then None, or zeros with ``materialize_grads``).

    >>> x = core.tensor(2.0, requires_grad=True)
    >>> (dy,) = core.autograd.grad(x ** 3, x, create_graph=True)
    >>> core.autograd.grad(dy, x)[0].item()  # d2/dx2 x^3 = 6x
    12.0
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    allow_unused = _flag("grad", "allow_unused", materialize_grads if allow_unused is None else allow_unused)
    create_graph = _flag("grad", "create_graph", create_graph)
    retain_graph = create_graph if retain_graph is None else _flag("grad", "retain_graph", retain_graph)
    outs = _tensors("grad", "outputs", outputs)
    ins, keys = _inputs("grad", inputs)
    seeds = _seeds("grad", "grad_outputs", outs, grad_outputs)
    got = _C._run_backward(outs, seeds, retain_graph, create_graph, ins, False, "grad")
    result = []
    for i, (g, x) in enumerate(zip(got, ins)):
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   f"Set allow_unused=True if this is the desired behavior. (inputs[{i}])")
            if materialize_grads:
                g = T.zeros(x.shape, dtype=x.dtype, requires_grad=create_graph)
        result.append(g)
    return dict(zip(keys, result)) if keys is not None else tuple(result)


def backward(tensors: _Tensors, grad_tensors: _Tensors | Sequence[Tensor | None] | None = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: _Tensors | dict | None = None) -> None:
    """Adds the gradients of the sum of ``tensors`` (each weighted by its ``grad_tensors`` entry) into the
    ``.grad`` of every leaf they depend on, as ``Tensor.backward`` does for one tensor.

    With ``inputs``, only those tensors' ``.grad`` change (intermediate tensors included; one no gradient
    reaches is left as it is). ``retain_graph`` defaults to ``create_graph``.

    >>> x = core.tensor([1.0, 2.0], requires_grad=True)
    >>> core.autograd.backward([x.sum(), (x * x).sum()])
    >>> x.grad.tolist()
    [3.0, 5.0]
    """
    create_graph = _flag("backward", "create_graph", create_graph)
    retain_graph = create_graph if retain_graph is None else _flag("backward", "retain_graph", retain_graph)
    outs = _tensors("backward", "tensors", tensors)
    ins = _inputs("backward", inputs)[0] if inputs is not None else None
    seeds = _seeds("backward", "grad_tensors", outs, grad_tensors)
    _C._run_backward(outs, seeds, retain_graph, create_graph, ins, True, "backward")
