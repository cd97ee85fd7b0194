"""core.nn.Linear's inference path: the weight packed once, bias and activation in the GEMM epilogue, and the
packed copy dropped whenever the weight may have changed."""
import sys

import numpy as np
import pytest

import core
import core.nn as nn
from core import _C
from core.io import load, release_file_pages, save
from core.nn import linear


def gelu_np(x):
    from math import erf
    return x * 0.5 * (1.0 + np.vectorize(erf)(x / np.sqrt(2.0)))


def reference(fc, x, act="none"):
    w = fc.weight.detach().numpy().astype(np.float64)
    b = fc.bias.detach().numpy().astype(np.float64)
    y = x.astype(np.float64) @ w.T + b
    return {"none": y, "relu": np.maximum(y, 0), "gelu": gelu_np(y)}[act]


@pytest.fixture(autouse=True)
def _seed():
    core.manual_seed(0)


@pytest.mark.parametrize("rows", [1, 2, 5, 8, 13, 70])
@pytest.mark.parametrize("act", ["none", "relu", "gelu"])
def test_eval_no_grad_linear_matches_reference_for_small_and_odd_rows(rows, act):
    fc = nn.Linear(37, 53).eval()
    x = np.random.RandomState(rows).randn(2, rows, 37).astype(np.float32)
    with core.no_grad():
        y = fc.forward_act(core.tensor(x), act).numpy()
    assert y.shape == (2, rows, 53)
    np.testing.assert_allclose(y, reference(fc, x, act), rtol=1e-5, atol=1e-5)


def test_eval_linear_reuses_one_packed_weight_between_calls():
    fc = nn.Linear(16, 8).eval()
    with core.no_grad():
        fc(core.randn(3, 16))
        first = fc.__dict__["_packed"][1]
        fc(core.randn(5, 16))
        assert fc.__dict__["_packed"][1] is first


def test_training_mode_and_grad_mode_use_the_differentiable_path():
    fc = nn.Linear(6, 4)
    x = core.randn(3, 6, requires_grad=True)
    fc(x).sum().backward()
    assert x.grad is not None and "_packed" not in fc.__dict__
    fc.eval()
    fc(core.randn(3, 6))  # grad enabled: no packing
    assert "_packed" not in fc.__dict__


def test_load_state_dict_in_place_refreshes_the_packed_weight():
    fc = nn.Linear(5, 3).eval()
    x = core.randn(2, 5)
    with core.no_grad():
        fc(x)
        new = {"weight": core.randn(3, 5), "bias": core.randn(3)}
        fc.load_state_dict(new)
        y = fc(x).numpy()
    np.testing.assert_allclose(y, reference(fc, x.numpy()), rtol=1e-5, atol=1e-5)


def test_train_then_eval_refreshes_the_packed_weight_after_an_optimizer_step():
    fc = nn.Linear(4, 2).eval()
    x = core.randn(3, 4)
    with core.no_grad():
        fc(x)
    fc.train()
    with core.no_grad():
        fc.weight.mul_(2.0)
    fc.eval()
    with core.no_grad():
        y = fc(x).numpy()
    np.testing.assert_allclose(y, reference(fc, x.numpy()), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("write", ["mul_", "fill_", "zero_", "copy_", "setitem_row", "view_add_", "optimizer"])
def test_an_in_place_write_to_the_weight_in_eval_mode_re_packs_it(write):
    fc = nn.Linear(6, 5).eval()
    x = core.randn(4, 6)
    with core.no_grad():
        fc(x)
        first = fc.__dict__["_packed"][1]
        w = fc.weight
        if write == "mul_":
            w.mul_(-3.0)
        elif write == "fill_":
            w.fill_(0.25)
        elif write == "zero_":
            w.zero_()
        elif write == "copy_":
            w.copy_(core.randn(5, 6))
        elif write == "setitem_row":
            w[2] = core.randn(6)
        elif write == "view_add_":
            w[:, 1:3].add_(1.0)  # through a view: views share the storage's version
    if write == "optimizer":  # in eval mode, as a fine-tuning loop that never calls train() would
        fc.weight.grad = core.ones(5, 6)
        core.optim.SGD([fc.weight], lr=0.5).step()
    with core.no_grad():
        y = fc(x).numpy()
        assert fc.__dict__["_packed"][1] is not first
        again = fc.__dict__["_packed"][1]
        fc(x)
        assert fc.__dict__["_packed"][1] is again  # no further write: the new packing is kept
    np.testing.assert_allclose(y, reference(fc, x.numpy()), rtol=1e-5, atol=1e-5)


def test_version_counts_in_place_writes_and_is_shared_by_views():
    t = core.zeros(3, 4)
    row = t[1]
    assert t._version == row._version == 0
    t.add_(1.0)
    row.fill_(2.0)
    t[0] = core.ones(4)
    assert t._version == row._version == 3
    assert (t + 1)._version == 0  # an out-of-place result is a new storage


def test_linear_packed_rejects_a_wrong_feature_count_with_the_shapes():
    packed = _C.pack_linear_weight(core.randn(4, 6))
    with pytest.raises(ValueError, match=r"last input dim must be 6"):
        _C.linear_packed(core.randn(2, 5), packed, None, "none")
    with pytest.raises(ValueError, match="epilogue must be one of"):
        _C.linear_packed(core.randn(2, 6), packed, None, "swish")


def test_float64_linear_in_eval_mode_keeps_the_exact_path():
    fc = nn.Linear(3, 2).double().eval()
    x = core.tensor(np.arange(6.0).reshape(2, 3))
    with core.no_grad():
        y = fc(x).numpy()
    assert y.dtype == np.float64 and "_packed" not in fc.__dict__
    np.testing.assert_allclose(y, reference(fc, x.numpy()), rtol=1e-12)


def test_a_weight_larger_than_a_pack_block_is_packed_in_blocks_with_the_same_result(monkeypatch):
    fc = nn.Linear(37, 300).eval()
    x = core.randn(4, 37)
    with core.no_grad():
        whole = fc.forward_act(x, "gelu").numpy()
        assert len(fc.__dict__["_packed"][1]) == 1
        monkeypatch.setattr(linear, "PACK_BLOCK_BYTES", 64 * 37 * 4)  # 64 output rows per block
        fc.eval()
        blocked = fc.forward_act(x, "gelu").numpy()
        assert [rows for rows, _ in fc.__dict__["_packed"][1]] == [slice(s, s + 64) for s in range(0, 300, 64)]
    np.testing.assert_array_equal(blocked, whole)
    np.testing.assert_allclose(blocked, reference(fc, x.numpy(), "gelu"), rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/pagemap")
def test_packing_a_memory_mapped_weight_releases_its_pages_and_keeps_state_dict_and_the_file(tmp_path):
    fc = nn.Linear(1024, 512)
    save(fc, tmp_path / "fc.safetensors")
    original = {k: v.numpy().copy() for k, v in fc.state_dict().items()}
    served = nn.Linear(1024, 512)
    served.load_state_dict(load(tmp_path / "fc.safetensors"), assign=True)
    served.eval()
    x = core.randn(3, 1024)
    with core.no_grad():
        y = served(x).numpy()
    assert release_file_pages(served.weight) == 0  # packing already handed the pages back
    np.testing.assert_allclose(y, reference(fc, x.numpy()), rtol=1e-5, atol=1e-5)
    for key, value in served.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), original[key])
    with core.no_grad():
        served.weight.mul_(2.0)  # in place after the release: a private copy, the file stays as it was
    served.eval()
    with core.no_grad():
        np.testing.assert_allclose(served(x).numpy(), reference(served, x.numpy()), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(load(tmp_path / "fc.safetensors")["weight"].numpy(), original["weight"])


def test_packed_weight_rejects_a_weight_that_is_not_2d():
    with pytest.raises(ValueError, match=r"must be 2-d \[out, in\], got shape \(6,\)"):
        linear.packed_weight(nn.Linear(2, 3), core.randn(6))


def half_exact_linear(out_f, in_f):
    fc = nn.Linear(in_f, out_f).eval()
    with core.no_grad():
        fc.weight.copy_(fc.weight.to(core.float16).float())  # as a float16 checkpoint widened on import
    return fc


@pytest.mark.parametrize("first_rows", [1, 5, 64])
def test_a_float16_exact_weight_first_used_on_few_rows_is_kept_in_float16_with_the_same_bits(first_rows, monkeypatch):
    monkeypatch.setattr(linear, "PACK_BLOCK_BYTES", 256 * 24 * 4)  # 4 blocks, as the vocabulary projection
    small, large = half_exact_linear(1000, 24), half_exact_linear(1000, 24)
    large.load_state_dict(small.state_dict())
    xs = [core.randn(rows, 24) for rows in (first_rows, 1, 3, 65, 200)]
    with core.no_grad():
        small(xs[0])
        large(core.randn(65, 24))
        blocks = small.__dict__["_packed"][1]
        assert len(blocks) == 4 and all(isinstance(p, _C.HalfWeight) for _, p in blocks)
        assert all(isinstance(p, _C._kernels.PackedWeight) for _, p in large.__dict__["_packed"][1])
        for x in xs:
            np.testing.assert_array_equal(small.forward_act(x, "gelu").numpy(), large.forward_act(x, "gelu").numpy())
    nr = core.backend_info()["gemm_tile"][1]  # each block's rows padded to whole slivers of the tile's width
    padded = sum(-(-(min(256, 1000 - start)) // nr) * nr for start in range(0, 1000, 256))
    assert sum(p.nbytes for _, p in blocks) <= padded * 24 * 2  # half the float32 bytes


def test_a_weight_that_is_not_float16_exact_keeps_the_float32_packing():
    fc = nn.Linear(24, 10).eval()
    with core.no_grad():
        y = fc(core.ones(1, 24)).numpy()
    assert isinstance(fc.__dict__["_packed"][1][0][1], _C._kernels.PackedWeight)
    np.testing.assert_allclose(y, reference(fc, np.ones((1, 24), np.float32)), rtol=1e-5, atol=1e-5)


def test_a_tuple_of_weights_packs_as_their_concatenation_with_the_same_bits():
    parts = [nn.Linear(24, n).eval() for n in (16, 24, 40)]
    holder = nn.Module()
    x = core.randn(70, 24)
    with core.no_grad():
        fused = linear.packed_linear(holder, x, tuple(p.weight for p in parts),
                                     core.cat([p.bias for p in parts]), "gelu").numpy()
        separate = np.concatenate([p.forward_act(x, "gelu").numpy() for p in parts], axis=1)
        np.testing.assert_array_equal(fused, separate)
        first = holder.__dict__["_packed"]
        parts[1].weight = nn.Parameter(core.randn(24, 24))  # a new tensor in one part re-packs the whole
        linear.packed_linear(holder, x, tuple(p.weight for p in parts), None)
        assert holder.__dict__["_packed"] is not first


@pytest.mark.parametrize("blocks", [False, True])
def test_forward_act_adds_the_residual_after_the_activation_in_the_epilogue_and_eagerly(monkeypatch, blocks):
    fc = nn.Linear(37, 300).eval()
    x, res = core.randn(2, 5, 37), core.randn(2, 5, 300)
    if blocks:
        monkeypatch.setattr(linear, "PACK_BLOCK_BYTES", 64 * 37 * 4)  # five packed blocks, the residual added after
    with core.no_grad():
        fused = fc.forward_act(x, "gelu", res).numpy()
        plain = fc.forward_act(x, "gelu").numpy()
    np.testing.assert_array_equal(fused, plain + res.numpy())
    fc.train()  # the eager ops, with autograd
    x.requires_grad_(True)
    res.requires_grad_(True)
    eager = fc.forward_act(x, "gelu", res)
    np.testing.assert_allclose(eager.detach().numpy(), fused, rtol=1e-5, atol=1e-5)
    eager.sum().backward()
    np.testing.assert_array_equal(res.grad.numpy(), np.ones((2, 5, 300), np.float32))
    assert x.grad is not None and fc.weight.grad is not None


def test_forward_act_refuses_a_residual_of_another_shape_on_both_paths():
    fc = nn.Linear(3, 4)
    x, res = core.randn(2, 3), core.randn(4)  # would broadcast, but a skip connection has the output's shape
    with pytest.raises(ValueError, match=r"residual of shape \(4,\) does not match the output \(2, 4\)"):
        fc.forward_act(x, "none", res)
    fc.eval()
    refused = r"residual of shape \(4,\) does not match the output \(2, 4\)"
    with core.no_grad(), pytest.raises(ValueError, match=refused):
        fc.forward_act(x, "none", res)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_forward_act_runs_the_modules_hooks_on_the_plain_linear_output(mode):
    fc = nn.Linear(6, 5).eval() if mode == "eval" else nn.Linear(6, 5)
    x, res = core.randn(3, 6), core.randn(3, 5)
    seen = []
    fc.register_forward_pre_hook(lambda m, args: seen.append(("pre", args[0].shape)))
    handle = fc.register_forward_hook(lambda m, args, out: seen.append(("out", out.detach().numpy().copy())))
    with core.no_grad():
        y = fc.forward_act(x, "relu", res).numpy()
    plain = reference(fc, x.numpy())
    assert seen[0] == ("pre", (3, 6))
    np.testing.assert_allclose(seen[1][1], plain, rtol=1e-5, atol=1e-5)  # before the activation and the residual
    np.testing.assert_allclose(y, np.maximum(plain, 0) + res.numpy(), rtol=1e-5, atol=1e-5)
    handle.remove()
    fc.register_forward_hook(lambda m, args, out: out * 0)  # a hook's replacement output goes on through the epilogue
    with core.no_grad():
        np.testing.assert_allclose(fc.forward_act(x, "relu", res).numpy(), res.numpy(), rtol=0, atol=0)
