"""Each bad input is a clear HubError, and nothing is written: no blob, no model, no version."""
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import hub
from hub.errors import BlobCollected, HubError, InvalidModel, InvalidReference, ModelNotFound
from registry.blobstore import BlobStore
from registry.db import zoohub_home
from tests.hub.tiny_model import CATALOG_NAME, write_folder


def _nothing_written():
    assert BlobStore(zoohub_home() / "blobs").stored() == []
    assert [m.name for m in hub.list() if m.in_registry] == []


class _Boom:
    """Unpickling this would create the file `marker` — if anything ever unpickled it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_unknown_name_suggests_close_names():
    hub.publish(write_folder(Path(zoohub_home()) / "src"), "test/user", progress=False)
    with pytest.raises(ModelNotFound, match=r"unknown model 'test/usr'; did you mean 'test/user'"):
        hub.load("test/usr")
    with pytest.raises(ModelNotFound, match=r"did you mean 'test/tiny'"):  # catalog names count too
        hub.info("test/tiyn")


@pytest.mark.parametrize("ref", ["test/tiny@x", "test/tiny@0", "test/tiny:", "test/tiny@sha256:", "test/tiny@@1",
                                 "Test/Tiny", "tiny", "a/b/c", "test/tiny:Prod", "", "test/tiny@sha256:xyz",
                                 "test/tiny@99999999999999999999999"])
def test_malformed_reference_is_refused_with_the_grammar(ref):
    with pytest.raises(InvalidReference, match="malformed reference|invalid model name"):
        hub.load(ref)
    _nothing_written()


@pytest.mark.parametrize("name", ["../etc", "test/../../etc", "/abs/path", "test/.."])
def test_dot_dot_in_a_name_is_refused(tmp_path, name):
    with pytest.raises(InvalidReference):
        hub.publish(write_folder(tmp_path / "m"), name)
    with pytest.raises(InvalidReference):
        hub.load(name)
    _nothing_written()


def test_file_outside_the_folder_is_refused(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("not part of the model")
    folder = write_folder(tmp_path / "m")
    (folder / "notes.txt").symlink_to(outside)
    with pytest.raises(InvalidModel, match="outside the model folder"):
        hub.publish(folder, "test/user")
    _nothing_written()


def test_odd_characters_in_a_file_path_are_refused(tmp_path):
    folder = write_folder(tmp_path / "m")
    (folder / "we ird;name.json").write_text("{}")
    with pytest.raises(InvalidModel, match="may only use letters, digits"):
        hub.publish(folder, "test/user")
    _nothing_written()


def test_config_that_is_not_json_is_refused(tmp_path):
    folder = write_folder(tmp_path / "m")
    (folder / "config.json").write_text("{'architecture': 'x',")
    with pytest.raises(InvalidModel, match=r"config.json: not JSON"):
        hub.publish(folder, "test/user")
    _nothing_written()


def test_config_without_architecture_is_refused(tmp_path):
    folder = write_folder(tmp_path / "m")
    (folder / "config.json").write_text(json.dumps({"in": 4}))
    with pytest.raises(InvalidModel, match='"architecture"'):
        hub.publish(folder, "test/user")
    _nothing_written()


def test_truncated_safetensors_is_refused(tmp_path):
    folder = write_folder(tmp_path / "m")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(InvalidModel, match=r"model.safetensors: invalid safetensors at byte \d+"):
        hub.publish(folder, "test/user")
    _nothing_written()


@pytest.mark.parametrize("filename", ["pytorch_model.bin", "model.pt", "weights.pkl", "extra.dat"])
def test_pickle_offered_as_weights_is_refused_and_never_executed(tmp_path, filename):
    marker = tmp_path / "executed"
    folder = write_folder(tmp_path / "m")
    (folder / filename).write_bytes(pickle.dumps({"weight": _Boom(str(marker))}, protocol=4))
    with pytest.raises(InvalidModel, match="pickled weights.*unpickling runs code"):
        hub.publish(folder, "test/user")
    assert not marker.exists()
    _nothing_written()


def test_pickle_named_safetensors_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "executed"
    folder = write_folder(tmp_path / "m")
    (folder / "model.safetensors").write_bytes(pickle.dumps(_Boom(str(marker))))
    with pytest.raises(InvalidModel, match="invalid safetensors"):
        hub.publish(folder, "test/user")
    assert not marker.exists()
    _nothing_written()


def test_folder_without_weights_or_config_is_refused(tmp_path):
    folder = write_folder(tmp_path / "m")
    os.unlink(folder / "model.safetensors")
    with pytest.raises(InvalidModel, match="no \\*.safetensors"):
        hub.publish(folder, "test/user")
    os.unlink(folder / "config.json")
    with pytest.raises(InvalidModel, match="no config.json"):
        hub.publish(folder, "test/user")
    with pytest.raises(InvalidModel, match="not a folder"):
        hub.publish(tmp_path / "missing", "test/user")
    _nothing_written()


def test_version_number_that_does_not_exist(tmp_path):
    hub.publish(write_folder(tmp_path / "m"), "test/user", progress=False)
    for ref in ("test/user@7", "test/user:staging", "test/user@sha256:ffffff"):
        with pytest.raises(ModelNotFound, match="has no"):
            hub.load(ref)
    with pytest.raises(ModelNotFound, match="has no version 7"):
        hub.promote("test/user@7", "production")
    for ref in ("test/user@7", "test/user:staging", "test/user@sha256:ffffff"):
        with pytest.raises(ModelNotFound, match="has no"):
            hub.verify(ref)
    assert hub.history("test/user") == []


def test_catalog_model_not_pulled_is_named_in_info():
    with pytest.raises(ModelNotFound, match=f"{CATALOG_NAME} is in the catalog.*zoohub pull {CATALOG_NAME}"):
        hub.info(CATALOG_NAME)


def test_loading_a_version_whose_architecture_is_unknown_names_it(tmp_path):
    folder = write_folder(tmp_path / "m")
    (folder / "config.json").write_text(json.dumps({"architecture": "no-such-arch"}))
    hub.publish(folder, "test/user", progress=False)
    with pytest.raises(InvalidModel, match=r"test/user@1 cannot be built: .*unknown architecture 'no-such-arch'"):
        hub.load("test/user")


def test_weights_that_do_not_fit_the_architecture_are_invalid_model_at_load(tmp_path):
    import core.nn as nn
    from core.io import load_file, save_arrays
    from zoo.architectures import ARCHITECTURES, register_architecture

    if "test-strict-linear" not in ARCHITECTURES:
        @register_architecture("test-strict-linear")
        def build_strict(folder, config):  # a core.nn model that loads its file strictly, as the zoo's do
            layer = nn.Linear(config["in"], config["out"])
            layer.load_state_dict(load_file(folder / "model.safetensors"), assign=True)
            return layer

    rng = np.random.default_rng(0)
    cases = {"missing": {"weight": ("F32", rng.standard_normal((3, 4)).astype(np.float32))},
             "int": {"weight": ("I32", np.ones((3, 4), np.int32)), "bias": ("I32", np.ones(3, np.int32))},
             "shape": {"weight": ("F32", np.ones((4, 4), np.float32)), "bias": ("F32", np.ones(3, np.float32))}}
    for name, arrays in cases.items():
        folder = write_folder(tmp_path / name)
        (folder / "config.json").write_text(json.dumps({"architecture": "test-strict-linear", "in": 4, "out": 3}))
        save_arrays(arrays, folder / "model.safetensors")
        hub.publish(folder, f"test/{name}", progress=False)
        with pytest.raises(InvalidModel, match=rf"test/{name}@1 cannot be built: its weights do not fit"):
            hub.load(f"test/{name}")


@pytest.mark.parametrize("bug", [TypeError, RuntimeError])
def test_a_bug_inside_a_builder_surfaces_as_itself_not_as_weights_that_do_not_fit(tmp_path, monkeypatch, bug):
    # build_version turned any RuntimeError or TypeError of a builder into "its weights do not fit"
    from zoo.architectures import ARCHITECTURES

    def broken_builder(folder, config):
        raise bug("a bug in the builder")

    folder = write_folder(tmp_path / "m")
    (folder / "config.json").write_text(json.dumps({"architecture": "test-broken-builder"}))
    hub.publish(folder, "test/broken", progress=False)
    monkeypatch.setitem(ARCHITECTURES, "test-broken-builder", broken_builder)
    with pytest.raises(bug, match="^a bug in the builder$"):
        hub.load("test/broken")


def test_verify_of_one_version_checks_only_that_version(tmp_path):
    hub.publish(write_folder(tmp_path / "a", seed=1), "test/user", progress=False)
    second = hub.publish(write_folder(tmp_path / "b", seed=2, card=None), "test/user", progress=False)
    hub.promote("test/user@2", "staging")
    for ref in ("test/user@2", "test/user:staging", f"test/user@sha256:{second.manifest_sha256[:8]}"):
        assert hub.verify(ref).checked_files == 2
    assert hub.verify("test/user").checked_files == 5


@pytest.mark.parametrize("call, message", [
    (lambda folder: hub.publish(folder, "test/user", description=None), "description must be a string, not NoneType"),
    (lambda folder: hub.publish(folder, "test/user", license=3), "license must be a string, not int"),
    (lambda folder: hub.publish(folder, "test/user", task=5), "task must be a string, not int"),
    (lambda folder: hub.publish(None, "test/user"), "a model folder .* or a core.nn.Module, not NoneType"),
    (lambda folder: hub.gc(older_than_hours="1"), "older_than_hours must be a number >= 0, got '1'"),
    (lambda folder: hub.gc(older_than_hours=None), "older_than_hours must be a number >= 0, got None"),
    (lambda folder: hub.history("test/user", at="2026-05-03"), "at must be a datetime"),
    (lambda folder: hub.list(query=5), "list: query must be a string, not int"),
    (lambda folder: hub.list(task=["speech"]), "list: task must be a string, not list"),
])
def test_arguments_of_the_wrong_type_are_hub_errors(tmp_path, call, message):
    with pytest.raises(HubError, match=message):
        call(write_folder(tmp_path / "m"))
    _nothing_written()


def test_list_query_is_a_plain_substring_wildcards_included(tmp_path):
    # `_` and `%` were LIKE wildcards for registry models: `--query _` listed every one of them
    hub.publish(write_folder(tmp_path / "a", seed=1), "test/alpha", description="plain", progress=False)
    hub.publish(write_folder(tmp_path / "b", seed=2), "test/beta", description="50% smaller", progress=False)
    registry = lambda query: [m.name for m in hub.list(query=query) if m.in_registry]  # noqa: E731
    assert registry("_") == [] and registry("%") == ["test/beta"] and registry("\\") == []
    assert registry("t/al") == ["test/alpha"] and registry("PLAIN") == ["test/alpha"]


def test_a_gc_between_upload_and_commit_refuses_the_publish_as_blob_collected(tmp_path, monkeypatch):
    # a local publish whose blob gc removed used to commit a version naming the missing blob
    folder = write_folder(tmp_path / "m")
    original = BlobStore.put_file
    collected = []

    def put_then_collect(self, path, *args, **kwargs):
        blob = original(self, path, *args, **kwargs)
        if Path(path).name == "README.md" and not collected:
            collected.append(hub.gc(older_than_hours=0))  # as `zoohub gc --older-than 0` from another shell
        return blob

    monkeypatch.setattr(BlobStore, "put_file", put_then_collect)
    with pytest.raises(BlobCollected, match=r"README.md: its blob sha256:\w+ was removed from the store .*publish "
                                            r"again"):
        hub.publish(folder, "test/raced", progress=False)
    assert collected[0].removed and not [m for m in hub.list(query="test/raced") if m.in_registry]
    monkeypatch.setattr(BlobStore, "put_file", original)
    assert hub.publish(folder, "test/raced", progress=False).version == 1
    assert hub.verify("test/raced").ok


def test_a_config_with_nan_or_infinity_is_refused_as_not_json(tmp_path):
    # stored, it made `zoohub info --json` print NaN, which strict JSON readers refuse
    for i, constant in enumerate(("NaN", "Infinity", "-Infinity")):
        folder = write_folder(tmp_path / f"m{i}")
        (folder / "config.json").write_text('{"architecture": "test-tiny-linear", "dropout": %s}' % constant)
        with pytest.raises(InvalidModel, match=rf"config.json: not JSON \({constant} is not a JSON number\)"):
            hub.publish(folder, "test/nan", progress=False)
    import core.nn as nn
    with pytest.raises(InvalidModel, match="config is not JSON-serialisable"):
        hub.publish(nn.Linear(2, 2), "test/nan", config={"architecture": "x", "scale": float("inf")}, progress=False)
    assert not [m for m in hub.list(query="test/nan") if m.in_registry]


@pytest.mark.parametrize("call, message", [
    (lambda: hub.publish(_module(), "test/mod", config=_CONFIG, card=3, progress=False),
     r"publish test/mod: card must be the card's Markdown text \(a str\) or the path of a README file, not int"),
    (lambda: hub.publish(_module(), "test/mod", config=_CONFIG, card=b"# bytes", progress=False),
     "card must be .*, not bytes"),
    (lambda: hub.promote("test/user@1", "production", reason=None),
     "promote 'test/user@1': reason must be a string, not NoneType"),
    (lambda: hub.promote("test/user@1", "production", reason=5), "reason must be a string, not int"),
    (lambda: hub.promote("test/user@1", "production", by=5), "promote 'test/user@1': by must be a string, not int"),
    (lambda: hub.promote("test/user@1", "production", by=b"alice"), "by must be a string, not bytes"),
])
def test_an_argument_of_the_wrong_type_is_a_type_error_naming_it_and_nothing_is_written(tmp_path, call, message):
    # card=3 was a raw TypeError from write_text; reason=5 and by=b"alice" were stored in the alias history
    hub.publish(write_folder(tmp_path / "m"), "test/user", progress=False)
    with pytest.raises(TypeError, match=message) as raised:
        call()
    assert isinstance(raised.value, HubError)
    assert [m.name for m in hub.list() if m.in_registry] == ["test/user"] and hub.history("test/user") == []


def test_a_card_given_as_a_path_is_read_from_that_file(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# my module\n\ntrained on digits\n", encoding="utf-8")
    assert hub.publish(_module(), "test/mod", config=_CONFIG, card=readme, progress=False).card == readme.read_text()
    with pytest.raises(InvalidModel, match=r"card='.*/missing.md': cannot read the model card: No such file"):
        hub.publish(_module(), "test/mod", config=_CONFIG, card=tmp_path / "missing.md", progress=False)


_CONFIG = {"architecture": "test-tiny-linear", "in": 2, "out": 2}


def _module():
    import core.nn as nn
    return nn.Linear(2, 2)
