"""Shared test set-up: every test gets its own ZOOHUB_HOME so nothing leaks between tests or into ~/.cache."""
import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("zoohub_home")
    monkeypatch.setenv("ZOOHUB_HOME", str(home))
    yield home
