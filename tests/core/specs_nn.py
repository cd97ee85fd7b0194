"""Op specs of the nn ops (core/csrc/ops/nn_*.cpp): forward against numpy float64 references written out below,
and finite-difference gradients. Random ops (dropout) reseed core's generator inside the op call, so every
evaluation of the finite differences sees the same mask."""
import warnings

import numpy as np

import core
from tests.core.harness import Spec

F = core.nn.functional


def _quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **kwargs)


def ints(shape, lo=0, hi=5):
    return lambda rng: rng.integers(lo, hi, size=shape)


def with_ignored(shape, classes, ignore=-100):
    """Class targets with a few entries set to the ignore index (never all of them)."""
    def make(rng):
        t = rng.integers(0, classes, size=shape)
        t.reshape(-1)[1::3] = ignore
        return t
    return make


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# ------------------------------------------------------------------------------------------- numpy references

def np_logsumexp(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def np_softmax(x, axis=-1):
    return np.exp(x - np_logsumexp(x, axis))


def np_log_softmax(x, axis=-1):
    return x - np_logsumexp(x, axis)


def np_layer_norm(x, k, w=None, b=None, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


def np_batch_norm(x, w=None, b=None, eps=1e-5, mean=None, var=None):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = [1, x.shape[1]] + [1] * (x.ndim - 2)
    mu = x.mean(axis=axes) if mean is None else mean
    var = ((x - mu.reshape(shape)) ** 2).mean(axis=axes) if var is None else var
    y = (x - mu.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y * (1 if w is None else w.reshape(shape)) + (0 if b is None else b.reshape(shape))


def np_group_norm(x, groups, w=None, b=None, eps=1e-5):
    g = x.reshape(x.shape[0], groups, -1)
    y = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)).reshape(x.shape)
    shape = [1, x.shape[1]] + [1] * (x.ndim - 2)
    return y * (1 if w is None else w.reshape(shape)) + (0 if b is None else b.reshape(shape))


def np_cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    cdim = 0 if x.ndim == 1 else 1
    lp = np.moveaxis(np_log_softmax(x, cdim), cdim, -1)
    classes = lp.shape[-1]
    w = np.ones(classes) if weight is None else weight
    valid = t != ignore_index
    tt = np.where(valid, t, 0)
    nll = -np.take_along_axis(lp, tt[..., None], -1)[..., 0] * w[tt]
    smooth = -(lp * w).sum(-1)
    loss = np.where(valid, (1 - label_smoothing) * nll + label_smoothing / classes * smooth, 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / np.where(valid, w[tt], 0.0).sum()


def np_soft_cross_entropy(x, q, weight=None, reduction="mean", label_smoothing=0.0):
    cdim = 0 if x.ndim == 1 else 1
    classes = x.shape[cdim]
    w = np.ones(classes) if weight is None else weight
    wshape = [1] * x.ndim
    wshape[cdim] = classes
    qs = (1 - label_smoothing) * q + label_smoothing / classes
    loss = -(np_log_softmax(x, cdim) * qs * w.reshape(wshape)).sum(cdim)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / (x.size / classes)


def probabilities(shape, axis):
    return lambda rng: np_softmax(rng.standard_normal(shape), axis)


def np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    batched = x.ndim == 4
    x = x if batched else x[None]
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    kh, kw = w.shape[2:]
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    else:
        ph, pw = pair(padding)
        pads = ((ph, ph), (pw, pw))
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    n, _, h, wd = xp.shape
    ho, wo = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
    o, cg = w.shape[:2]
    og = o // groups
    out = np.zeros((n, o, ho, wo))
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, w[g * og:(g + 1) * og, :, i, j])
    if b is not None:
        out += b[None, :, None, None]
    return out if batched else out[0]


def np_conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    pad2 = padding if isinstance(padding, str) else (0, padding)
    y = np_conv2d(x[..., None, :], w[..., None, :], b, (1, stride), pad2, (1, dilation), groups)
    return y[..., 0, :]


def np_pooled(n, k, s, p, d, ceil_mode):
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def np_max_pool2d(x, k, s=None, p=0, d=1, ceil_mode=False):
    (kh, kw), (ph, pw), (dh, dw) = pair(k), pair(p), pair(d)
    sh, sw = pair(s) if s is not None else (kh, kw)
    h, w = x.shape[-2:]
    ho, wo = np_pooled(h, kh, sh, ph, dh, ceil_mode), np_pooled(w, kw, sw, pw, dw, ceil_mode)
    out = np.full(x.shape[:-2] + (ho, wo), -np.inf)
    idx = np.zeros(x.shape[:-2] + (ho, wo), dtype=np.int64)
    for oh in range(ho):
        for ow in range(wo):
            for i in range(kh):
                for j in range(kw):
                    ih, iw = oh * sh - ph + i * dh, ow * sw - pw + j * dw
                    if 0 <= ih < h and 0 <= iw < w:
                        v = x[..., ih, iw]
                        better = v > out[..., oh, ow]
                        out[..., oh, ow] = np.where(better, v, out[..., oh, ow])
                        idx[..., oh, ow] = np.where(better, ih * w + iw, idx[..., oh, ow])
    return out, idx


def np_avg_pool2d(x, k, s=None, p=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    (kh, kw), (ph, pw) = pair(k), pair(p)
    sh, sw = pair(s) if s is not None else (kh, kw)
    h, w = x.shape[-2:]
    ho, wo = np_pooled(h, kh, sh, ph, 1, ceil_mode), np_pooled(w, kw, sw, pw, 1, ceil_mode)
    extra_h, extra_w = max(0, (ho - 1) * sh + kh - h - 2 * ph), max(0, (wo - 1) * sw + kw - w - 2 * pw)
    widths = [(0, 0)] * (x.ndim - 2) + [(ph, ph + extra_h), (pw, pw + extra_w)]
    xp = np.pad(x, widths)
    valid = np.pad(np.ones((h, w)), widths[-2:])
    padded = np.pad(np.ones((h + 2 * ph, w + 2 * pw)), ((0, extra_h), (0, extra_w)))
    out = np.zeros(x.shape[:-2] + (ho, wo))
    for oh in range(ho):
        for ow in range(wo):
            win = (slice(oh * sh, oh * sh + kh), slice(ow * sw, ow * sw + kw))
            total = xp[(Ellipsis,) + win].sum(axis=(-2, -1))
            div = divisor_override or (padded[win].sum() if count_include_pad else valid[win].sum())
            out[..., oh, ow] = total / div
    return out


def np_sdpa(q, k, v, mask=None, causal=False, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    return np_softmax(s, -1) @ v


def np_one_hot(t, n=None):
    n = t.max() + 1 if n is None else n
    return (t[..., None] == np.arange(n)).astype(np.int64)


def bool_mask(shape):
    """A +-1 pattern whose first key column is always +1, so no query row is fully masked."""
    def make(rng):
        m = rng.choice([-1.0, 1.0], size=shape)
        m[..., 0] = 1.0
        return m
    return make


def dropout_kept_ratio(x, p):
    core.manual_seed(7)
    y = core.dropout(x, p)
    kept = y.detach().numpy() != 0
    # Kept entries are exactly x / (1 - p); dropped ones are 0. Returns x rebuilt from y, and the kept fraction.
    rebuilt = np.where(kept, y.detach().numpy() * (1 - p), x.detach().numpy())
    return rebuilt, kept.mean()


SPECS = [
    # softmax family
    Spec("softmax", lambda x: core.softmax(x, -1), lambda x: np_softmax(x, -1), [(3, 4)]),
    Spec("softmax", lambda x: x.softmax(0), lambda x: np_softmax(x, 0), [(3, 4, 2)], id="softmax_dim0"),
    Spec("softmax", lambda x: core.softmax(x, 1), lambda x: np_softmax(x, 1), [(2, 5, 3)], id="softmax_middle"),
    Spec("softmax", lambda x: core.softmax(x + 1000.0, -1), lambda x: np_softmax(x + 1000.0, -1), [(2, 6)],
         id="softmax_large_logits", grad=False),
    Spec("softmax", lambda x: core.softmax(x, 0), lambda x: np.ones(()), [()], id="softmax_0d", grad=False),
    Spec("softmax", lambda x: core.softmax(x, -1), lambda x: np.zeros((0, 4)), [(0, 4)], id="softmax_empty",
         grad=False),
    Spec("log_softmax", lambda x: core.log_softmax(x, -1), lambda x: np_log_softmax(x, -1), [(3, 4)]),
    Spec("log_softmax", lambda x: x.log_softmax(0), lambda x: np_log_softmax(x, 0), [(4, 3)], id="log_softmax_dim0"),
    Spec("log_softmax", lambda x: core.log_softmax(x * 300.0, -1), lambda x: np_log_softmax(x * 300.0, -1),
         [(2, 5)], id="log_softmax_large", grad=False, rtol=1e-9),
    # layer_norm
    Spec("layer_norm", lambda x, w, b: core.layer_norm(x, (4,), w, b), lambda x, w, b: np_layer_norm(x, 1, w, b),
         [(2, 3, 4), (4,), (4,)]),
    Spec("layer_norm", lambda x: core.layer_norm(x, (3, 4)), lambda x: np_layer_norm(x, 2), [(2, 3, 4)],
         id="layer_norm_2d_no_affine"),
    Spec("layer_norm", lambda x, w: core.layer_norm(x, 5, w, eps=0.1), lambda x, w: np_layer_norm(x, 1, w, eps=0.1),
         [(3, 5), (5,)], id="layer_norm_weight_only"),
    Spec("layer_norm", lambda x: core.layer_norm(x, (4,)), lambda x: np.zeros((0, 4)), [(0, 4)],
         id="layer_norm_empty", grad=False),
    # batch_norm (batch statistics) and group_norm
    Spec("batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         lambda x, w, b: np_batch_norm(x, w, b), [(4, 3, 5), (3,), (3,)]),
    Spec("batch_norm", lambda x: F.batch_norm(x, None, None, training=True, eps=0.1),
         lambda x: np_batch_norm(x, eps=0.1), [(3, 2, 2, 3)], id="batch_norm_2d_no_affine"),
    Spec("batch_norm", lambda x, m, v: F.batch_norm(x, m, v), lambda x, m, v: np_batch_norm(x, mean=m, var=v),
         [(5, 4), (4,), lambda rng: rng.uniform(0.5, 2.0, 4)], id="batch_norm_running_stats", grad_inputs=[0]),
    Spec("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), lambda x, w, b: np_group_norm(x, 2, w, b),
         [(2, 4, 5), (4,), (4,)]),
    Spec("group_norm", lambda x: F.group_norm(x, 3, eps=0.01), lambda x: np_group_norm(x, 3, eps=0.01),
         [(2, 6, 2, 3)], id="group_norm_2d_no_affine"),
    # losses
    Spec("cross_entropy", lambda x, t: core.cross_entropy(x, t), lambda x, t: np_cross_entropy(x, t),
         [(4, 5), ints((4,), 0, 5)]),
    Spec("cross_entropy", lambda x, t, w: core.cross_entropy(x, t, w, ignore_index=-100, label_smoothing=0.2),
         lambda x, t, w: np_cross_entropy(x, t, w, label_smoothing=0.2),
         [(6, 4), with_ignored((6,), 4), lambda rng: rng.uniform(0.5, 2.0, 4)], grad_inputs=[0],
         id="cross_entropy_weight_ignore_smoothing"),
    Spec("cross_entropy", lambda x, t: core.cross_entropy(x, t, reduction="none", ignore_index=2),
         lambda x, t: np_cross_entropy(x, t, reduction="none", ignore_index=2), [(2, 3, 4), ints((2, 4), 0, 3)],
         id="cross_entropy_spatial_none"),
    Spec("cross_entropy", lambda x, t: core.cross_entropy(x, t, reduction="sum", label_smoothing=0.1),
         lambda x, t: np_cross_entropy(x, t, reduction="sum", label_smoothing=0.1),
         [(2, 3, 2, 2), ints((2, 2, 2), 0, 3)], id="cross_entropy_spatial_sum"),
    Spec("cross_entropy", lambda x, t: core.cross_entropy(x, t), lambda x, t: np_cross_entropy(x, t),
         [(5,), lambda rng: np.array(3)], id="cross_entropy_unbatched"),
    Spec("cross_entropy", lambda x, q: core.cross_entropy(x, q, label_smoothing=0.1),
         lambda x, q: np_soft_cross_entropy(x, q, label_smoothing=0.1), [(4, 5), probabilities((4, 5), 1)],
         id="cross_entropy_probabilities"),
    Spec("cross_entropy", lambda x, q, w: core.cross_entropy(x, q, w, reduction="none"),
         lambda x, q, w: np_soft_cross_entropy(x, q, w, reduction="none"),
         [(2, 3, 4), probabilities((2, 3, 4), 1), lambda rng: rng.uniform(0.5, 2.0, 3)], grad_inputs=[0, 1],
         id="cross_entropy_probabilities_spatial_weight"),
    Spec("mse_loss", lambda x, y: core.mse_loss(x, y), lambda x, y: ((x - y) ** 2).mean(), [(3, 4), (3, 4)]),
    Spec("mse_loss", lambda x, y: _quietly(core.mse_loss, x, y, reduction="none"), lambda x, y: (x - y) ** 2,
         [(3, 4), (4,)], id="mse_loss_none_broadcast"),  # broadcast on purpose: the warning is tested elsewhere
    Spec("mse_loss", lambda x, y: core.mse_loss(x, y, reduction="sum"), lambda x, y: ((x - y) ** 2).sum(),
         [(2, 3), (2, 3)], id="mse_loss_sum"),
    # convolution
    Spec("conv2d", lambda x, w, b: core.conv2d(x, w, b, padding=1), lambda x, w, b: np_conv2d(x, w, b, padding=1),
         [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    Spec("conv2d", lambda x, w: core.conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
         lambda x, w: np_conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2)), [(1, 2, 6, 5), (3, 2, 2, 3)],
         id="conv2d_stride_dilation"),
    Spec("conv2d", lambda x, w, b: core.conv2d(x, w, b, groups=3), lambda x, w, b: np_conv2d(x, w, b, groups=3),
         [(2, 6, 4, 4), (9, 2, 3, 2), (9,)], id="conv2d_groups"),
    Spec("conv2d", lambda x, w: core.conv2d(x, w, padding="same"), lambda x, w: np_conv2d(x, w, padding="same"),
         [(1, 2, 4, 5), (2, 2, 2, 4)], id="conv2d_same_even_kernel"),
    Spec("conv2d", lambda x, w: core.conv2d(x, w, padding="valid"), lambda x, w: np_conv2d(x, w),
         [(2, 4, 4), (3, 2, 3, 3)], id="conv2d_unbatched"),
    Spec("conv2d", lambda x, w: core.conv2d(x, w, padding=1), lambda x, w: np.zeros((0, 2, 3, 3)),
         [(0, 2, 3, 3), (2, 2, 3, 3)], id="conv2d_empty_batch", grad=False),
    Spec("conv1d", lambda x, w, b: core.conv1d(x, w, b, padding="same"),
         lambda x, w, b: np_conv1d(x, w, b, padding="same"), [(2, 3, 7), (4, 3, 3), (4,)]),
    Spec("conv1d", lambda x, w: core.conv1d(x, w, stride=2, padding=1, dilation=2, groups=2),
         lambda x, w: np_conv1d(x, w, stride=2, padding=1, dilation=2, groups=2), [(2, 4, 9), (6, 2, 3)],
         id="conv1d_stride_groups"),
    # pooling
    Spec("max_pool2d", lambda x: core.max_pool2d(x, 2), lambda x: np_max_pool2d(x, 2)[0], [(2, 3, 6, 6)]),
    Spec("max_pool2d", lambda x: core.max_pool2d(x, 3, 2, 1, 2, ceil_mode=True, return_indices=True),
         lambda x: np_max_pool2d(x, 3, 2, 1, 2, ceil_mode=True), [(2, 7, 8)], id="max_pool2d_all_options"),
    Spec("max_pool2d", lambda x: core.max_pool2d(x, (2, 3), stride=(1, 2), ceil_mode=True),
         lambda x: np_max_pool2d(x, (2, 3), (1, 2), ceil_mode=True)[0], [(1, 2, 5, 6)], id="max_pool2d_ceil"),
    Spec("avg_pool2d", lambda x: core.avg_pool2d(x, 2), lambda x: np_avg_pool2d(x, 2), [(2, 3, 4, 6)]),
    Spec("avg_pool2d", lambda x: core.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
         lambda x: np_avg_pool2d(x, 3, 2, 1, ceil_mode=True), [(1, 2, 6, 7)], id="avg_pool2d_pad_ceil"),
    Spec("avg_pool2d", lambda x: core.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
         lambda x: np_avg_pool2d(x, 3, 2, 1, count_include_pad=False), [(2, 5, 5)], id="avg_pool2d_exclude_pad"),
    Spec("avg_pool2d", lambda x: core.avg_pool2d(x, (2, 2), divisor_override=3),
         lambda x: np_avg_pool2d(x, 2, divisor_override=3), [(1, 1, 4, 4)], id="avg_pool2d_divisor"),
    # attention
    Spec("scaled_dot_product_attention", core.scaled_dot_product_attention, np_sdpa, [(2, 3, 4, 5), (2, 3, 6, 5),
                                                                                     (2, 3, 6, 7)]),
    Spec("scaled_dot_product_attention", lambda q, k, v: core.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                                                           scale=0.3),
         lambda q, k, v: np_sdpa(q, k, v, causal=True, scale=0.3), [(2, 5, 4), (2, 5, 4), (2, 5, 3)],
         id="sdpa_causal_scale"),
    Spec("scaled_dot_product_attention", lambda q, k, v, m: core.scaled_dot_product_attention(q, k, v, m > 0),
         lambda q, k, v, m: np_sdpa(q, k, v, m > 0), [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 2), bool_mask((3, 5))],
         grad_inputs=[0, 1, 2], id="sdpa_bool_mask_broadcast"),
    Spec("scaled_dot_product_attention", core.scaled_dot_product_attention, np_sdpa,
         [(2, 3, 4), (1, 5, 4), (5, 3), (2, 1, 5)], id="sdpa_float_mask_batch_broadcast"),
    Spec("scaled_dot_product_attention",
         lambda q, k, v: (core.manual_seed(5), core.scaled_dot_product_attention(q, k, v, dropout_p=0.4))[1],
         lambda q, k, v: _sdpa_dropout_reference(q, k, v, 0.4), [(2, 3, 4), (2, 5, 4), (2, 5, 3)],
         id="sdpa_dropout", atol=1e-12),
    Spec("scaled_dot_product_attention",
         lambda q, k, v: core.scaled_dot_product_attention(q, k, v, enable_gqa=True),
         lambda q, k, v: np_sdpa(q, np.repeat(k, 2, axis=-3), np.repeat(v, 2, axis=-3)),
         [(1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3)], id="sdpa_grouped_query_heads"),
    # embedding, dropout, padding, one-hot
    Spec("embedding", lambda i, w: core.embedding(i, w), lambda i, w: w[i], [ints((2, 3), 0, 6), (6, 4)]),
    Spec("embedding", lambda i, w: core.embedding(i, w, padding_idx=-1), lambda i, w: w[i],
         [lambda rng: np.array([[5, 1, 5], [0, 5, 3]]), (6, 3)], id="embedding_padding_idx", grad=False),
    Spec("embedding", lambda i, w: core.embedding(i, w), lambda i, w: np.zeros((0, 4)),
         [lambda rng: np.zeros(0, dtype=np.int64), (3, 4)], id="embedding_empty", grad=False),
    Spec("dropout", lambda x: dropout_kept_ratio(x, 0.3), lambda x: (x, 0.7), [(40, 50)], atol=0.03,
         grad=False, id="dropout_kept_scaled"),
    Spec("dropout", lambda x: (core.manual_seed(3), core.dropout(x, 0.5))[1],
         lambda x: x * _dropout_mask(x.shape, 0.5, 3), [(3, 4)], id="dropout_same_mask_scales_input"),
    Spec("dropout", lambda x: core.dropout(x, 0.5, training=False), lambda x: x, [(3, 4)], id="dropout_eval"),
    Spec("pad", lambda x: core.pad(x, (1, 2), value=0.5), lambda x: np.pad(x, ((0, 0), (1, 2)), constant_values=0.5),
         [(3, 4)]),
    Spec("pad", lambda x: core.pad(x, (-1, 1, 2, 0)), lambda x: np.pad(x, ((0, 0), (2, 0), (0, 1)))[..., 1:],
         [(2, 3, 4)], id="pad_negative_crops"),
    Spec("pad", lambda x: core.pad(x, (2, 1, 1, 1), mode="reflect"),
         lambda x: np.pad(x, ((0, 0), (1, 1), (2, 1)), mode="reflect"), [(2, 3, 4)], id="pad_reflect"),
    Spec("pad", lambda x: core.pad(x, (2, 3), mode="replicate"), lambda x: np.pad(x, ((0, 0), (2, 3)), mode="edge"),
         [(3, 4)], id="pad_replicate"),
    Spec("pad", lambda x: core.pad(x, (1, 3), mode="circular"), lambda x: np.pad(x, ((0, 0), (1, 3)), mode="wrap"),
         [(2, 4)], id="pad_circular"),
    Spec("one_hot", lambda t: core.one_hot(t), lambda t: np_one_hot(t), [ints((2, 3), 0, 4)], grad=False),
    Spec("one_hot", lambda t: core.one_hot(t, 6), lambda t: np_one_hot(t, 6), [ints((5,), 0, 6)], grad=False,
         id="one_hot_num_classes"),
]


def _sdpa_dropout_reference(q, k, v, p):
    """The dropout mask is not numpy's to draw: take the kept pattern from core and check the rest of the maths."""
    qt, kt = core.tensor(q), core.tensor(k)
    core.manual_seed(5)
    probs = core.scaled_dot_product_attention(qt, kt, core.tensor(np.broadcast_to(np.eye(5), (2, 5, 5)).copy()),
                                              dropout_p=p).numpy()
    full = np_softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), -1)
    kept = probs != 0
    assert 0.3 < kept.mean() < 0.9
    np.testing.assert_allclose(probs[kept], full[kept] / (1 - p), rtol=1e-10)
    return np.where(kept, full / (1 - p), 0.0) @ v


def _dropout_mask(shape, p, seed):
    """core's scaled keep mask for a seed, read off by dropping out a tensor of ones."""
    core.manual_seed(seed)
    return core.dropout(core.ones(shape, dtype=core.float64), p).numpy()
