"""zoohub core: a tensor engine in C++ with reverse-mode autograd, PyTorch's names and semantics.

>>> import core
>>> x = core.randn(3, 4, requires_grad=True)
>>> (x * 2).sum().backward()
>>> x.grad.shape
(3, 4)
"""
from core import _C, _methods, _pickling  # noqa: F401
from core._backend import backend_info, get_num_threads, set_num_threads  # noqa: F401
from core._C import Tensor, dtype
from core._tensor import (  # noqa: F401
    abs, add, all, amax, amin, any, arange, argmax, argmin, as_tensor, bfloat16, bmm, ceil, clamp, clone, contiguous,
    cos, detach, div, divide, empty, empty_like, enable_grad, eq, erf, exp, eye, flatten, float16, float32, float64,
    floor, floor_divide, fmod, from_numpy, full, full_like, ge, gelu, greater, greater_equal, gt, index_select,
    inference_mode, int32, int64, is_grad_enabled, isfinite, isinf, isnan, le, less, less_equal, linear, linspace, log,
    log1p, logical_and, logical_not, logical_or, lt, manual_seed, masked_fill, matmul, max, maximum, mean, min, minimum,
    mul, multiply, narrow, ne, neg, no_grad, nonzero, norm, not_equal, ones, ones_like, permute, pow, prod, rand,
    rand_like, randint, randint_like, randn, randn_like, relu, relu_, remainder, reshape, round, rsqrt, select,
    set_grad_enabled, sigmoid, sign, silu, sin, sqrt, squeeze, sub, subtract, sum, t, tanh, tensor, transpose,
    true_divide, trunc, unsqueeze, where, zeros, zeros_like,
)
from core._einsum import einsum  # noqa: F401
from core._nn_ops import *  # noqa: F401, F403  (softmax, layer_norm, cross_entropy, conv2d, ...: see its __all__)
from core._shape_ops import (  # noqa: F401
    argsort, cat, chunk, concat, concatenate, cumprod, cumsum, flip, from_dlpack, gather, logsumexp, moveaxis, movedim,
    roll, scatter, scatter_add, sort, split, stack, std, std_mean, swapaxes, swapdims, tile, topk, tril, triu, unbind,
    unflatten, var, var_mean,
)
from core._tensor import bool_ as bool  # noqa: F401, A001  (core.bool, as torch.bool)

float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001

_methods.install()
_pickling.install()

__all__ = ["Tensor", "dtype"]

from core import autograd, io, linalg, nn, optim  # noqa: E402, F401  (they build on the Tensor methods installed above)
