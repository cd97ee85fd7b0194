"""Publishing an in-memory core.nn.Module with its config, then loading it back through the registry."""
import numpy as np
import pytest

import core
import core.nn as nn
import hub
from core.io import load_file
from zoo.architectures import ARCHITECTURES, register_architecture

ARCH = "test-core-linear"


def _build(folder, config):
    layer = nn.Linear(config["in"], config["out"])
    layer.load_state_dict(load_file(folder / "model.safetensors"))
    return layer


if ARCH not in ARCHITECTURES:
    register_architecture(ARCH)(_build)


def test_publish_a_module_with_its_config_and_load_it_back():
    core.manual_seed(0)
    layer = nn.Linear(4, 2)
    info = hub.publish(layer, "test/module", config={"architecture": ARCH, "in": 4, "out": 2}, card="# linear\n",
                       progress=False)
    assert info.created and sorted(f.path for f in info.files) == ["README.md", "config.json", "model.safetensors"]
    assert info.source == "module" and info.card == "# linear\n"
    loaded = hub.load("test/module")
    x = core.randn(3, 4)
    with core.no_grad():
        np.testing.assert_array_equal(loaded(x).numpy(), layer(x).numpy())
    again = hub.publish(layer, "test/module", config={"architecture": ARCH, "in": 4, "out": 2}, card="# linear\n",
                        progress=False)
    assert (again.version, again.created) == (1, False)


def test_a_module_without_a_config_is_refused():
    with pytest.raises(hub.errors.InvalidModel, match="needs config="):
        hub.publish(nn.Linear(2, 2), "test/module")
    with pytest.raises(hub.errors.InvalidModel, match="config= and card= are for publishing a module"):
        hub.publish("some/folder", "test/module", config={"architecture": ARCH})
