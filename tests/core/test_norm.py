"""Norms beyond the numpy specs: gradients at zero, p='fro' and the other p forms, dtypes, and the errors."""
import math

import numpy as np
import pytest

import core
import core.nn.functional as F


@pytest.mark.parametrize("p", [2, 1, 3, 1.5, 0.5, -1, math.inf, -math.inf, 0])
def test_norm_gradient_of_a_zero_vector_is_zero_as_in_pytorch(p):
    x = core.zeros(2, 3, dtype=core.float64, requires_grad=True)
    x.norm(p, dim=1).sum().backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2


def test_norm_gradient_is_zero_at_zero_entries_for_p_below_one_and_finite_elsewhere():
    x = core.tensor([0.0, 3.0, -4.0], requires_grad=True)
    x.norm(0.5).backward()
    assert x.grad[0].item() == 0.0 and all(math.isfinite(v) for v in x.grad.tolist())


def test_inf_norm_splits_the_gradient_among_ties_with_their_signs():
    x = core.tensor([3.0, -3.0, 1.0], requires_grad=True)
    x.norm(math.inf).backward()
    assert x.grad.tolist() == [0.5, -0.5, 0.0]


def test_norm_p_forms_fro_and_none_are_the_two_norm():
    x = core.tensor([[3.0, 4.0], [6.0, 8.0]])
    assert core.norm(x).item() == pytest.approx(math.sqrt(125))
    assert core.norm(x, "fro", dim=(0, 1)).item() == pytest.approx(math.sqrt(125))
    assert x.norm(None, 1).tolist() == [5.0, 10.0]
    assert x.norm(1, 1, True).shape == (2, 1)
    assert x.norm(dim=1, p=1).tolist() == [7.0, 14.0]


def test_norm_propagates_nan_and_counts_it_as_nonzero():
    x = core.tensor([float("nan"), 1.0, 0.0])
    assert math.isnan(x.norm(math.inf).item()) and math.isnan(x.norm(-math.inf).item())
    assert x.norm(0).item() == 2.0


def test_norm_of_half_types_keeps_the_dtype_and_dtype_widens_first():
    x = core.ones(2, 3, dtype=core.float16)
    assert x.norm().dtype == core.float16
    assert x.norm(dtype=core.float32).dtype == core.float32
    y = core.tensor([3.0, 4.0]).to(core.bfloat16)
    assert core.linalg.vector_norm(y, dtype=core.float64).item() == 5.0


def test_norm_accumulates_in_double_so_float32_squares_do_not_overflow():
    assert core.tensor([3e30, 4e30]).norm().item() == pytest.approx(5e30, rel=1e-6)


def test_norm_is_differentiable_twice():
    x = core.tensor([1.0, 2.0, 2.0], dtype=core.float64, requires_grad=True)
    (g,) = core.autograd.grad(x.norm(3), x, create_graph=True)
    (h,) = core.autograd.grad(g.sum(), x)
    eps, base = 1e-6, np.array([1.0, 2.0, 2.0])

    def grad_sum(v):
        t = core.tensor(v, requires_grad=True)
        t.norm(3).backward()
        return t.grad.sum().item()
    numeric = [(grad_sum(base + eps * e) - grad_sum(base - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(h.numpy(), numeric, rtol=1e-5)


@pytest.mark.parametrize("call, error, message", [
    (lambda: core.tensor([1, 2]).norm(), TypeError, "expected a floating point tensor, got int64; convert it with "
     r"\.float\(\)$"),
    (lambda: core.linalg.vector_norm(core.tensor([1, 2]), dtype=core.float32), TypeError,
     "expected a floating point tensor"),
    (lambda: core.linalg.vector_norm(core.ones(2), dtype=core.int64), TypeError, "dtype must be a floating point"),
    (lambda: core.linalg.vector_norm(core.ones(2, dtype=core.float64), dtype=core.float32), TypeError,
     "would narrow"),
    (lambda: core.linalg.vector_norm(core.ones(2), "fro"), TypeError, "ord must be a number, got 'fro'"),
    (lambda: core.ones(2, 3).norm(2, 5), IndexError, r"dimension 5 is out of range .* \[-2, 1\]"),
    (lambda: core.ones(2, 3).norm(2, (0, 0)), ValueError, "dimension 0 appears more than once"),
    (lambda: core.ones(2, 3).norm("nuc"), NotImplementedError, "nuclear norm"),
    (lambda: core.ones(2, 3).norm("abc"), ValueError, "p must be a number, 'fro' or 'nuc', got 'abc'"),
    (lambda: core.ones(2, 3, 4).norm("fro", (0, 1, 2)), ValueError, "at most two dims"),
    (lambda: core.zeros(0).norm(math.inf), ValueError, r"the inf norm of an empty dimension .* shape \(0,\)"),
    (lambda: core.zeros(3, 0).norm(-1, 1), ValueError, r"-1 norm of an empty dimension is undefined \(dimension 1"),
    (lambda: F.normalize(core.tensor([[1, 2]])), TypeError, "floating point"),
])
def test_norm_errors_name_what_was_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_norms_with_an_identity_are_zero_on_empty_input():
    assert core.zeros(0).norm().item() == 0.0 and core.zeros(0).norm(0).item() == 0.0
    assert core.zeros(3, 0).norm(math.inf, 0).shape == (0,)


def test_normalize_keeps_zero_vectors_zero_and_their_gradient_is_one_over_eps():
    x = core.zeros(2, 3, requires_grad=True)
    y = F.normalize(x)
    assert y.tolist() == [[0.0] * 3] * 2
    y.sum().backward()
    assert x.grad.tolist() == [[pytest.approx(1e12)] * 3] * 2
    assert F.normalize(core.tensor([[3.0, 4.0]]), eps=10.0).tolist() == [[pytest.approx(0.3), pytest.approx(0.4)]]
