"""pickle, copy.copy and copy.deepcopy of tensors, Parameters and Modules, with PyTorch's semantics."""
import copy
import pickle

import numpy as np
import pytest

import core
from core import nn

DTYPES = [core.bool, core.int32, core.int64, core.float16, core.bfloat16, core.float32, core.float64]


def _values(t):
    return t.float().tolist() if t.dtype == core.bfloat16 else t.tolist()


def _sample(dt, shape=(3, 4)):
    x = core.tensor(np.arange(np.prod(shape)).reshape(shape) - 5.25)
    return (x > 0) if dt == core.bool else x.to(dt)


def _pickled(t):
    return pickle.loads(pickle.dumps(t))


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_pickle_and_deepcopy_give_an_independent_tensor_with_equal_values(dt, how):
    x = _sample(dt)
    y = _pickled(x) if how == "pickle" else copy.deepcopy(x)
    assert type(y) is core.Tensor and y.dtype == dt and y.shape == x.shape and _values(y) == _values(x)
    assert not y._shares_storage(x)


@pytest.mark.parametrize("how", [_pickled, copy.deepcopy], ids=["pickle", "deepcopy"])
@pytest.mark.parametrize("make", [lambda: core.tensor(2.5), lambda: core.zeros(0, 3, dtype=core.int32),
                                  lambda: core.arange(12.0).reshape(3, 4).t()[1:, ::2],
                                  lambda: core.tensor([1.0, 2.0]).expand(3, 2)],
                         ids=["0d", "empty", "non_contiguous", "expanded"])
def test_copies_of_0d_empty_and_strided_tensors_have_equal_values(how, make):
    x = make()
    y = how(x)
    assert y.shape == x.shape and y.dtype == x.dtype and y.tolist() == x.tolist()
    if how is _pickled:  # pickle carries the values alone; deepcopy keeps the layout, as PyTorch's
        assert y.is_contiguous()
    else:
        assert y.stride() == x.stride() and y.storage_offset() == x.storage_offset() and not y._shares_storage(x)


def test_pickle_keeps_requires_grad_and_loads_a_leaf_without_the_graph():
    x = core.tensor([1.0, 2.0], requires_grad=True)
    y = _pickled(x)
    assert y.requires_grad and y.is_leaf and y.grad is None
    z = _pickled(x * 2)
    assert z.requires_grad and z.is_leaf and z.grad_fn is None and z.tolist() == [2.0, 4.0]
    assert not _pickled(core.ones(2)).requires_grad


def test_deepcopy_keeps_requires_grad_grad_and_attributes():
    x = core.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    x.note = {"tag": [1]}
    y = copy.deepcopy(x)
    assert y.requires_grad and y.is_leaf and y.grad.tolist() == [3.0, 3.0] and not y.grad._shares_storage(x.grad)
    assert y.note == {"tag": [1]} and y.note is not x.note
    (y * 1).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_deepcopy_of_a_non_leaf_raises_as_pytorch():
    y = core.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
        copy.deepcopy(y)
    assert copy.deepcopy(y.detach()).tolist() == [2.0]


def test_deepcopy_keeps_shared_tensors_shared():
    a = core.ones(3)
    pair = copy.deepcopy([a, {"again": a}])
    assert pair[0] is pair[1]["again"] and pair[0] is not a


@pytest.mark.parametrize("dt", [core.float32, core.bfloat16, core.int64])
def test_deepcopy_keeps_views_of_one_storage_sharing_the_copy(dt):
    base = core.arange(12).to(dt).reshape(3, 4)
    row, col, wide = base[1], base[:, 2], base.t()
    twin = copy.deepcopy({"base": base, "row": row, "col": col, "t": wide})
    assert twin["t"].stride() == (1, 4) and twin["col"].storage_offset() == 2
    assert all(twin[k]._shares_storage(twin["base"]) for k in ("row", "col", "t"))
    assert not twin["base"]._shares_storage(base)
    twin["row"][0] = 100  # one write shows through every view of the copy, none of the originals
    assert twin["base"][1, 0].item() == 100 and twin["t"][0, 1].item() == 100 and base[1, 0].item() == 4
    assert twin["col"].tolist() == col.tolist()


def test_deepcopy_of_a_view_alone_copies_its_whole_storage_and_keeps_its_place():
    base = core.arange(10.0)
    tail = copy.deepcopy(base[7:])
    assert tail.tolist() == [7.0, 8.0, 9.0] and tail.storage_offset() == 7 and tail._storage_numel() == 10


def test_copy_shares_memory_as_pytorch_does():
    x = core.tensor([1.0, 2.0], requires_grad=True)
    y = copy.copy(x)
    assert y is not x and y._shares_storage(x) and y.requires_grad and y.is_leaf
    with core.no_grad():
        y[0] = 5.0
    assert x.tolist() == [5.0, 2.0]


@pytest.mark.parametrize("how", [_pickled, copy.deepcopy, copy.copy], ids=["pickle", "deepcopy", "copy"])
def test_a_parameter_stays_a_parameter(how):
    p = nn.Parameter(core.tensor([1.0, -2.0]))
    q = how(p)
    assert type(q) is nn.Parameter and q.requires_grad and q.tolist() == [1.0, -2.0]
    frozen = how(nn.Parameter(core.zeros(2), requires_grad=False))
    assert type(frozen) is nn.Parameter and not frozen.requires_grad


def test_unpickling_refuses_a_class_that_is_not_a_tensor():
    from core._pickling import _rebuild_tensor

    with pytest.raises(TypeError, match="not a core.Tensor class"):
        _rebuild_tensor(dict, np.zeros(2, np.float32), "float32", False, None)


def _model():
    core.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.GELU(), nn.Linear(16, 4))


def test_deepcopy_of_a_module_gives_independent_parameters_with_equal_values():
    model = _model()
    twin = copy.deepcopy(model)
    for (name, p), (name2, q) in zip(model.named_parameters(), twin.named_parameters()):
        assert name == name2 and type(q) is nn.Parameter and q.requires_grad
        assert q.tolist() == p.tolist() and not q._shares_storage(p)
    x = core.randn(5, 8)
    assert twin(x).tolist() == model(x).tolist()
    with core.no_grad():
        twin[0].weight.zero_()
    assert model[0].weight.abs().sum().item() > 0


def test_deepcopied_module_in_eval_mode_packs_its_own_weights():
    model = _model().eval()
    x = core.randn(5, 8)
    with core.no_grad():
        before = model(x).tolist()  # packs model's weights
        assert "_packed" in model[0].__dict__
        twin = copy.deepcopy(model)
        assert "_packed" not in twin[0].__dict__ and not twin.training
        assert twin(x).tolist() == before
        twin[0].weight.mul_(2)
        twin[3].weight.zero_()
        assert twin(x).tolist() != before and model(x).tolist() == before
        assert twin(x).tolist() == twin.train().eval()(x).tolist()


def test_deepcopy_of_a_module_keeps_tied_weights_tied():
    model = nn.Sequential(nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False))
    model[1].weight = model[0].weight
    twin = copy.deepcopy(model)
    assert twin[1].weight is twin[0].weight and twin[0].weight is not model[0].weight
    assert len(list(twin.parameters())) == 1


def test_pickle_of_a_module_round_trips():
    model = _model().eval()
    x = core.randn(2, 8)
    with core.no_grad():
        expected = model(x).tolist()
        loaded = pickle.loads(pickle.dumps(model))
        assert loaded(x).tolist() == expected and not loaded.training


class _LinearPickledTheOldWay(nn.Linear):
    """Pickles its state as modules did before they had forward-hook tables."""

    def __getstate__(self):
        return {k: v for k, v in super().__getstate__().items() if "hooks" not in k}


def test_a_module_pickled_before_forward_hooks_existed_loads_and_runs():
    core.manual_seed(0)
    fc = nn.Linear(3, 2)
    x = core.randn(4, 3)
    old = _LinearPickledTheOldWay(3, 2)
    old.load_state_dict(fc.state_dict())
    assert "_forward_hooks" not in old.__getstate__()
    loaded = pickle.loads(pickle.dumps(old))
    np.testing.assert_array_equal(loaded(x).detach().numpy(), fc(x).detach().numpy())
    loaded.register_forward_hook(lambda m, args, out: out * 2)
    np.testing.assert_array_equal(loaded(x).detach().numpy(), 2 * fc(x).detach().numpy())
