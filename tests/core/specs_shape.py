"""Op specs: cat/stack/split/chunk, flip/repeat/tile, tril/triu, gather/scatter, sort/topk, cumsum, var/std,
logsumexp."""
import numpy as np
from scipy import special

import core
from tests.core.harness import Spec


def distinct_index(n, idx_shape, dim):
    """An int64 index of idx_shape whose values along `dim` are distinct positions in [0, n) (no collisions,
    so scatter is well defined and its gradient is exact)."""
    def make(rng):
        moved = list(idx_shape)
        k = moved.pop(dim)
        rows = [rng.permutation(n)[:k] for _ in range(int(np.prod(moved)))]
        out = np.array(rows, dtype=np.int64).reshape(moved + [k])
        return np.moveaxis(out, -1, dim)
    return make


def any_index(n, idx_shape):
    return lambda rng: rng.integers(0, n, size=idx_shape)


def np_gather(x, dim, idx):
    corner = x[tuple(slice(0, s) if d != dim else slice(None) for d, s in enumerate(idx.shape))]
    return np.take_along_axis(corner, idx, axis=dim)


def np_scatter(x, dim, idx, src, add=False):
    out = x.copy()
    for pos in np.ndindex(*idx.shape):
        target = list(pos)
        target[dim] = idx[pos]
        value = src[pos] if isinstance(src, np.ndarray) else src
        out[tuple(target)] = out[tuple(target)] + value if add else value
    return out


def np_split(x, size, dim):
    n = x.shape[dim]
    return np.split(x, list(range(size, n, size)), axis=dim)


def np_sort(x, dim=-1, descending=False):
    idx = np.argsort(-x if descending else x, axis=dim, kind="stable")
    return np.take_along_axis(x, idx, axis=dim), idx


def np_topk(x, k, dim=-1, largest=True):
    idx = np.argsort(-x if largest else x, axis=dim, kind="stable")
    idx = np.take(idx, np.arange(k), axis=dim)
    return np.take_along_axis(x, idx, axis=dim), idx


def with_zeros(rows):
    return lambda rng: np.array(rows, dtype=np.float64)


def around(center):
    return lambda shape: (lambda rng: rng.uniform(center - 2, center + 2, size=shape))


SPECS = [
    # joining
    Spec("cat", lambda a, b: core.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1), [(3, 2), (3, 4)]),
    Spec("cat", lambda a, b, c: core.cat((a, b, c), -1), lambda a, b, c: np.concatenate([a, b, c], -1),
         [(2, 1, 3), (2, 1, 0), (2, 1, 2)], id="cat_with_empty_part"),
    Spec("cat", lambda a, b: core.cat([a, b]), lambda a, b: b, [(0,), (2, 3)], id="cat_skips_legacy_1d_empty"),
    Spec("cat", lambda a, b: core.cat([a, b.to(core.float32)]).to(core.float64), lambda a, b: np.concatenate([a, b]),
         [(2, 3), (1, 3)], id="cat_promotes_dtypes", grad=False, atol=1e-6),
    Spec("stack", lambda a, b: core.stack([a, b], 1), lambda a, b: np.stack([a, b], 1), [(3, 4), (3, 4)]),
    Spec("stack", lambda a, b: core.stack([a, b], -1), lambda a, b: np.stack([a, b], -1), [(), ()], id="stack_0d"),
    # splitting (views)
    Spec("split", lambda x: core.split(x, 2, 1), lambda x: np_split(x, 2, 1), [(3, 5)]),
    Spec("split", lambda x: x.split([1, 0, 3], dim=-1), lambda x: np.split(x, [1, 1], axis=-1), [(2, 4)],
         id="split_sizes"),
    Spec("chunk", lambda x: x.chunk(3, 0), lambda x: np_split(x, 3, 0), [(7, 2)]),
    Spec("chunk", lambda x: core.chunk(x, 3, 1), lambda x: [x[:, :0]] * 3, [(2, 0)], grad=False, id="chunk_empty"),
    # reordering and repeating (copies)
    Spec("flip", lambda x: x.flip(0, 2), lambda x: np.flip(x, (0, 2)), [(2, 3, 4)]),
    Spec("flip", lambda x: core.flip(x, [-1]), lambda x: np.flip(x, -1), [(3, 0)], id="flip_empty"),
    Spec("repeat", lambda x: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3)), [(2, 3)]),
    Spec("repeat", lambda x: x.repeat(3), lambda x: np.tile(x, 3), [()], id="repeat_0d"),
    Spec("tile", lambda x: x.tile(2), lambda x: np.tile(x, 2), [(2, 3)]),
    Spec("roll", lambda x: x.roll(2, 1), lambda x: np.roll(x, 2, 1), [(3, 5)]),
    Spec("roll", lambda x: core.roll(x, (1, -7), (0, -1)), lambda x: np.roll(x, (1, -7), (0, -1)), [(3, 4, 2)],
         id="roll_tuple"),
    Spec("roll", lambda x: x.roll(5), lambda x: np.roll(x, 5), [(3, 4)], id="roll_flattened"),
    Spec("roll", lambda x: x.roll(-3, 0), lambda x: np.roll(x, -3, 0), [(3, 2)], id="roll_whole_turn"),
    Spec("roll", lambda x: core.roll(x, 1), lambda x: x, [()], id="roll_0d"),
    Spec("roll", lambda x: x.roll(1, 1), lambda x: np.roll(x, 1, 1), [(0, 3)], id="roll_empty"),
    # moving dims (views)
    Spec("movedim", lambda x: x.movedim((0, 1), (-1, 0)), lambda x: np.moveaxis(x, (0, 1), (-1, 0)), [(2, 3, 4, 5)]),
    Spec("movedim", lambda x: core.moveaxis(x, -1, 1), lambda x: np.moveaxis(x, -1, 1), [(2, 3, 4)], id="moveaxis"),
    Spec("movedim", lambda x: x.movedim(0, -1), lambda x: x, [()], id="movedim_0d"),
    Spec("swapaxes", lambda x: core.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1), [(2, 3, 4)]),
    Spec("swapaxes", lambda x: x.swapdims(1, 0), lambda x: np.swapaxes(x, 1, 0), [(3, 2)], id="swapdims"),
    # triangles
    Spec("tril", lambda x: core.tril(x), np.tril, [(4, 3)]),
    Spec("tril", lambda x: x.tril(-1), lambda x: np.tril(x, -1), [(2, 3, 4)], id="tril_batched_below"),
    Spec("triu", lambda x: x.triu(1), lambda x: np.triu(x, 1), [(3, 5)]),
    Spec("triu", lambda x: x.triu(-7), lambda x: np.triu(x, -7), [(3, 5)], id="triu_keeps_all"),
    # gather / scatter
    Spec("gather", lambda x, i: core.gather(x, 1, i), lambda x, i: np_gather(x, 1, i),
         [(3, 4), any_index(4, (3, 6))]),
    Spec("gather", lambda x, i: x.gather(0, i), lambda x, i: np_gather(x, 0, i), [(3, 4), any_index(3, (2, 2))],
         id="gather_smaller_index"),
    Spec("scatter", lambda x, i, s: x.scatter(0, i, s), lambda x, i, s: np_scatter(x, 0, i, s),
         [(4, 3), distinct_index(4, (2, 3), 0), (2, 3)]),
    Spec("scatter", lambda x, i, s: core.scatter(x, 1, i, s), lambda x, i, s: np_scatter(x, 1, i, s[:, :2]),
         [(3, 5), distinct_index(5, (3, 2), 1), (3, 4)], id="scatter_src_larger"),
    Spec("scatter", lambda x, i: x.scatter(1, i, value=-3.0), lambda x, i: np_scatter(x, 1, i, -3.0),
         [(3, 5), distinct_index(5, (3, 2), 1)], id="scatter_value"),
    Spec("scatter_add", lambda x, i, s: x.scatter_add(1, i, s), lambda x, i, s: np_scatter(x, 1, i, s, add=True),
         [(3, 4), any_index(4, (3, 6)), (3, 6)]),
    # sorting
    Spec("sort", lambda x: core.sort(x), lambda x: np_sort(x), [(3, 5)]),
    Spec("sort", lambda x: x.sort(0, descending=True), lambda x: np_sort(x, 0, True), [(4, 3)],
         id="sort_descending"),
    Spec("sort", lambda x: x.sort(), lambda x: (x, np.array(0)), [()], id="sort_0d"),
    Spec("argsort", lambda x: x.argsort(1, descending=True), lambda x: np_sort(x, 1, True)[1], [(3, 5)],
         grad=False),
    Spec("topk", lambda x: x.topk(2), lambda x: np_topk(x, 2), [(3, 5)]),
    Spec("topk", lambda x: core.topk(x, 3, dim=0, largest=False), lambda x: np_topk(x, 3, 0, False), [(4, 2)],
         id="topk_smallest"),
    Spec("topk", lambda x: x.topk(0, 1), lambda x: np_topk(x, 0, 1), [(3, 4)], id="topk_zero", grad=False),
    # row-wise reductions
    Spec("cumsum", lambda x: x.cumsum(1), lambda x: np.cumsum(x, 1), [(3, 5)]),
    Spec("cumsum", lambda x: core.cumsum(x, -1), lambda x: np.cumsum(x, -1), [(2, 0)], id="cumsum_empty"),
    Spec("cumsum", lambda x: core.cumsum(x, 0), lambda x: np.cumsum(x, 0), [(lambda rng: rng.integers(-5, 5, 6))],
         id="cumsum_int_to_int64", grad=False),
    Spec("cumprod", lambda x: x.cumprod(1), lambda x: np.cumprod(x, 1), [(3, 5)]),
    Spec("cumprod", lambda x: core.cumprod(x, -1), lambda x: np.cumprod(x, -1),
         [with_zeros([[1.5, 0.0, 2.0, -1.0, 0.5], [0.0, 0.0, 3.0, 1.0, 2.0], [2.0, 1.0, -1.5, 0.5, 0.0]])],
         id="cumprod_with_zeros"),
    Spec("cumprod", lambda x: x.cumprod(0), lambda x: np.cumprod(x, 0),
         [with_zeros([[1.5, 0.0, 2.0], [0.0, -2.0, 3.0], [2.0, 0.5, 0.0], [-1.0, 1.5, 0.0]])],
         id="cumprod_with_zeros_dim0"),
    Spec("cumprod", lambda x: x.cumprod(0), lambda x: x, [()], id="cumprod_0d"),
    Spec("cumprod", lambda x: core.cumprod(x, 1), lambda x: np.cumprod(x, 1), [(2, 0)], id="cumprod_empty"),
    Spec("cumprod", lambda x: core.cumprod(x, 0), lambda x: np.cumprod(x, 0), [(lambda rng: rng.integers(-5, 5, 6))],
         id="cumprod_int_to_int64", grad=False),
    Spec("var_mean", lambda x: core.var_mean(x, 1, correction=0), lambda x: (x.var(1), x.mean(1)), [(3, 4)]),
    Spec("std_mean", lambda x: core.std_mean(x, (0, 2), keepdim=True),
         lambda x: (x.std((0, 2), ddof=1, keepdims=True), x.mean((0, 2), keepdims=True)), [(2, 3, 4)]),
    Spec("var", lambda x: x.var(), lambda x: x.var(ddof=1), [(3, 4)]),
    Spec("var", lambda x: x.var((0, 2), keepdim=True, correction=0), lambda x: x.var((0, 2), keepdims=True),
         [(2, 3, 4)], id="var_dims_keepdim_population"),
    Spec("var", lambda x: core.var(x, 1, False), lambda x: x.var(1), [(3, 4)], id="var_unbiased_false"),
    Spec("std", lambda x: x.std(-1), lambda x: x.std(-1, ddof=1), [(3, 4)]),
    Spec("std", lambda x: x.std(0, correction=2, keepdim=True), lambda x: x.std(0, ddof=2, keepdims=True), [(5, 2)],
         id="std_correction_2"),
    Spec("logsumexp", lambda x: x.logsumexp(1), lambda x: special.logsumexp(x, 1), [(3, 4)]),
    Spec("logsumexp", lambda x: core.logsumexp(x, (0, 2), keepdim=True),
         lambda x: special.logsumexp(x, (0, 2), keepdims=True), [(2, 3, 4)], id="logsumexp_dims_keepdim"),
    Spec("logsumexp", lambda x: x.logsumexp(-1), lambda x: special.logsumexp(x, -1), [around(1000.0)((3, 4))],
         id="logsumexp_large_values", grad=False),
    Spec("logsumexp", lambda x: x.logsumexp(1), lambda x: np.full(3, -np.inf), [(3, 0)], id="logsumexp_empty_row",
         grad=False),
]
