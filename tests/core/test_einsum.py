"""core.einsum: forward against numpy's einsum in float64 (three memory layouts) and gradients by finite
differences, for contractions, traces and diagonals, implicit output, ellipses and broadcast sizes; the errors
for malformed equations and shapes that do not fit; and PyTorch's values where numpy's einsum differs."""
import numpy as np
import pytest

import core
from tests.core.harness import Spec, check_forward, check_grad


def np_sum_broadcast(eq, *arrays):
    """numpy's einsum after broadcasting size-1 dims of a letter against its size elsewhere, which numpy refuses."""
    terms = eq.split("->")[0].split(",")
    size = {}
    for term, a in zip(terms, arrays):
        for ch, n in zip(term, a.shape):
            size[ch] = max(size.get(ch, 1), n)
    full = [np.broadcast_to(a, [size[ch] for ch in term]) for term, a in zip(terms, arrays)]
    return np.einsum(eq, *full)


CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ji,kj->ik", [(3, 2), (4, 3)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ijk,ikl->jl", [(2, 3, 4), (2, 4, 5)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("iii->i", [(3, 3, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("i,i->", [(4,), (4,)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("i,j->ij", [(2,), (3,)]),
    ("bi,bj->bij", [(2, 3), (2, 4)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("Ab,ab", [(2, 3), (4, 3)]),
    ("...ij,...jk", [(5, 1, 2, 3), (4, 3, 2)]),
    ("i...->...i", [(2, 3, 4)]),
    ("...,...", [(2, 3), (3,)]),
    ("b...i,bi->b...", [(2, 3, 4), (2, 4)]),
    (" ij , jk -> ik ", [(2, 3), (3, 4)]),
    ("", [()]),
]


def spec(eq, shapes):
    return Spec("einsum", lambda *ts: core.einsum(eq, *ts), lambda *arrays: np.einsum(eq.replace(" ", ""), *arrays),
                shapes, id=f"einsum[{eq.strip() or 'scalar'}]")


SPECS = [spec(eq, shapes) for eq, shapes in CASES] + [
    Spec("einsum", lambda a, b: core.einsum("i,i->i", a, b), lambda a, b: np_sum_broadcast("i,i->i", a, b),
         [(1,), (3,)], id="einsum[size-1 batch broadcasts]"),
    Spec("einsum", lambda a, b: core.einsum("ij,jk", a, b), lambda a, b: np_sum_broadcast("ij,jk", a, b),
         [(2, 1), (3, 4)], id="einsum[size-1 summed dim broadcasts]"),
    Spec("einsum", lambda a: core.einsum("...i->i", a), lambda a: a.sum(0), [(2, 3)],
         id="einsum[ellipsis left out of the output is summed]"),
    Spec("einsum", lambda a, b: core.einsum("ij,jk->ik", [a, b]),
         lambda a, b: a @ b, [(2, 3), (3, 4)], id="einsum[operands as a list]"),
]


@pytest.mark.parametrize("s", SPECS, ids=[s.id for s in SPECS])
def test_einsum_matches_numpy(s):
    check_forward(s)


@pytest.mark.parametrize("s", SPECS, ids=[s.id for s in SPECS])
def test_einsum_gradient_matches_finite_differences(s):
    check_grad(s)


def test_empty_dims_give_zeros():
    assert core.einsum("ij,ij->", core.ones(2, 0), core.ones(2, 0)).item() == 0.0
    assert core.einsum("ij,jk->ik", core.ones(2, 0), core.ones(0, 3)).tolist() == [[0.0] * 3] * 2


def test_integer_operands_contract_exactly():
    a = np.arange(6).reshape(2, 3)
    b = np.arange(12).reshape(3, 4) - 5
    out = core.einsum("ij,jk->ik", core.tensor(a), core.tensor(b))
    assert out.dtype == core.int64
    assert out.tolist() == (a @ b).tolist()


def test_a_contraction_runs_on_matmul():
    a = core.randn(2, 3, requires_grad=True)
    b = core.randn(3, 4, requires_grad=True)
    out = core.einsum("ij,jk->ik", a, b)
    assert out._grad_fn_inputs() == ["matmul"]


def test_an_identity_equation_gives_a_new_tensor_viewing_the_same_storage():
    x = core.randn(2, 3)
    out = core.einsum("ij->ij", x)
    assert out is not x and out._shares_storage(x)


@pytest.mark.parametrize("eq, shapes, error, message", [
    ("ij,jk->ik", [(2, 3)], ValueError, r"the equation 'ij,jk->ik' has 2 operand term\(s\) but 1 operand\(s\)"),
    ("ij", [(2, 3, 4)], ValueError, r"operand 0 has shape \(2, 3, 4\) \(3 dims\) but its subscripts 'ij' in 'ij' "
                                    r"name 2; add '...' to cover the others"),
    ("ijk", [(2, 3)], ValueError, r"operand 0 has shape \(2, 3\) \(2 dims\) but its subscripts 'ijk'"),
    ("ij...k", [(2, 3)], ValueError, r"name 3 besides the ellipsis"),
    ("i1", [(2, 3)], ValueError, r"invalid subscript '1' in operand 0 of 'i1'; subscripts are the letters"),
    ("i.j", [(2, 3)], ValueError, r"a '.' in operand 0 of 'i.j' is not part of an ellipsis"),
    ("i......", [(2, 3)], ValueError, r"operand 0 of 'i......' has more than one ellipsis"),
    ("ij->k", [(2, 3)], ValueError, r"output subscript 'k' of 'ij->k' appears in no operand"),
    ("ij->ii", [(2, 2)], ValueError, r"output subscript 'i' appears more than once in 'ij->ii'"),
    ("i,j->i->j", [(2,), (2,)], ValueError, r"invalid subscript '-' in the output"),
    ("ii", [(3, 4)], ValueError, r"subscript 'i' is repeated in operand 0 of 'ii' \(shape \(3, 4\)\) but its dims "
                                 r"have sizes 3 and 4"),
    ("ij,jk", [(2, 3), (4, 5)], ValueError, r"subscript 'j' of 'ij,jk' has size 4 in operand 1 \(shape \(4, 5\)\) "
                                            r"but 3 in operand 0 \(shape \(2, 3\)\); sizes must match or be 1"),
    ("i...,i...", [(5, 2), (5, 3)], ValueError, r"dimension 0 of '...' of 'i...,i...' has size 3 in operand 1"),
])
def test_malformed_equations_and_shapes_are_refused_with_the_reason(eq, shapes, error, message):
    with pytest.raises(error, match=message):
        core.einsum(eq, *[core.ones(*s) for s in shapes])


def test_wrong_argument_types_are_refused():
    with pytest.raises(TypeError, match="einsum: operand 1 must be a Tensor, got list"):
        core.einsum("i,i", core.ones(2), [1.0, 2.0])
    with pytest.raises(TypeError, match="operands must have one dtype, got core.float32 \\(operand 0\\) and "
                                        "core.float64 \\(operand 1\\)"):
        core.einsum("i,i", core.ones(2), core.ones(2, dtype=core.float64))
    with pytest.raises(TypeError, match="the equation must be a string"):
        core.einsum(core.ones(2), [0])
    with pytest.raises(ValueError, match="at least one operand"):
        core.einsum("i")


def test_matches_pytorch_values_and_gradients():
    torch = pytest.importorskip("torch")
    rs = np.random.default_rng(5)
    cases = CASES + [("i,i->i", [(1,), (3,)]), ("ij,jk", [(2, 1), (3, 4)]), ("...i->i", [(2, 3)])]
    for eq, shapes in cases:
        arrays = [rs.standard_normal(s) for s in shapes]
        ours = [core.tensor(a, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        out, ref = core.einsum(eq, *ours), torch.einsum(eq, *theirs)
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=eq)
        cot = rs.standard_normal(ref.shape)
        (out * core.tensor(cot)).sum().backward()
        (ref * torch.tensor(cot)).sum().backward()
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=eq)
