"""Op specs: creation, casts, views, elementwise, reductions, matmul, indexing."""
import numpy as np
from scipy import special

import core
from tests.core.harness import Spec


def positive(shape):
    return lambda rng: rng.uniform(0.5, 2.0, size=shape)


def ints(shape, lo=0, hi=5):
    return lambda rng: rng.integers(lo, hi, size=shape)


def away_from(shape, points, margin=0.1):
    """Uniform values that stay `margin` away from kinks (relu at 0, clamp bounds) for finite differences."""
    def make(rng):
        x = rng.uniform(-2, 2, size=shape)
        for p in points:
            near = np.abs(x - p) < margin
            x[near] = p + np.sign(x[near] - p + 1e-12) * margin * 2
        return x
    return make


def nonzero_divisor(shape):
    """Divisors in [-2, -0.5] or [0.5, 2]: away from zero, where remainder and fmod blow up."""
    return lambda rng: rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def np_norm(x, p=2.0, axis=None, keepdims=False):
    a = np.abs(x)
    if p == np.inf:
        return a.max(axis, keepdims=keepdims)
    if p == -np.inf:
        return a.min(axis, keepdims=keepdims)
    if p == 0:
        return (a != 0).sum(axis, keepdims=keepdims).astype(np.float64)
    return (a ** p).sum(axis, keepdims=keepdims) ** (1 / p)


def np_normalize(x, p=2.0, dim=1, eps=1e-12):
    return x / np.maximum(np_norm(x, p, dim, keepdims=True), eps)


def away_from_zero(shape, margin=0.2):
    """Values in [-2, -margin] or [margin, 2]: |x|^(p-1) is smooth there for every p."""
    return lambda rng: rng.uniform(margin, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def np_gelu(x):
    return 0.5 * x * (1 + special.erf(x / np.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


SPECS = [
    # creation (forward only: no inputs to differentiate)
    Spec("zeros", lambda: core.zeros(2, 3, dtype=core.float64), lambda: np.zeros((2, 3)), [], grad=False),
    Spec("ones", lambda: core.ones((2, 3), dtype=core.float64), lambda: np.ones((2, 3)), [], grad=False),
    Spec("full", lambda: core.full((2, 3), 7.5, dtype=core.float64), lambda: np.full((2, 3), 7.5), [], grad=False),
    Spec("empty", lambda: core.empty(2, 0).shape, lambda: (2, 0), [], grad=False),
    Spec("empty_like", lambda x: core.empty_like(x).shape, lambda x: x.shape, [(2, 3)], grad=False),
    Spec("zeros_like", core.zeros_like, np.zeros_like, [(2, 3)], grad=False),
    Spec("ones_like", core.ones_like, np.ones_like, [(2, 3)], grad=False),
    Spec("full_like", lambda x: core.full_like(x, 2.0), lambda x: np.full_like(x, 2.0), [(2, 3)], grad=False),
    Spec("arange", lambda: core.arange(1, 10, 3), lambda: np.arange(1, 10, 3), [], grad=False),
    Spec("linspace", lambda: core.linspace(0, 1, 7, dtype=core.float64), lambda: np.linspace(0, 1, 7), [],
         grad=False),
    Spec("eye", lambda: core.eye(3, 4), lambda: np.eye(3, 4), [], grad=False),
    Spec("tensor", lambda x: core.tensor(x), lambda x: x, [(3, 2)], grad=False),
    Spec("from_numpy", lambda: core.from_numpy(np.arange(6.0).reshape(2, 3)), lambda: np.arange(6.0).reshape(2, 3),
         [], grad=False),
    # random: moments and ranges, checked as statistics
    Spec("rand", lambda: (core.manual_seed(1), core.rand(20000, dtype=core.float64).mean())[1], lambda: 0.5, [],
         grad=False, atol=0.01),
    Spec("randn", lambda: (core.manual_seed(1), core.randn(20000, dtype=core.float64).mean())[1], lambda: 0.0, [],
         grad=False, atol=0.03),
    Spec("randint", lambda: (core.manual_seed(1), core.randint(3, 7, (1000,)).float().mean())[1], lambda: 4.5, [],
         grad=False, atol=0.1),
    Spec("rand_like", lambda x: (core.manual_seed(2), core.rand_like(x).shape)[1], lambda x: x.shape, [(3, 2)],
         grad=False),
    Spec("randn_like", lambda x: (core.manual_seed(2), core.randn_like(x).shape)[1], lambda x: x.shape, [(3, 2)],
         grad=False),
    Spec("randint_like", lambda x: core.randint_like(x, 0, 3).shape, lambda x: x.shape, [(3, 2)], grad=False),
    # casts and copies
    Spec("to", lambda x: x.to(core.float32).to(core.float64), lambda x: x.astype(np.float32).astype(np.float64),
         [(3, 4)], eps=1e-2, grad_atol=1e-4, grad_rtol=1e-4),
    Spec("contiguous", lambda x: x.contiguous(), lambda x: x, [(3, 4)]),
    Spec("clone", lambda x: x.clone(), lambda x: x, [(3, 4)]),
    Spec("detach", lambda x: x.detach(), lambda x: x, [(3, 4)], grad=False),
    # views
    Spec("view", lambda x: x.contiguous().view(4, 3), lambda x: x.reshape(4, 3), [(3, 4)]),
    Spec("reshape", lambda x: x.reshape(2, -1), lambda x: x.reshape(2, -1), [(3, 4)]),
    Spec("reshape", lambda x: x.reshape(()), lambda x: x.reshape(()), [(1, 1)], id="reshape_to_0d"),
    Spec("permute", lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), [(2, 3, 4)]),
    Spec("transpose", lambda x: x.transpose(0, 2), lambda x: np.swapaxes(x, 0, 2), [(2, 3, 4)]),
    Spec("t", lambda x: x.t(), lambda x: x.T, [(2, 3)]),
    Spec("expand", lambda x: x.expand(2, 3, 4), lambda x: np.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
    Spec("unsqueeze", lambda x: x.unsqueeze(1), lambda x: x[:, None], [(3, 4)]),
    Spec("squeeze", lambda x: x.squeeze(), lambda x: x.squeeze(), [(3, 1, 4)]),
    Spec("squeeze", lambda x: x.squeeze(1), lambda x: x.squeeze(1), [(3, 1, 4)], id="squeeze_dim"),
    Spec("narrow", lambda x: x.narrow(1, 1, 2), lambda x: x[:, 1:3], [(3, 4)]),
    Spec("select", lambda x: x.select(1, -1), lambda x: x[:, -1], [(3, 4)]),
    Spec("slice", lambda x: x[1:, ::2], lambda x: x[1:, ::2], [(3, 5)]),
    Spec("flatten", lambda x: x.flatten(1), lambda x: x.reshape(2, -1), [(2, 3, 4)]),
    # indexing
    Spec("getitem", lambda x: x[1, :, None, ..., 0], lambda x: x[1, :, None, ..., 0], [(3, 4, 5)], id="getitem_basic"),
    Spec("getitem", lambda x: x[[2, 0, 2]], lambda x: x[[2, 0, 2]], [(3, 4)], id="getitem_int_list"),
    Spec("getitem", lambda x: x[:, [0, 2], [1, 3]], lambda x: x[:, [0, 2], [1, 3]], [(2, 3, 4)], id="getitem_adv"),
    Spec("getitem", lambda x: x[[0, 1], :, [1, 3]], lambda x: x[[0, 1], :, [1, 3]], [(2, 3, 4)],
         id="getitem_adv_split"),
    Spec("getitem", lambda x: x[x > 0], lambda x: x[x > 0], [(3, 4)], id="getitem_mask"),
    Spec("index_select", lambda x: core._C.index_select(x, 1, core.tensor([3, 0, 3])), lambda x: x[:, [3, 0, 3]],
         [(3, 4)]),
    Spec("nonzero", lambda x: core._C.nonzero(x > 0), lambda x: np.argwhere(x > 0), [(3, 4)], grad=False),
    Spec("setitem", lambda x: _setitem(x), lambda x: _np_setitem(x), [(3, 4)], grad=False),
    # unary
    Spec("neg", core.neg, np.negative, [(3, 4)]),
    Spec("abs", core.abs, np.abs, [away_from((3, 4), [0])]),
    Spec("sign", core.sign, np.sign, [away_from((3, 4), [0])]),
    Spec("exp", core.exp, np.exp, [(3, 4)]),
    Spec("log", core.log, np.log, [positive((3, 4))]),
    Spec("log1p", core.log1p, np.log1p, [positive((3, 4))]),
    Spec("sqrt", core.sqrt, np.sqrt, [positive((3, 4))]),
    Spec("rsqrt", core.rsqrt, lambda x: 1 / np.sqrt(x), [positive((3, 4))]),
    Spec("sin", core.sin, np.sin, [(3, 4)]),
    Spec("cos", core.cos, np.cos, [(3, 4)]),
    Spec("tanh", core.tanh, np.tanh, [(3, 4)]),
    Spec("sigmoid", core.sigmoid, lambda x: 1 / (1 + np.exp(-x)), [(3, 4)]),
    Spec("relu", core.relu, lambda x: np.maximum(x, 0), [away_from((3, 4), [0])]),
    Spec("gelu", core.gelu, np_gelu, [(3, 4)]),
    Spec("gelu", lambda x: core.gelu(x, approximate="tanh"), np_gelu_tanh, [(3, 4)], id="gelu_tanh"),
    Spec("silu", core.silu, lambda x: x / (1 + np.exp(-x)), [(3, 4)]),
    Spec("erf", core.erf, special.erf, [(3, 4)]),
    Spec("clamp", lambda x: core.clamp(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
         [away_from((3, 4), [-0.5, 0.7])]),
    Spec("pow_scalar", lambda x: x ** 3, lambda x: x ** 3, [(3, 4)]),
    Spec("pow_scalar", lambda x: x ** 0.5, lambda x: x ** 0.5, [positive((3, 4))], id="pow_scalar_sqrt"),
    Spec("floor", core.floor, np.floor, [away_from((3, 4), [-2, -1, 0, 1, 2])]),
    Spec("ceil", core.ceil, np.ceil, [away_from((3, 4), [-2, -1, 0, 1, 2])]),
    Spec("trunc", core.trunc, np.trunc, [away_from((3, 4), [-2, -1, 0, 1, 2])]),
    Spec("round", core.round, np.round, [away_from((3, 4), [-1.5, -0.5, 0.5, 1.5])]),
    Spec("round", lambda x: core.round(x, decimals=2), lambda x: np.round(x, 2), [(3, 4)], id="round_decimals"),
    Spec("logical_not", lambda x: ~(x > 0), lambda x: ~(x > 0), [(3, 4)], grad=False),
    # binary with broadcasting
    Spec("add", core.add, np.add, [(3, 4), (4,)]),
    Spec("add", lambda a: a + 2, lambda a: a + 2, [(3, 4)], id="add_scalar"),
    Spec("add", lambda a, b: a + b, lambda a, b: a + b, [(0, 4), (1, 4)], id="add_empty"),
    Spec("add", lambda a, b: a + b, lambda a, b: a + b, [(), (2, 3)], id="add_0d"),
    Spec("sub", core.sub, np.subtract, [(3, 1), (1, 4)]),
    Spec("sub", lambda a: 1 - a, lambda a: 1 - a, [(3, 4)], id="rsub_scalar"),
    Spec("mul", core.mul, np.multiply, [(2, 3, 4), (3, 1)]),
    Spec("div", core.div, np.divide, [(3, 4), positive((3, 4))]),
    Spec("div", lambda a: 2 / a, lambda a: 2 / a, [positive((3, 4))], id="rdiv_scalar"),
    Spec("pow", core.pow, np.power, [positive((3, 4)), (3, 4)]),
    Spec("remainder", core.remainder, np.remainder, [(3, 4), nonzero_divisor((4,))]),
    Spec("remainder", lambda a: a % 0.7, lambda a: a % 0.7, [(3, 4)], id="mod_scalar"),
    Spec("remainder", lambda b: 3 % b, lambda b: 3 % b, [nonzero_divisor((3, 4))], id="rmod_scalar"),
    Spec("fmod", core.fmod, np.fmod, [(3, 4), nonzero_divisor((3, 1))]),
    Spec("floor_divide", core.floor_divide, np.floor_divide, [(3, 4), nonzero_divisor((4,))], grad=False),
    Spec("floor_divide", lambda a: a // 0.7, lambda a: a // 0.7, [(3, 4)], grad=False, id="floordiv_scalar"),
    Spec("floor_divide", lambda b: 3 // b, lambda b: 3 // b, [nonzero_divisor((3, 4))], grad=False,
         id="rfloordiv_scalar"),
    Spec("maximum", core.maximum, np.maximum, [(3, 4), (4,)]),
    Spec("minimum", core.minimum, np.minimum, [(3, 4), (3, 1)]),
    Spec("eq", lambda a, b: a == b, lambda a, b: a == b, [ints((3, 4)), ints((4,))], grad=False),
    Spec("ne", lambda a, b: a != b, lambda a, b: a != b, [ints((3, 4)), ints((4,))], grad=False),
    Spec("lt", lambda a, b: a < b, lambda a, b: a < b, [(3, 4), (4,)], grad=False),
    Spec("le", lambda a, b: a <= b, lambda a, b: a <= b, [ints((3, 4)), ints((3, 4))], grad=False),
    Spec("gt", lambda a, b: a > b, lambda a, b: a > b, [(3, 4), (4,)], grad=False),
    Spec("ge", lambda a, b: a >= b, lambda a, b: a >= b, [ints((3, 4)), ints((3, 4))], grad=False),
    Spec("logical_and", lambda a, b: (a > 0) & (b > 0), lambda a, b: (a > 0) & (b > 0), [(3, 4), (3, 4)], grad=False),
    Spec("logical_or", lambda a, b: (a > 0) | (b > 0), lambda a, b: (a > 0) | (b > 0), [(3, 4), (3, 4)], grad=False),
    Spec("where", lambda c, a, b: core.where(c > 0, a, b), lambda c, a, b: np.where(c > 0, a, b),
         [(3, 4), (3, 4), (4,)], grad_inputs=[1, 2]),
    Spec("masked_fill", lambda a, m: a.masked_fill(m > 0, -1.0), lambda a, m: np.where(m > 0, -1.0, a),
         [(3, 4), (4,)], grad_inputs=[0]),
    # reductions
    Spec("sum", lambda x: x.sum(), np.sum, [(3, 4)]),
    Spec("sum", lambda x: x.sum(dim=(0, 2), keepdim=True), lambda x: x.sum(axis=(0, 2), keepdims=True),
         [(2, 3, 4)], id="sum_dims_keepdim"),
    Spec("sum", lambda x: x.sum(1), lambda x: x.sum(1), [(0, 3)], id="sum_empty"),
    Spec("mean", lambda x: x.mean(-1), lambda x: x.mean(-1), [(3, 4)]),
    Spec("amax", lambda x: x.amax(0), lambda x: x.max(0), [(3, 4)]),
    Spec("amin", lambda x: x.amin((0, 1)), lambda x: x.min((0, 1)), [(3, 4, 2)]),
    Spec("max", lambda x: x.max(1), lambda x: (x.max(1), x.argmax(1)), [(3, 4)]),
    Spec("max", lambda x: x.max(), lambda x: x.max(), [(3, 4)], id="max_all"),
    Spec("min", lambda x: x.min(0, keepdim=True), lambda x: (x.min(0, keepdims=True), x.argmin(0)[None]),
         [(3, 4)]),
    Spec("argmax", lambda x: x.argmax(1), lambda x: x.argmax(1), [(3, 4)], grad=False),
    Spec("argmax", lambda x: x.argmax(), lambda x: x.argmax(), [(3, 4)], grad=False, id="argmax_flat"),
    Spec("argmin", lambda x: x.argmin(0), lambda x: x.argmin(0), [(3, 4)], grad=False),
    Spec("prod", lambda x: x.prod(1), lambda x: x.prod(1), [(3, 4)]),
    Spec("prod", lambda x: x.prod(), lambda x: x.prod(), [lambda rng: np.array([[1.5, 0.0], [2.0, -1.0]])],
         id="prod_with_zero"),
    Spec("any", lambda x: (x > 1).any(1), lambda x: (x > 1).any(1), [(3, 4)], grad=False),
    Spec("all", lambda x: (x > -1).all(), lambda x: (x > -1).all(), [(3, 4)], grad=False),
    # norms
    Spec("vector_norm", lambda x: core.linalg.vector_norm(x), lambda x: np_norm(x), [(3, 4)]),
    Spec("vector_norm", lambda x: x.norm(dim=(0, 2), keepdim=True), lambda x: np_norm(x, 2, (0, 2), True),
         [(2, 3, 4)], id="norm_dims_keepdim"),
    Spec("vector_norm", lambda x: core.norm(x, 1, 1), lambda x: np_norm(x, 1, 1), [away_from_zero((3, 5))],
         id="norm_1"),
    Spec("vector_norm", lambda x: x.norm(float("inf"), -1), lambda x: np_norm(x, np.inf, -1), [(3, 5)],
         id="norm_inf"),
    Spec("vector_norm", lambda x: core.linalg.vector_norm(x, -float("inf"), 0), lambda x: np_norm(x, -np.inf, 0),
         [(4, 3)], id="norm_minus_inf"),
    Spec("vector_norm", lambda x: core.linalg.vector_norm(x, 0, 1), lambda x: np_norm(x, 0, 1),
         [lambda rng: rng.uniform(-2, 2, (3, 4)) * (rng.uniform(size=(3, 4)) > 0.5)], id="norm_0_counts_nonzeros"),
    Spec("vector_norm", lambda x: x.norm(3, 0), lambda x: np_norm(x, 3, 0), [(5, 2)], id="norm_3"),
    Spec("vector_norm", lambda x: x.norm(0.5), lambda x: np_norm(x, 0.5), [away_from_zero((3, 4))], id="norm_half"),
    Spec("vector_norm", lambda x: x.norm(-1.5, 1), lambda x: np_norm(x, -1.5, 1), [away_from_zero((2, 3))],
         id="norm_negative_p"),
    Spec("vector_norm", lambda x: core.norm(x, "fro"), lambda x: np_norm(x), [(2, 3, 1)], id="norm_fro"),
    Spec("vector_norm", lambda x: x.norm(), lambda x: np.abs(x), [()], id="norm_0d"),
    Spec("vector_norm", lambda x: x.norm(2, 0), lambda x: np_norm(x, 2, 0), [(0, 3)], id="norm_empty", grad=False),
    Spec("normalize", lambda x: core.nn.functional.normalize(x), np_normalize, [(3, 4, 2)]),
    Spec("normalize", lambda x: core.nn.functional.normalize(x, p=1.0, dim=-1), lambda x: np_normalize(x, 1, -1),
         [away_from_zero((2, 5))], id="normalize_p1_last_dim"),
    # linear algebra
    Spec("matmul", core.matmul, np.matmul, [(3, 4), (4, 5)]),
    Spec("matmul", core.matmul, np.matmul, [(2, 1, 3, 4), (5, 4, 2)], id="matmul_batch_broadcast"),
    Spec("matmul", core.matmul, np.matmul, [(4,), (4,)], id="matmul_dot"),
    Spec("matmul", core.matmul, np.matmul, [(4,), (2, 4, 3)], id="matmul_vec_batch"),
    Spec("matmul", core.matmul, np.matmul, [(2, 3, 4), (4,)], id="matmul_batch_vec"),
    Spec("mm", lambda a, b: a @ b, lambda a, b: a @ b, [(3, 0), (0, 2)]),
    Spec("bmm", core.bmm, np.matmul, [(2, 3, 4), (2, 4, 5)]),
    Spec("linear", core.linear, lambda x, w, b: x @ w.T + b, [(2, 3, 4), (5, 4), (5,)]),
]


def _setitem(x):
    y = x.clone()
    y[0, 1:3] = 5.0
    y[y < -1] = 0.0
    y[[2, 1], [0, 3]] = core.tensor([7.0, 8.0], dtype=core.float64)
    return y


def _np_setitem(x):
    y = x.copy()
    y[0, 1:3] = 5.0
    y[y < -1] = 0.0
    y[[2, 1], [0, 3]] = [7.0, 8.0]
    return y
