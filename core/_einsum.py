"""core.einsum: the equation is parsed here and computed with diagonal slices, sum, permute, reshape, mul and
matmul, so it is differentiable through their backwards and every contraction runs on the GEMM kernels."""
from __future__ import annotations

import string
from collections import Counter
from typing import Sequence, Union

from core import _C

Tensor = _C.Tensor

# A subscript: a letter, or the position of a dim covered by '...' (counted from the left of the widest ellipsis).
Label = Union[str, int]


def einsum(equation: str, *operands: Tensor | Sequence[Tensor]) -> Tensor:
    """Einstein summation, as torch.einsum: each operand's dims are named by letters (`'ij,jk->ik'`), a letter
    shared by operands multiplies them along it, and a letter missing from the output (after `->`) is summed.
    Without `->` the output is the letters that appear once, in ASCII order (upper case first). `...` stands for
    the dims the letters leave out, broadcast between operands like numpy's; a letter repeated in one operand
    takes the diagonal (`'ii->i'`, and `'ii'` is the trace); a dim of size 1 broadcasts against its letter's size
    elsewhere. Operands may also come as one list. Contractions go through matmul, left to right.

    >>> a, b = core.randn(2, 3, 4), core.randn(2, 4, 5)
    >>> core.einsum("bij,bjk->bik", a, b).shape
    (2, 3, 5)
    >>> core.einsum("ii", core.eye(3)).item()
    3.0
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string such as 'ij,jk->ik', got {type(equation).__name__}")
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum: operand {i} must be a Tensor, got {type(t).__name__}")
    if not operands:
        raise ValueError("einsum: at least one operand is needed")
    for i, t in enumerate(operands[1:], 1):
        if t.dtype != operands[0].dtype:
            raise TypeError(f"einsum: operands must have one dtype, got {operands[0].dtype!r} (operand 0) and "
                            f"{t.dtype!r} (operand {i}); convert them first, e.g. with .to(dtype)")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operand term(s) but "
                         f"{len(operands)} operand(s) were given")
    parsed = [_parse(term, f"operand {i}", equation) for i, term in enumerate(terms)]
    labelled = [_labels(p, t, i, equation) for i, (p, t) in enumerate(zip(parsed, operands))]
    width = max(_ellipsis_dims(labels) for labels in labelled)
    labelled = [_right_aligned(labels, width) for labels in labelled]
    _check_sizes(labelled, operands, equation)
    output = _output(parsed, rhs if arrow else None, width, equation)

    ops = [_diagonal(t, labels) for t, labels in zip(operands, labelled)]
    counts = Counter(label for _, labels in ops for label in labels)
    ops = [_sum_out(t, labels, [lb for lb in labels if counts[lb] == 1 and lb not in output]) for t, labels in ops]
    t, labels = ops[0]
    for k in range(1, len(ops)):
        later = set(output).union(*(ls for _, ls in ops[k + 1:]))
        t, labels = _contract(t, labels, *ops[k], later)
    t, labels = _sum_out(t, labels, [lb for lb in labels if lb not in output])
    return _C.permute(t, [labels.index(lb) for lb in output])


def _parse(term: str, who: str, equation: str) -> tuple[str, str | None]:
    """(letters before '...', letters after it or None without one) of one term, its characters checked."""
    for ch in term:
        if ch not in string.ascii_letters and ch != ".":
            raise ValueError(f"einsum: invalid subscript {ch!r} in {who} of {equation!r}; subscripts are the letters "
                             "a-z and A-Z, with ',' between operands, '->' before the output and '...' for other dims")
    if term.count("...") > 1:
        raise ValueError(f"einsum: {who} of {equation!r} has more than one ellipsis '...'")
    before, dots, after = term.partition("...")
    if "." in before or "." in after:
        raise ValueError(f"einsum: a '.' in {who} of {equation!r} is not part of an ellipsis '...'")
    return before, after if dots else None


def _labels(parsed: tuple[str, str | None], t: Tensor, i: int, equation: str) -> list[Label]:
    before, after = parsed
    named = len(before) + len(after or "")
    if after is None and named != t.ndim:
        raise ValueError(f"einsum: operand {i} has shape {tuple(t.shape)} ({t.ndim} dims) but its subscripts "
                         f"{before!r} in {equation!r} name {named}" +
                         ("; add '...' to cover the others" if named < t.ndim else ""))
    if after is not None and named > t.ndim:
        raise ValueError(f"einsum: operand {i} has shape {tuple(t.shape)} ({t.ndim} dims) but its subscripts "
                         f"{before + '...' + after!r} in {equation!r} name {named} besides the ellipsis")
    covered = t.ndim - named
    return list(before) + list(range(covered)) + list(after or "")


def _ellipsis_dims(labels: list[Label]) -> int:
    return sum(isinstance(label, int) for label in labels)


def _right_aligned(labels: list[Label], width: int) -> list[Label]:
    """The ellipsis dims of one operand (numbered from 0) renumbered against the widest ellipsis, aligned at the
    right as broadcasting aligns shapes."""
    shift = width - _ellipsis_dims(labels)
    return [label + shift if isinstance(label, int) else label for label in labels]


def _name(label: Label) -> str:
    return f"subscript {label!r}" if isinstance(label, str) else f"dimension {label} of '...'"


def _check_sizes(labelled: list[list[Label]], operands: Sequence[Tensor], equation: str) -> None:
    """Sizes of a letter repeated in one operand must be equal; across operands, equal or 1 (broadcast)."""
    seen: dict[Label, tuple[int, int]] = {}
    for i, (labels, t) in enumerate(zip(labelled, operands)):
        own: dict[Label, int] = {}
        for label, size in zip(labels, t.shape):
            if label in own and own[label] != size:
                raise ValueError(f"einsum: {_name(label)} is repeated in operand {i} of {equation!r} (shape "
                                 f"{tuple(t.shape)}) but its dims have sizes {own[label]} and {size}")
            own[label] = size
        for label, size in own.items():
            if label not in seen or seen[label][0] == 1:
                seen[label] = (size, i)
            elif size != 1 and size != seen[label][0]:
                other_size, j = seen[label]
                raise ValueError(f"einsum: {_name(label)} of {equation!r} has size {size} in operand {i} (shape "
                                 f"{tuple(t.shape)}) but {other_size} in operand {j} (shape "
                                 f"{tuple(operands[j].shape)}); sizes must match or be 1")


def _output(parsed: list[tuple[str, str | None]], rhs: str | None, width: int, equation: str) -> list[Label]:
    letters = Counter(ch for before, after in parsed for ch in before + (after or ""))
    if rhs is None:  # implicit: the broadcast dims, then each letter that appears once, sorted
        return list(range(width)) + sorted(ch for ch, n in letters.items() if n == 1)
    before, after = _parse(rhs, "the output", equation)
    for ch in before + (after or ""):
        if ch not in letters:
            raise ValueError(f"einsum: output subscript {ch!r} of {equation!r} appears in no operand")
    repeated = [ch for ch, n in Counter(before + (after or "")).items() if n > 1]
    if repeated:
        raise ValueError(f"einsum: output subscript {repeated[0]!r} appears more than once in {equation!r}")
    return list(before) + (list(range(width)) + list(after) if after is not None else [])


def _diagonal(t: Tensor, labels: list[Label]) -> tuple[Tensor, list[Label]]:
    """t with each label that repeats replaced by one dim, its diagonal: the two dims moved last, merged, and every
    (n + 1)-th element taken (a strided slice, differentiable)."""
    labels = list(labels)
    while len(set(labels)) != len(labels):
        label = next(lb for lb in labels if labels.count(lb) > 1)
        p = labels.index(label)
        q = labels.index(label, p + 1)
        rest = [d for d in range(len(labels)) if d not in (p, q)]
        n = t.shape[p]
        moved = _C.permute(t, rest + [p, q])
        flat = _C.reshape(moved, [t.shape[d] for d in rest] + [n * n])
        t = _C.slice(flat, -1, None, None, n + 1)
        labels = [labels[d] for d in rest] + [label]
    return t, labels


def _sum_out(t: Tensor, labels: list[Label], drop: list[Label]) -> tuple[Tensor, list[Label]]:
    if not drop:
        return t, labels
    return _C.sum(t, [labels.index(lb) for lb in drop], False, None), [lb for lb in labels if lb not in drop]


def _arranged(t: Tensor, labels: list[Label], order: list[Label], shape: list[int]) -> Tensor:
    """t's dims permuted into `order`, then reshaped to `shape` (a view when the layout allows)."""
    perm = [labels.index(lb) for lb in order]
    if perm != list(range(len(perm))):
        t = _C.permute(t, perm)
    return t if list(t.shape) == shape else _C.reshape(t, shape)


def _prod(sizes: list[int]) -> int:
    out = 1
    for s in sizes:
        out *= s
    return out


def _contract(a: Tensor, la: list[Label], b: Tensor, lb: list[Label], later: set) -> tuple[Tensor, list[Label]]:
    """a and b multiplied along their shared labels, those that `later` (the output and the operands still to
    come) does not need summed; returns the product's labels: shared kept ones, then a's own, then b's own."""
    # a summed label of size 1 on one side only: that side is constant along it, so the other side is summed alone
    lone = [lbl for lbl in la if lbl in lb and lbl not in later
            and a.shape[la.index(lbl)] != b.shape[lb.index(lbl)]]
    a, la = _sum_out(a, la, lone)
    b, lb = _sum_out(b, lb, lone)
    size = {**dict(zip(lb, b.shape)), **dict(zip(la, a.shape))}
    batch = [lbl for lbl in la if lbl in lb and lbl in later]
    summed = [lbl for lbl in la if lbl in lb and lbl not in later]
    left = [lbl for lbl in la if lbl not in lb]
    right = [lbl for lbl in lb if lbl not in la]
    sa = [a.shape[la.index(lbl)] for lbl in batch]
    sb = [b.shape[lb.index(lbl)] for lbl in batch]
    if not summed:  # an outer product broadcast over the batch: one multiplication
        x = _arranged(a, la, batch + left, sa + [size[lbl] for lbl in left] + [1] * len(right))
        y = _arranged(b, lb, batch + right, sb + [1] * len(left) + [size[lbl] for lbl in right])
        return _C.mul(x, y), batch + left + right
    k = [size[lbl] for lbl in summed]
    if not left and not right:  # batched dot products: a GEMM of 1 x 1 blocks would be slower than mul and sum
        x = _arranged(a, la, batch + summed, sa + k)
        y = _arranged(b, lb, batch + summed, sb + k)
        return _C.sum(_C.mul(x, y), list(range(-len(summed), 0)), False, None), batch
    m, n = [size[lbl] for lbl in left], [size[lbl] for lbl in right]
    x = _arranged(a, la, batch + left + summed, sa + [_prod(m), _prod(k)])
    y = _arranged(b, lb, batch + summed + right, sb + [_prod(k), _prod(n)])
    out = _C.matmul(x, y)
    return _C.reshape(out, list(out.shape[:-2]) + m + n), batch + left + right
