"""Module API: registration, traversal, modes, state dicts and their errors, dtype conversion, repr."""
from collections import OrderedDict

import numpy as np
import pytest

import core
import core.nn as nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.register_buffer("running", core.ones(3))
        self.register_buffer("scratch", core.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc(x) * self.running


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(3, 2, bias=False))
        self.scale = nn.Parameter(core.tensor(2.0))

    def forward(self, x):
        return self.head(self.block(x)) * self.scale


def test_named_parameters_lists_every_parameter_once_in_registration_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "block.fc.weight", "block.fc.bias", "head.1.weight"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())


def test_shared_parameter_is_listed_once():
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(net.parameters())) == 2
    assert [n for n, _ in net.named_modules()] == ["", "0", "1"]


def test_modules_children_and_named_modules():
    net = Net()
    names = [n for n, _ in net.named_modules()]
    assert names == ["", "block", "block.fc", "head", "head.0", "head.1"]
    assert [type(m).__name__ for m in net.children()] == ["Block", "Sequential"]
    assert next(iter(net.modules())) is net
    assert net.get_submodule("head.1") is net.head[1]
    with pytest.raises(AttributeError, match="no submodule 'nope'"):
        net.get_submodule("block.nope")


def test_buffers_persistent_and_not():
    net = Net()
    assert [n for n, _ in net.named_buffers()] == ["block.running", "block.scratch"]
    sd = net.state_dict()
    assert "block.running" in sd and "block.scratch" not in sd


def test_state_dict_names_and_shares_memory_without_grad():
    net = Net()
    sd = net.state_dict()
    # PyTorch order: a module's own parameters, then its own buffers, then its children
    assert list(sd) == ["scale", "block.running", "block.fc.weight", "block.fc.bias", "head.1.weight"]
    w = sd["block.fc.weight"]
    assert not w.requires_grad and w._shares_storage(net.block.fc.weight)


def test_state_dict_round_trip_restores_outputs():
    core.manual_seed(1)
    a, b = Net(), Net()
    x = core.randn(5, 4)
    assert not np.array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())


def test_load_state_dict_copies_values_not_references():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    with core.no_grad():
        a.block.fc.weight.fill_(7.0)
    assert float(b.block.fc.weight.detach().numpy()[0, 0]) != 7.0


def test_load_state_dict_strict_names_missing_and_unexpected_keys():
    net = Net()
    sd = net.state_dict()
    del sd["scale"]
    sd["block.extra"] = core.zeros(1)
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert "Missing key(s) in state_dict: 'scale'" in msg
    assert "Unexpected key(s) in state_dict: 'block.extra'" in msg
    assert "Net" in msg


def test_load_state_dict_non_strict_reports_keys_and_loads_the_rest():
    a, b = Net(), Net()
    sd = a.state_dict()
    del sd["scale"]
    sd["junk"] = core.zeros(1)
    result = b.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["junk"]
    np.testing.assert_array_equal(b.block.fc.weight.detach().numpy(), a.block.fc.weight.detach().numpy())


def test_shape_mismatch_is_refused_even_when_not_strict_and_nothing_is_copied():
    net = Net()
    before = net.block.fc.bias.detach().numpy().copy()
    sd = net.state_dict()
    sd = {k: core.zeros_like(v) for k, v in sd.items()}
    sd["block.fc.weight"] = core.zeros(4, 4)
    with pytest.raises(RuntimeError, match=r"size mismatch for block.fc.weight: .*\(4, 4\).*\(3, 4\)"):
        net.load_state_dict(sd, strict=False)
    np.testing.assert_array_equal(net.block.fc.bias.detach().numpy(), before)


@pytest.mark.parametrize("change, kwargs, missing, unexpected, mismatched, message", [
    ({"bias": None, "extra": core.zeros(1)}, {}, ["bias"], ["extra"], [],
     r"Missing key\(s\) in state_dict: 'bias'\n\tUnexpected key\(s\) in state_dict: 'extra'"),
    ({"weight": core.zeros(3, 3)}, {}, [], [], ["weight"], r"size mismatch for weight: .*\(3, 3\).*\(2, 3\)"),
    ({"weight": core.ones(2, 3, dtype=core.int32)}, {"assign": True}, [], [], ["weight"],
     r"dtype mismatch for weight: cannot assign a core.int32 tensor to a parameter that requires grad"),
    ({"weight": np.full((2, 3), "w")}, {}, [], [], ["weight"], r"dtype mismatch for weight: numpy dtype <U1"),
    ({"weight": [[0.0] * 3] * 2, "bias": core.zeros(5)}, {"strict": False}, [], [], ["weight", "bias"],
     r"value of 'weight' is a list, not a Tensor\n\tsize mismatch for bias"),
])
def test_every_misfit_is_a_state_dict_mismatch_naming_its_keys_and_nothing_is_loaded(change, kwargs, missing,
                                                                                    unexpected, mismatched, message):
    # integer weights given with assign=True were a TypeError from Parameter, and a numpy dtype core lacks one from
    # as_tensor: callers could not tell weights that do not fit from a bug without catching every TypeError
    fc = nn.Linear(3, 2)
    before = {k: v.detach().numpy().copy() for k, v in fc.state_dict().items()}
    state = {**{k: core.zeros_like(v) for k, v in fc.state_dict().items()}, **change}
    state = {k: v for k, v in state.items() if v is not None}
    with pytest.raises(nn.StateDictMismatch, match=message) as raised:
        fc.load_state_dict(state, **kwargs)
    assert isinstance(raised.value, RuntimeError)  # what PyTorch raises, so code written for it still catches it
    assert (raised.value.missing_keys, raised.value.unexpected_keys, raised.value.mismatched_keys) == \
        (missing, unexpected, mismatched)
    for key, value in fc.state_dict().items():
        np.testing.assert_array_equal(value.detach().numpy(), before[key])


def test_load_state_dict_accepts_numpy_and_converts_dtype():
    fc = nn.Linear(2, 2)
    fc.load_state_dict({"weight": np.eye(2), "bias": core.tensor([1, 2], dtype=core.int64)})
    assert fc.weight.dtype == core.float32
    np.testing.assert_array_equal(fc.weight.detach().numpy(), np.eye(2, dtype=np.float32))
    np.testing.assert_array_equal(fc.bias.detach().numpy(), [1.0, 2.0])


def test_load_state_dict_assign_takes_the_tensors_themselves():
    fc = nn.Linear(2, 2)
    w = core.ones(2, 2)
    fc.load_state_dict({"weight": w, "bias": core.zeros(2)}, assign=True)
    assert isinstance(fc.weight, nn.Parameter) and fc.weight._shares_storage(w)


def test_train_and_eval_reach_every_submodule_and_return_self():
    net = Net()
    assert net.training and net.head[0].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("no")


def test_apply_visits_children_before_parent():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Block", "ReLU", "Linear", "Sequential", "Net"]


def test_apply_initialises_layers():
    net = Net()
    net.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert float(net.block.fc.weight.detach().abs().sum().item()) == 0.0


def test_zero_grad_sets_none_or_zero():
    net = Net()
    net(core.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum().item()) == 0.0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_register_parameter_none_is_declared_but_not_listed():
    fc = nn.Linear(3, 2, bias=False)
    assert fc.bias is None
    assert [n for n, _ in fc.named_parameters()] == ["weight"]
    assert list(fc.state_dict()) == ["weight"]


def test_assigning_a_plain_tensor_to_a_parameter_slot_is_refused():
    fc = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        fc.weight = core.zeros(2, 3)
    with pytest.raises(TypeError, match="Parameter"):
        fc.register_parameter("other", core.zeros(1))


def test_registration_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_reassigning_an_attribute_moves_it_between_tables():
    m = nn.Module()
    m.x = nn.Parameter(core.zeros(1))
    m.x = nn.Linear(1, 1)
    assert "x" not in m._parameters and "x" in m._modules
    del m.x
    assert not hasattr(m, "x")


def test_to_float64_converts_parameters_and_buffers():
    net = Net().to(core.float64)
    assert all(p.dtype == core.float64 for p in net.parameters())
    assert all(b.dtype == core.float64 for b in net.buffers())
    assert net(core.randn(2, 4, dtype=core.float64)).dtype == core.float64
    with pytest.raises(TypeError, match="floating point"):
        net.to(core.int64)
    with pytest.raises(ValueError, match="CPU"):
        net.to("cuda")


def test_requires_grad_false_freezes_parameters():
    net = Net().requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_repr_matches_pytorch_layout():
    net = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Sequential(nn.Linear(8, 2, bias=False)))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (1): GELU(approximate='none')\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=8, out_features=2, bias=False)\n"
        "  )\n"
        ")")


def test_parameter_repr_and_identity():
    p = nn.Parameter(core.zeros(2))
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert nn.Parameter(core.zeros(2), requires_grad=False).requires_grad is False
    with pytest.raises(TypeError, match="floating point"):
        nn.Parameter(core.zeros(2, dtype=core.int64))


def test_forward_not_defined_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_sequential_indexing_slicing_and_ordered_dict():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c
    assert list(seq[1:]) == [b, c]
    with pytest.raises(IndexError):
        seq[3]
    named = nn.Sequential(OrderedDict([("first", a), ("act", b)]))
    assert named.first is a and [n for n, _ in named.named_children()] == ["first", "act"]
    del seq[0]
    assert [n for n, _ in seq.named_children()] == ["0", "1"] and seq[0] is b
    x = core.randn(4, 2)
    np.testing.assert_array_equal(nn.Sequential(a, b, c)(x).detach().numpy(), c(b(a(x))).detach().numpy())


def test_module_list_registers_and_indexes():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.ReLU())
    layers.insert(0, nn.Identity())
    assert isinstance(layers[0], nn.Identity) and isinstance(layers[-1], nn.ReLU)
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3", "4"]
    del layers[0]
    assert isinstance(layers[0], nn.Linear) and len(layers) == 4
    assert "1.weight" in layers.state_dict()


def test_module_dict_registers_and_reports_missing_keys():
    heads = nn.ModuleDict({"cls": nn.Linear(4, 2), "reg": nn.Linear(4, 1)})
    assert list(heads) == ["cls", "reg"] and "cls" in heads
    assert [n for n, _ in heads.named_parameters()] == ["cls.weight", "cls.bias", "reg.weight", "reg.bias"]
    with pytest.raises(KeyError, match="'box'"):
        heads["box"]
    assert isinstance(heads.pop("reg"), nn.Linear) and len(heads) == 1


def test_parameter_list_and_dict_register_their_parameters_and_train():
    scales = nn.ParameterList([nn.Parameter(core.ones(2)), core.zeros(3)])  # a tensor is wrapped into a Parameter
    assert len(scales) == 2 and isinstance(scales[1], nn.Parameter) and scales[-1].shape == (3,)
    scales.append(core.ones(1))
    assert [n for n, _ in scales.named_parameters()] == ["0", "1", "2"] and len(scales[1:]) == 2
    with pytest.raises(IndexError, match="index 3 is out of range for 3 parameters"):
        scales[3]
    with pytest.raises(TypeError, match="expected a Parameter or a Tensor, got str"):
        scales.append("w")
    gains = nn.ParameterDict({"text": nn.Parameter(core.ones(2))})
    gains["audio"] = core.full((2,), 3.0)
    owner = nn.Module()
    owner.scales, owner.gains = scales, gains
    assert sorted(owner.state_dict()) == ["gains.audio", "gains.text", "scales.0", "scales.1", "scales.2"]
    assert owner.get_parameter("gains.audio").tolist() == [3.0, 3.0]
    (gains["audio"] * scales[0]).sum().backward()
    assert gains["audio"].grad.tolist() == [1.0, 1.0] and scales[0].grad.tolist() == [3.0, 3.0]
    with pytest.raises(KeyError, match="no parameter 'video'"):
        gains["video"]


def test_get_parameter_and_get_buffer_follow_dotted_paths():
    net = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3))
    net[1].register_buffer("seen", core.zeros(1))
    assert net.get_parameter("0.weight") is net[0].weight and net.get_buffer("1.seen") is net[1].seen
    with pytest.raises(AttributeError, match=r"get_parameter: 0 has no parameter 'scale' \(path '0.scale'\)"):
        net.get_parameter("0.scale")
    with pytest.raises(AttributeError, match="get_buffer: Sequential has no buffer 'nope'"):
        net.get_buffer("nope")
    with pytest.raises(AttributeError, match="has no submodule '7'"):
        net.get_parameter("7.weight")


def test_loss_modules_keep_their_settings_and_match_the_functions():
    logits, target = core.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]]), core.tensor([0, 2])
    weight = core.tensor([1.0, 2.0, 0.5])
    loss = nn.CrossEntropyLoss(weight=weight, label_smoothing=0.2, reduction="sum")
    expected = nn.functional.cross_entropy(logits, target, weight=weight, label_smoothing=0.2, reduction="sum")
    assert loss(logits, target).item() == expected.item() and "weight" in loss.state_dict()
    assert nn.MSELoss()(core.zeros(2), core.tensor([1.0, 3.0])).item() == 5.0
    assert nn.MSELoss(reduction="none")(core.zeros(2), core.tensor([1.0, 3.0])).tolist() == [1.0, 9.0]
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
