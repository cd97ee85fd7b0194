"""The lookup-table catalog model and its benchmark, registered for the duration of a test."""
from __future__ import annotations

import pytest

from tests.reproduce import lookup_model
from tests.text.conftest import minilm_folder, minilm_reference  # noqa: F401  (fixtures)
from zoo import benchmarks
from zoo.architectures import ARCHITECTURES
from zoo.catalog import CATALOG


@pytest.fixture
def lookup(tmp_path, monkeypatch):
    """Registers text/lookup-test, its builder and the lookup-exact benchmark (data under tmp_path)."""
    benchmarks.load_benchmarks()
    monkeypatch.setenv("ZOOHUB_DATA", str(tmp_path / "data"))
    monkeypatch.setitem(CATALOG, lookup_model.NAME, lookup_model.make_entry())
    monkeypatch.setitem(ARCHITECTURES, "lookup-test", lookup_model.build)
    monkeypatch.setitem(benchmarks.BENCHMARKS, "lookup-exact", lookup_model.make_benchmark(tmp_path / "data"))
    return lookup_model
