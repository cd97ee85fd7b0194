"""The losses of core.nn.functional and their modules (L1, SmoothL1, Huber, BCE, BCE with logits, NLL, KL
divergence) against numpy float64 definitions written out below, with finite-difference gradients; their
options and errors; and PyTorch 2.13's values and gradients where torch is installed."""
import inspect
import warnings

import numpy as np
import pytest

import core
import core.nn as nn
import core.nn.functional as F
from tests.core.harness import Spec, check_forward, check_grad


def reduce(losses, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](losses)


def np_smooth_l1(x, y, beta):
    d = np.abs(x - y)
    return np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)


def np_huber(x, y, delta):
    d = np.abs(x - y)
    return np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))


def np_bce(p, t, w=1.0):
    return -w * (t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))


def np_bce_logits(x, t, w=1.0, pw=1.0):
    return w * ((1 - t) * x + (1 + (pw - 1) * t) * np.logaddexp(0, -x))


def np_nll(logp, t, w=None, ignore=-100, reduction="mean"):
    c = logp.shape[1]
    w = np.ones(c) if w is None else w
    moved = np.moveaxis(logp, 1, -1)
    keep = t != ignore
    idx = np.where(keep, t, 0)
    picked = np.take_along_axis(moved, idx[..., None], -1)[..., 0]
    wt = w[idx] * keep
    losses = -picked * wt
    return losses.sum() / wt.sum() if reduction == "mean" else reduce(losses, reduction)


def np_kl(x, t, reduction, log_target=False):
    losses = np.exp(t) * (t - x) if log_target else np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x
    return losses.sum() / x.shape[0] if reduction == "batchmean" else reduce(losses, reduction)


def classes(shape, n, ignore=None):
    def make(rng):
        t = rng.integers(0, n, size=shape)
        if ignore is not None:
            t.reshape(-1)[1::3] = ignore
        return t
    return make


def log_probs(shape):
    return lambda rng: np.log(rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]))


PAIR = [(3, 4), (3, 4)]
SPECS = []
for red in ("mean", "sum", "none"):
    SPECS += [
        Spec("l1_loss", lambda x, y, r=red: F.l1_loss(x, y, reduction=r),
             lambda x, y, r=red: reduce(np.abs(x - y), r), PAIR, id=f"l1_loss_{red}"),
        Spec("smooth_l1_loss", lambda x, y, r=red: F.smooth_l1_loss(x, y, reduction=r, beta=0.6),
             lambda x, y, r=red: reduce(np_smooth_l1(x, y, 0.6), r), PAIR, id=f"smooth_l1_loss_{red}"),
        Spec("huber_loss", lambda x, y, r=red: F.huber_loss(x, y, reduction=r, delta=1.3),
             lambda x, y, r=red: reduce(np_huber(x, y, 1.3), r), PAIR, id=f"huber_loss_{red}"),
        Spec("binary_cross_entropy", lambda p, t, w, r=red: F.binary_cross_entropy(p, t, w, reduction=r),
             lambda p, t, w, r=red: reduce(np_bce(p, t, w), r), [(3, 4), (3, 4), (4,)], low=0.05, high=0.95,
             id=f"binary_cross_entropy_{red}"),
        Spec("binary_cross_entropy_with_logits",
             lambda x, t, w, pw, r=red: F.binary_cross_entropy_with_logits(x, t, w, reduction=r, pos_weight=pw),
             lambda x, t, w, pw, r=red: reduce(np_bce_logits(x, t, w, pw), r),
             [(3, 4), lambda rng: rng.uniform(0, 1, (3, 4)), (4,), lambda rng: rng.uniform(0.5, 3, 4)],
             low=-4, high=4, id=f"binary_cross_entropy_with_logits_{red}"),
        Spec("nll_loss", lambda x, t, w, r=red: F.nll_loss(x, t, w, ignore_index=-100, reduction=r),
             lambda x, t, w, r=red: np_nll(x, t, w, reduction=r),
             [log_probs((5, 4)), classes((5,), 4, ignore=-100), lambda rng: rng.uniform(0.5, 2, 4)],
             grad_inputs=[0], id=f"nll_loss_{red}"),
        Spec("nll_loss", lambda x, t, r=red: F.nll_loss(x, t, ignore_index=1, reduction=r),
             lambda x, t, r=red: np_nll(x, t, ignore=1, reduction=r), [(2, 4, 3, 2), classes((2, 3, 2), 4)],
             grad_inputs=[0], id=f"nll_loss_spatial_{red}"),
    ]
for red in ("mean", "sum", "none", "batchmean"):
    SPECS += [
        Spec("kl_div", lambda x, t, r=red: F.kl_div(x, t, reduction=r), lambda x, t, r=red: np_kl(x, t, r),
             [log_probs((3, 4)), lambda rng: rng.dirichlet(np.ones(4), size=3)], id=f"kl_div_{red}"),
        Spec("kl_div", lambda x, t, r=red: F.kl_div(x, t, reduction=r, log_target=True),
             lambda x, t, r=red: np_kl(x, t, r, log_target=True), [log_probs((3, 4)), log_probs((3, 4))],
             id=f"kl_div_log_target_{red}"),
    ]
SPECS += [
    Spec("smooth_l1_loss", lambda x, y: F.smooth_l1_loss(x, y, beta=0.0), lambda x, y: np.abs(x - y).mean(), PAIR,
         id="smooth_l1_loss_beta_0_is_l1"),
    Spec("nll_loss", lambda x, t: F.nll_loss(x, t), lambda x, t: -x[t], [log_probs((5,)), lambda rng: np.int64(3)],
         grad_inputs=[0], id="nll_loss_unbatched"),
]


@pytest.mark.parametrize("s", SPECS, ids=[s.id for s in SPECS])
def test_loss_matches_numpy(s):
    check_forward(s)


@pytest.mark.parametrize("s", SPECS, ids=[s.id for s in SPECS])
def test_loss_gradient_matches_finite_differences(s):
    check_grad(s)


def test_bce_with_logits_is_finite_and_exact_at_saturated_and_zero_logits():
    x = core.tensor([-200.0, 0.0, 200.0], requires_grad=True)
    t = core.tensor([1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    assert loss.tolist() == pytest.approx([200.0, np.log(2), 200.0])
    loss.sum().backward()
    assert x.grad.tolist() == [-1.0, -0.5, 1.0]  # sigmoid(x) - t, exact at 0 too


def test_bce_holds_its_logs_at_minus_100():
    p = core.tensor([0.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(p, core.tensor([1.0, 0.0]), reduction="none")
    assert loss.tolist() == [100.0, 100.0]
    loss.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()


def test_nll_loss_mean_divides_by_the_weights_of_the_kept_targets():
    logp = core.tensor([[-1.0, -2.0], [-3.0, -4.0], [-5.0, -6.0]])
    w = core.tensor([2.0, 10.0])
    out = F.nll_loss(logp, core.tensor([0, 1, -100]), weight=w)
    assert out.item() == pytest.approx((2 * 1 + 10 * 4) / 12)
    assert np.isnan(F.nll_loss(logp, core.tensor([-100, -100, -100])).item())


def test_log_softmax_then_nll_loss_is_cross_entropy():
    x = core.randn(6, 5, dtype=core.float64)
    t = core.tensor([0, 4, 1, 1, 3, 2])
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(x, dim=1), t).item(), F.cross_entropy(x, t).item(),
                               rtol=1e-12)


def test_modules_call_their_functions_with_their_settings():
    x, y = core.randn(3, 4), core.randn(3, 4)
    assert nn.L1Loss(reduction="sum")(x, y).item() == F.l1_loss(x, y, reduction="sum").item()
    assert nn.SmoothL1Loss(beta=0.5)(x, y).item() == F.smooth_l1_loss(x, y, beta=0.5).item()
    assert nn.HuberLoss(delta=0.5)(x, y).item() == F.huber_loss(x, y, delta=0.5).item()
    p, t = core.rand(3, 4) * 0.9 + 0.05, core.rand(3, 4)
    assert nn.BCELoss(weight=core.ones(4) * 2)(p, t).item() == F.binary_cross_entropy(p, t, core.ones(4) * 2).item()
    pw = core.tensor([1.0, 2.0, 3.0, 4.0])
    bce = nn.BCEWithLogitsLoss(pos_weight=pw)
    assert bce(x, t).item() == F.binary_cross_entropy_with_logits(x, t, pos_weight=pw).item()
    assert list(bce.state_dict()) == ["pos_weight"]
    logp, target = F.log_softmax(x, dim=1), core.tensor([0, 3, 1])
    assert nn.NLLLoss(ignore_index=3)(logp, target).item() == F.nll_loss(logp, target, ignore_index=3).item()
    q = core.softmax(y, dim=1)
    assert nn.KLDivLoss(reduction="batchmean")(logp, q).item() == F.kl_div(logp, q, reduction="batchmean").item()
    assert repr(nn.KLDivLoss(log_target=True)) == "KLDivLoss(reduction='mean', log_target=True)"


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.l1_loss(core.ones(2), core.ones(2), reduction="avg"), ValueError,
     "l1_loss: reduction must be one of 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: F.smooth_l1_loss(core.ones(2), core.ones(2), beta=-1.0), ValueError, "beta must be 0 or more, got -1.0"),
    (lambda: F.huber_loss(core.ones(2), core.ones(2), delta=0.0), ValueError, "delta must be positive, got 0.0"),
    (lambda: nn.HuberLoss(delta=-1.0), ValueError, "HuberLoss: delta must be positive"),
    (lambda: nn.KLDivLoss(reduction="batch"), ValueError, "KLDivLoss: reduction must be one of"),
    (lambda: F.binary_cross_entropy(core.tensor([1.5, 0.5]), core.ones(2)), ValueError,
     "input values must be probabilities between 0 and 1, got 0.5 to 1.5; for logits use "
     "binary_cross_entropy_with_logits"),
    (lambda: F.binary_cross_entropy(core.tensor([float("nan"), 0.5]), core.ones(2)), ValueError,
     "input values must be probabilities between 0 and 1, got NaN; for logits use"),
    (lambda: nn.BCELoss()(core.tensor([float("nan")]), core.zeros(1)), ValueError, "got NaN"),
    (lambda: F.binary_cross_entropy(core.ones(2) * 0.5, core.ones(1, 2)), ValueError,
     r"binary_cross_entropy: target shape \(1, 2\) must be the same as input shape \(2,\)"),
    (lambda: F.binary_cross_entropy_with_logits(core.ones(2), core.ones(3)), ValueError,
     r"target shape \(3,\) must be the same as input shape \(2,\)"),
    (lambda: F.nll_loss(core.zeros(2, 5), core.tensor([1, 7])), IndexError,
     r"nll_loss: target 7 is out of bounds for 5 classes \(ignore_index is -100\)"),
    (lambda: F.nll_loss(core.zeros(2, 5), core.tensor([-1, 0])), IndexError, "target -1 is out of bounds"),
    (lambda: F.nll_loss(core.zeros(2, 5), core.tensor([1, 2, 3])), ValueError,
     r"target of shape \(3,\) does not fit input of shape \(2, 5\); expected \(2,\)"),
    (lambda: F.nll_loss(core.zeros(5), core.tensor([1])), ValueError,
     r"target of shape \(1,\) does not fit input of shape \(5,\); expected \(\)"),
    (lambda: F.nll_loss(core.zeros(2, 5), core.tensor([1.0, 2.0])), TypeError, "target must hold class indices"),
    (lambda: F.nll_loss(core.zeros(2, 5), core.tensor([1, 2]), weight=core.ones(4)), ValueError,
     r"weight must have one entry per class, shape \(5,\), got \(4,\)"),
])
def test_bad_arguments_raise_with_the_reason(call, error, message):
    with pytest.raises(error, match=message):
        call()


# The losses on shared inputs: x, y (3, 4) real; p, q (3, 4) in (0, 1); logp log-probabilities; labels classes
_RNG = np.random.default_rng(3)
_X, _Y = core.tensor(_RNG.standard_normal((3, 4))), core.tensor(_RNG.standard_normal((3, 4)))
_P, _Q = core.tensor(_RNG.uniform(0.05, 0.95, (3, 4))), core.tensor(_RNG.uniform(0.05, 0.95, (3, 4)))
_LOGP, _LABELS = F.log_softmax(_X, dim=1), core.tensor([0, 3, 1])
INPUTS = {
    "mse_loss": (_X, _Y), "l1_loss": (_X, _Y), "smooth_l1_loss": (_X, _Y), "huber_loss": (_X, _Y),
    "binary_cross_entropy": (_P, _Q), "binary_cross_entropy_with_logits": (_X, _Q), "nll_loss": (_LOGP, _LABELS),
    "kl_div": (_LOGP, _Q), "cross_entropy": (_X, _LABELS),
}
MODULES = {
    "mse_loss": nn.MSELoss, "l1_loss": nn.L1Loss, "smooth_l1_loss": nn.SmoothL1Loss, "huber_loss": nn.HuberLoss,
    "binary_cross_entropy": nn.BCELoss, "binary_cross_entropy_with_logits": nn.BCEWithLogitsLoss,
    "nll_loss": nn.NLLLoss, "kl_div": nn.KLDivLoss, "cross_entropy": nn.CrossEntropyLoss,
}
# PyTorch 2.13's parameter order up to what we take (its mse_loss, l1_loss and huber_loss end in a weight= we lack)
SIGNATURES = {
    "mse_loss": "input target size_average reduce reduction",
    "l1_loss": "input target size_average reduce reduction",
    "smooth_l1_loss": "input target size_average reduce reduction beta",
    "huber_loss": "input target reduction delta",
    "binary_cross_entropy": "input target weight size_average reduce reduction",
    "binary_cross_entropy_with_logits": "input target weight size_average reduce reduction pos_weight",
    "nll_loss": "input target weight size_average ignore_index reduce reduction",
    "kl_div": "input target size_average reduce reduction log_target",
    "cross_entropy": "input target weight size_average ignore_index reduce reduction label_smoothing",
}
LEGACY = [name for name in INPUTS if name != "huber_loss"]  # PyTorch's huber_loss never had size_average / reduce
BROADCASTING = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]


@pytest.mark.parametrize("name", BROADCASTING)
def test_target_shape_that_broadcasts_warns_naming_both_shapes_then_broadcasts(name):
    x, column = _X[:, :1], _Y[0]  # (3, 1) against (4,): the classic (N, 1) prediction against an (N,) target
    with pytest.warns(UserWarning, match=rf"{name}: target shape \(4,\) differs from input shape \(3, 1\)") as got:
        out = getattr(F, name)(x, column, reduction="none")
    assert got[0].filename == __file__  # the warning points at the caller's line
    assert out.shape == (3, 4)
    expected = getattr(F, name)(x.expand(3, 4), column.expand(3, 4), reduction="none")
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(F, name)(x, x)


@pytest.mark.parametrize("name", BROADCASTING + ["kl_div"])
def test_target_shape_that_does_not_broadcast_raises_naming_both_shapes(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no broadcasting warning first: nothing is broadcast
        with pytest.raises(ValueError, match=rf"{name}: input shape \(3, 4\) and target shape \(3,\) do not "
                                             "broadcast"):
            getattr(F, name)(_X, _Y[:, 0])


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_bce_refuses_a_target_shape_that_would_broadcast(name):
    with pytest.raises(ValueError, match=rf"{name}: target shape \(1, 4\) must be the same as input shape \(3, 4\)"):
        getattr(F, name)(INPUTS[name][0], INPUTS[name][1][:1])


@pytest.mark.parametrize("size_average, reduce, expected", [
    (False, None, "sum"), (None, False, "none"), (True, False, "none"), (False, True, "sum"), (True, None, "mean"),
    (None, True, "mean"),
])
@pytest.mark.parametrize("name", LEGACY)
def test_size_average_and_reduce_map_to_reduction_with_a_warning(name, size_average, reduce, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        want = getattr(F, name)(*INPUTS[name], reduction=expected)
    with pytest.warns(UserWarning, match=rf"{name}: size_average and reduce are deprecated; pass "
                                         f"reduction='{expected}'"):
        # as in PyTorch the legacy arguments win over reduction
        got = getattr(F, name)(*INPUTS[name], size_average=size_average, reduce=reduce, reduction="none")
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
        module = MODULES[name](size_average=size_average, reduce=reduce)
    assert module.reduction == expected
    np.testing.assert_array_equal(module(*INPUTS[name]).numpy(), want.numpy())


def test_size_average_is_the_third_positional_argument_as_in_pytorch():
    with pytest.warns(UserWarning, match="pass reduction='sum'"):
        assert F.mse_loss(_X, _Y, False).item() == F.mse_loss(_X, _Y, reduction="sum").item()


@pytest.mark.parametrize("bad", ["avg", "elementwise_sum", None])
@pytest.mark.parametrize("name", list(INPUTS))
def test_invalid_reduction_raises_naming_the_valid_ones(name, bad):
    choices = "'mean', 'sum', 'none' or 'batchmean'" if name == "kl_div" else "'mean', 'sum' or 'none'"
    message = rf"reduction must be one of {choices}, got {bad!r}"
    with pytest.raises(ValueError, match=f"{name}: {message}"):
        getattr(F, name)(*INPUTS[name], reduction=bad)
    with pytest.raises(ValueError, match=f"{MODULES[name].__name__}: {message}"):
        MODULES[name](reduction=bad)


@pytest.mark.parametrize("name", list(INPUTS))
def test_signatures_take_pytorchs_arguments_in_pytorchs_order(name):
    assert " ".join(inspect.signature(getattr(F, name)).parameters) == SIGNATURES[name]
    module_params = list(inspect.signature(MODULES[name]).parameters)
    assert module_params == [p for p in SIGNATURES[name].split() if p not in ("input", "target")]


@pytest.mark.parametrize("name", list(INPUTS))
def test_stored_signatures_are_pytorchs(name):
    torch = pytest.importorskip("torch")
    theirs = list(inspect.signature(getattr(torch.nn.functional, name)).parameters)
    assert theirs[:len(SIGNATURES[name].split())] == SIGNATURES[name].split()
    theirs = list(inspect.signature(getattr(torch.nn, MODULES[name].__name__)).parameters)
    assert theirs == list(inspect.signature(MODULES[name]).parameters)


@pytest.mark.filterwarnings("ignore:reduction.*'mean' divides:UserWarning")  # torch's note on kl_div's mean
def test_matches_pytorch_values_and_gradients():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rs = np.random.default_rng(7)
    x, y = rs.standard_normal((4, 5)) * 2, rs.standard_normal((4, 5))
    p, t = rs.uniform(0.02, 0.98, (4, 5)), rs.uniform(0, 1, (4, 5))
    w, pw = rs.uniform(0.5, 2, 5), rs.uniform(0.5, 3, 5)
    logp, q = np.log(rs.dirichlet(np.ones(5), size=4)), rs.dirichlet(np.ones(5), size=4)
    target = np.array([0, 4, -100, 2])
    x[0, 0] = 0.0  # the logit where softplus's pieces meet
    cases = [
        ("l1_loss", (x, y), {}), ("smooth_l1_loss", (x, y), {"beta": 0.7}), ("huber_loss", (x, y), {"delta": 0.8}),
        ("binary_cross_entropy", (p, t, w), {}),
        ("binary_cross_entropy_with_logits", (x, t, w), {"pos_weight": pw}),
        ("nll_loss", (logp, target, w), {"ignore_index": -100}),
        ("kl_div", (logp, q), {"reduction": "batchmean"}), ("kl_div", (logp, np.log(q)), {"log_target": True}),
    ]
    for name, arrays, kw in cases:
        for reduction in ("mean", "sum", "none") if "reduction" not in kw else (kw["reduction"],):
            kw = {**kw, "reduction": reduction}
            ours = [core.tensor(a, requires_grad=a.dtype.kind == "f" and i < 2) for i, a in enumerate(arrays)]
            theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f" and i < 2) for i, a in enumerate(arrays)]
            if "pos_weight" in kw:
                kw_ours, kw_theirs = {**kw, "pos_weight": core.tensor(pw)}, {**kw, "pos_weight": torch.tensor(pw)}
            else:
                kw_ours = kw_theirs = kw
            out, ref = getattr(F, name)(*ours, **kw_ours), getattr(tf, name)(*theirs, **kw_theirs)
            np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12,
                                       err_msg=f"{name} {kw}")
            cot = rs.standard_normal(tuple(ref.shape))
            (out * core.tensor(cot)).sum().backward()
            (ref * torch.tensor(cot)).sum().backward()
            for o, th in zip(ours, theirs):
                if th.grad is not None:
                    np.testing.assert_allclose(o.grad.numpy(), th.grad.numpy(), rtol=1e-10, atol=1e-12,
                                               err_msg=f"gradient of {name} {kw}")
