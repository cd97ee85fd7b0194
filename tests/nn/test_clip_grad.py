"""core.nn.utils.clip_grad_norm_ / clip_grad_value_ against numpy, with PyTorch's formula (scale = max_norm /
(norm + 1e-6), capped at 1)."""
import math

import numpy as np
import pytest

import core
import core.nn as nn

SHAPES = [(3, 4), (4,), (2, 2)]


def _params(seed, dtype=np.float32, with_grad=(True, True, True)):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    params = []
    for shape, g, has in zip(SHAPES, grads, with_grad):
        p = nn.Parameter(core.tensor(rng.standard_normal(shape).astype(dtype)))
        if has:
            p.grad = core.tensor(g)
        params.append(p)
    return params, [g for g, has in zip(grads, with_grad) if has]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_scales_all_gradients_together(norm_type, max_norm):
    params, grads = _params(1)
    flat = np.concatenate([g.ravel() for g in grads]).astype(np.float64)
    expected = np.abs(flat).max() if norm_type == math.inf else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert total.shape == () and total.dtype == core.float32
    assert total.item() == pytest.approx(expected, rel=1e-5)
    scale = min(1.0, max_norm / (expected + 1e-6))
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * scale, rtol=1e-5, atol=1e-7)


def test_parameters_without_a_gradient_are_skipped_and_one_tensor_is_accepted():
    params, grads = _params(2, with_grad=(True, False, True))
    total = nn.utils.clip_grad_norm_(iter(params), 0.1)  # any iterable, as model.parameters() is a generator
    flat = np.concatenate([g.ravel() for g in grads])
    assert total.item() == pytest.approx(np.linalg.norm(flat), rel=1e-5) and params[1].grad is None
    assert np.linalg.norm(np.concatenate([p.grad.numpy().ravel() for p in (params[0], params[2])])) == \
        pytest.approx(0.1, rel=1e-4)
    single = nn.Parameter(core.tensor([3.0, 4.0]))
    single.grad = core.tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(single, 1.0).item() == pytest.approx(5.0)
    assert single.grad.tolist() == pytest.approx([0.6, 0.8], rel=1e-5)
    assert nn.utils.clip_grad_norm_([nn.Parameter(core.zeros(2))], 1.0).item() == 0.0  # no gradient at all


def test_float64_gradients_give_a_float64_norm():
    params, grads = _params(3, dtype=np.float64)
    total = nn.utils.clip_grad_norm_(params, 1.0)
    assert total.dtype == core.float64
    assert total.item() == pytest.approx(np.linalg.norm(np.concatenate([g.ravel() for g in grads])), rel=1e-12)


@pytest.mark.parametrize("first, second, total", [
    ("bfloat16", "float32", "float32"), ("float32", "bfloat16", "float32"), ("bfloat16", "float16", "float32"),
    ("float16", "float16", "float16"), ("float32", "float64", "float64"),
])
def test_gradients_of_mixed_dtypes_give_the_norm_in_their_promoted_dtype(first, second, total):
    a, b = nn.Parameter(core.zeros(1)), nn.Parameter(core.zeros(4))
    a.grad = core.full((1,), 3.0).to(getattr(core, first))
    b.grad = core.full((4,), 2.0).to(getattr(core, second))
    norm = nn.utils.clip_grad_norm_([a, b], 1e3)
    assert norm.dtype == getattr(core, total) and norm.item() == 5.0


def test_a_non_finite_norm_raises_only_when_asked():
    params, _ = _params(4)
    params[0].grad[0, 0] = math.inf
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert math.isinf(params[0].grad[0, 0].item())  # nothing scaled before the error
    assert math.isinf(nn.utils.clip_grad_norm_(params, 1.0).item())


def test_clip_grad_value_clamps_in_place_and_refuses_non_tensors():
    params, grads = _params(5)
    nn.utils.clip_grad_value_(params, 0.5)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -0.5, 0.5))
    with pytest.raises(TypeError, match="parameters must be tensors, got list"):
        nn.utils.clip_grad_norm_([[1.0]], 1.0)


def test_a_training_step_with_clipping_keeps_the_update_bounded():
    net = nn.Linear(8, 1)
    opt = core.optim.SGD(net.parameters(), lr=1.0)
    before = [p.detach().clone() for p in net.parameters()]
    (net(core.full((4, 8), 1e3)) ** 2).sum().backward()
    assert nn.utils.clip_grad_norm_(net.parameters(), max_norm=0.01).item() > 1e3
    opt.step()
    moved = np.sqrt(sum(((p.detach() - b) ** 2).sum().item() for p, b in zip(net.parameters(), before)))
    assert moved == pytest.approx(0.01, rel=1e-3)
