"""Hypothesis fuzzing of the nn op bindings: random shapes (empty and 0-d included), dtypes, dims, kernel
arguments and indices. Every call either returns a tensor or raises ValueError / TypeError / IndexError; any
other exception (or a crash, which takes the test process down) fails."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core

ALLOWED = (ValueError, TypeError, IndexError)
DTYPES = [core.float32, core.float64, core.int64, core.bool]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4)
small = st.integers(-2, 4)


def make(shape, dtype, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    a = rng.integers(-3, 6, size=shape) if dtype in (core.int64, core.bool) else rng.standard_normal(shape)
    return core.tensor(a).to(dtype)


def call(fn, *args, **kwargs):
    try:
        out = fn(*args, **kwargs)
    except ALLOWED:
        return None
    return out


@FUZZ
@given(shape=shapes, dtype=st.sampled_from(DTYPES), dim=st.integers(-5, 5), log=st.booleans())
def test_softmax_fuzz(shape, dtype, dim, log):
    call(core.log_softmax if log else core.softmax, make(shape, dtype), dim)


@FUZZ
@given(shape=shapes, dtype=st.sampled_from(DTYPES), normalized=st.lists(st.integers(0, 4), max_size=3),
       affine=st.booleans())
def test_layer_norm_fuzz(shape, dtype, normalized, affine):
    w = make(normalized, core.float32) if affine else None
    call(core.layer_norm, make(shape, dtype), normalized, w, w)


@FUZZ
@given(shape=shapes, tshape=shapes, tdtype=st.sampled_from(DTYPES), ignore=st.integers(-101, 3),
       smoothing=st.floats(-0.5, 1.5), reduction=st.sampled_from(["mean", "sum", "none", "avg"]))
def test_cross_entropy_fuzz(shape, tshape, tdtype, ignore, smoothing, reduction):
    call(core.cross_entropy, make(shape, core.float32), make(tshape, tdtype), ignore_index=ignore,
         label_smoothing=smoothing, reduction=reduction)


@FUZZ
@given(xs=st.lists(st.integers(0, 5), min_size=1, max_size=5), ws=st.lists(st.integers(0, 4), min_size=1, max_size=5),
       stride=small, padding=st.one_of(small, st.sampled_from(["same", "valid"])), dilation=small,
       groups=st.integers(-1, 3), dtype=st.sampled_from(DTYPES))
def test_conv_fuzz(xs, ws, stride, padding, dilation, groups, dtype):
    x, w = make(xs, dtype), make(ws, core.float32)
    for op in (core.conv1d, core.conv2d):
        call(op, x, w, None, stride, padding, dilation, groups)


@FUZZ
@given(xs=st.lists(st.integers(0, 6), min_size=1, max_size=5), k=small, stride=small, padding=small,
       dilation=small, ceil=st.booleans(), include=st.booleans())
def test_pool_fuzz(xs, k, stride, padding, dilation, ceil, include):
    x = make(xs, core.float32)
    call(core.max_pool2d, x, k, stride, padding, dilation, ceil, True)
    call(core.avg_pool2d, x, k, stride, padding, ceil, include)


@FUZZ
@given(qs=shapes, ks=shapes, vs=shapes, ms=st.one_of(st.none(), shapes), mdtype=st.sampled_from(DTYPES),
       causal=st.booleans(), p=st.sampled_from([0.0, 0.5, -0.1]))
def test_attention_fuzz(qs, ks, vs, ms, mdtype, causal, p):
    mask = None if ms is None else make(ms, mdtype)
    call(core.scaled_dot_product_attention, make(qs, core.float32), make(ks, core.float32), make(vs, core.float32),
         mask, p, causal)


@FUZZ
@given(ids=shapes, idtype=st.sampled_from(DTYPES), ws=shapes, padding_idx=st.one_of(st.none(), st.integers(-6, 6)),
       classes=st.integers(-2, 6))
def test_index_ops_fuzz(ids, idtype, ws, padding_idx, classes):
    t = make(ids, idtype)
    call(core.embedding, t, make(ws, core.float32), padding_idx)
    call(core.one_hot, t, classes)


@pytest.mark.filterwarnings("ignore:mse_loss. target shape:UserWarning")  # its target broadcasts on purpose
@FUZZ
@given(shape=shapes, dtype=st.sampled_from(DTYPES), pads=st.lists(st.integers(-3, 4), max_size=8),
       mode=st.sampled_from(["constant", "reflect", "replicate", "circular", "wrap"]), p=st.floats(-0.5, 1.5))
def test_pad_and_dropout_fuzz(shape, dtype, pads, mode, p):
    x = make(shape, dtype)
    call(core.pad, x, pads, mode)
    call(core.dropout, x, p)
    call(core.mse_loss, x, make(shape[1:], core.float32))
