"""t[key] and t[key] = value with numpy/PyTorch semantics.

Basic indexing (ints, slices with steps, None, Ellipsis) gives views. Integer tensors, lists and bool masks
("advanced" indices) give copies: they are broadcast together, turned into one linear index over the
indexed dims and gathered with index_select, whose backward scatters the gradient back.
"""
from __future__ import annotations

import math

from typing import Any

import numpy as np

from core import _C
from core._inplace import check_writable, needs_graph, write_recorded

Tensor = _C.Tensor


def _is_int(k: Any) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _as_index_tensor(k: Any) -> Tensor:
    if isinstance(k, Tensor):
        if k.dtype not in (_C.dtype.int64, _C.dtype.int32, _C.dtype.bool):
            raise IndexError(f"tensors used as indices must be integer or bool, got {k.dtype!r}")
        return k
    arr = np.asarray(k)
    if arr.size == 0 and arr.dtype.kind == "f":  # [] is an empty list of indices, not of floats
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "biu":
        raise IndexError(f"tensors used as indices must be integer or bool, got {arr.dtype}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise IndexError(f"index {arr.max()} is out of bounds")
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    return _C.from_numpy(np.ascontiguousarray(arr))


def _normalise(t: Tensor, key: Any) -> list[Any]:
    if not isinstance(key, tuple):
        key = (key,)
    items: list[Any] = []
    for k in key:
        if isinstance(k, Tensor) and k.ndim == 0 and k.dtype == _C.dtype.bool:
            k = bool(k.item())  # a 0-d mask adds a dim of size 1 or 0, like True and False
        if isinstance(k, (list, np.ndarray)) or (isinstance(k, Tensor) and k.ndim > 0) or \
                (isinstance(k, Tensor) and k.dtype == _C.dtype.bool):
            items.append(_as_index_tensor(k))
        elif isinstance(k, Tensor):
            if k.dtype not in (_C.dtype.int64, _C.dtype.int32):
                raise IndexError(f"only integer tensors can index, got {k.dtype!r}")
            items.append(int(k.item()))
        elif k is None or k is Ellipsis or isinstance(k, slice) or _is_int(k) or isinstance(k, (bool, np.bool_)):
            items.append(k)
        else:
            raise IndexError(f"index {k!r} of type {type(k).__name__} is not supported: use ints, slices, None, "
                             "..., integer tensors or bool masks")
    consumed = sum(k.ndim if isinstance(k, Tensor) and k.dtype == _C.dtype.bool else
                   0 if (k is None or k is Ellipsis or isinstance(k, (bool, np.bool_))) else 1 for k in items)
    if sum(k is Ellipsis for k in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > t.ndim:
        raise IndexError(f"too many indices for tensor of dimension {t.ndim}")
    if Ellipsis in [k for k in items if not isinstance(k, Tensor)]:
        pos = next(i for i, k in enumerate(items) if k is Ellipsis)
        items[pos:pos + 1] = [slice(None)] * (t.ndim - consumed)
    return items


def _basic(t: Tensor, items: list[Any]) -> tuple[Tensor, list[tuple[int, Tensor]]]:
    """Applies basic indices as views; returns the view and the advanced indices with their dim in it."""
    out, dim, adv = t, 0, []
    for k in items:
        if k is None:
            out = _C.unsqueeze(out, dim)
            dim += 1
        elif isinstance(k, (bool, np.bool_)):
            out = _C.unsqueeze(out, dim)
            if not k:
                out = _C.narrow(out, dim, 0, 0)
            dim += 1
        elif _is_int(k):
            out = _C.select(out, dim, int(k))
        elif isinstance(k, slice):
            step = 1 if k.step is None else int(k.step)
            if step <= 0:
                raise ValueError("slice step must be positive (negative steps are not supported, as in PyTorch)")
            out = _C.slice(out, dim, None if k.start is None else int(k.start),
                           None if k.stop is None else int(k.stop), step)
            dim += 1
        elif k.dtype == _C.dtype.bool:
            if tuple(k.shape) != tuple(out.shape[dim:dim + k.ndim]):
                raise IndexError(f"the shape of the mask {tuple(k.shape)} does not match the shape of the indexed "
                                 f"tensor {tuple(out.shape[dim:dim + k.ndim])} at dimension {dim}")
            coords = _C.nonzero(k)
            for j in range(k.ndim):
                adv.append((dim + j, _C.select(coords, 1, j)))
            dim += k.ndim
        else:
            adv.append((dim, k))
            dim += 1
    return out, adv


def _linear_index(view: Tensor, adv: list[tuple[int, Tensor]]) -> tuple[Tensor, list[int], tuple[int, ...]]:
    """Permutes the advanced dims to the front and returns (permuted view, linear index, index shape)."""
    dims = [d for d, _ in adv]
    shape = tuple(np.broadcast_shapes(*[tuple(i.shape) for _, i in adv]))
    lin = None
    for d, idx in adv:
        size = view.shape[d]
        idx = _C.expand(_C.to_dtype(idx, _C.dtype.int64), list(shape))
        bad = _C.logical_or(_C.lt(idx, -size), _C.ge(idx, size))
        if _C.any(bad, [], False).item():
            raise IndexError(f"index {_first_bad(idx, bad)} is out of bounds for dimension {d} with size {size}")
        idx = _C.where(_C.lt(idx, 0), _C.add(idx, size), idx)
        lin = idx if lin is None else _C.add(_C.mul(lin, size), idx)
    rest = [d for d in range(view.ndim) if d not in dims]
    permuted = _C.permute(view, dims + rest)
    return permuted, lin, shape


def _first_bad(idx: Tensor, bad: Tensor) -> int:
    flat_bad = _C.detach(bad).numpy().reshape(-1)
    return int(_C.detach(idx).numpy().reshape(-1)[int(np.argmax(flat_bad))])


def _numel(shape: Any) -> int:
    """The element count of shape: reshapes name it, as -1 is ambiguous when another dim is 0."""
    return math.prod(shape)


def _drop_leading_ones(value: Any, ndim: int) -> Any:
    """value without the leading size-1 dims it has beyond ndim: as in PyTorch, t[0] = v[None] writes v."""
    if not isinstance(value, Tensor) or value.ndim <= ndim:
        return value
    extra = value.ndim - ndim
    if any(d != 1 for d in value.shape[:extra]):
        return value  # the expand that follows names the shapes
    return _C.reshape(value, list(value.shape[extra:]))


def _result_position(adv: list[tuple[int, Tensor]]) -> int:
    dims = [d for d, _ in adv]
    adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
    return dims[0] if adjacent else 0


def getitem(t: Tensor, key: Any) -> Tensor:
    view, adv = _basic(t, _normalise(t, key))
    if not adv:
        return view
    permuted, lin, shape = _linear_index(view, adv)
    n_adv = len(adv)
    flat = _C.reshape(permuted, [_numel(permuted.shape[:n_adv])] + list(permuted.shape[n_adv:]))
    gathered = _C.index_select(flat, 0, _C.reshape(lin, [-1]))
    out = _C.reshape(gathered, list(shape) + list(permuted.shape[n_adv:]))
    pos = _result_position(adv)
    if pos:
        k = len(shape)
        order = list(range(k, k + pos)) + list(range(k)) + list(range(k + pos, out.ndim))
        out = _C.permute(out, order)
    return out


def setitem(t: Tensor, key: Any, value: Any) -> None:
    if needs_graph(t, value):
        _setitem_recorded(t, key, value)
        return
    view, adv = _basic(t, _normalise(t, key))
    if not adv:
        _C.copy_(view, _drop_leading_ones(value, view.ndim))
        return
    permuted, lin, shape = _linear_index(view, adv)
    n_adv = len(adv)
    rest = list(permuted.shape[n_adv:])
    flat_lin = _C.reshape(lin, [-1])
    if isinstance(value, Tensor):
        src = value
    else:
        src = _C._to_operand(value)
        _C._check_number_fits(src, t.dtype)
    # value broadcasts against t[key]'s shape, where the indexed dims sit at `pos` as getitem puts them, and is
    # then laid out as the flattened view has them (indexed dims first)
    pos, k = _result_position(adv), len(shape)
    result_shape = rest[:pos] + list(shape) + rest[pos:]
    src = _C.expand(_C.to_dtype(_drop_leading_ones(src, len(result_shape)), t.dtype), result_shape)
    if pos:
        src = _C.permute(src, list(range(pos, pos + k)) + list(range(pos)) + list(range(pos + k, len(result_shape))))
    src = _C.reshape(_C.contiguous(src), [_numel(shape)] + rest)
    flat_view = _C.reshape(permuted, [_numel(permuted.shape[:n_adv])] + rest)
    if not flat_view._shares_storage(t):  # indexed dims that no view flattens (t[[0, 1], :, [1, 0]] = v)
        _C.copy_(t, _scattered(t, key, value))
        return
    _C.index_copy_(flat_view, 0, flat_lin, src)


def _setitem_recorded(t: Tensor, key: Any, value: Any) -> None:
    """t[key] = value recorded by autograd."""
    check_writable(t)
    write_recorded(t, _scattered(t, key, value))


def _scattered(t: Tensor, key: Any, value: Any) -> Tensor:
    """A copy of t with value scattered into t's flat positions that `key` selects (found by indexing an arange of
    t's shape with the same key, so every kind of index means what it means in getitem)."""
    positions = getitem(_C.reshape(_C.arange_int(0, t.numel(), 1, _C.dtype.int64), list(t.shape)), key)
    if isinstance(value, Tensor):
        src = value
    else:
        src = _C._to_operand(value)
        _C._check_number_fits(src, t.dtype)
    src = _C.reshape(_C.expand(_C.to_dtype(_drop_leading_ones(src, positions.ndim), t.dtype),
                               list(positions.shape)), [-1])
    flat = _C.scatter(_C.reshape(t, [-1]), 0, _C.reshape(positions, [-1]), src)
    return _C.reshape(flat, list(t.shape))
