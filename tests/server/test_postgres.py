"""The server over a PostgreSQL registry (a real PostgreSQL cluster, started by the test)."""
from __future__ import annotations

import numpy as np

import hub
import tests.hub.tiny_model  # noqa: F401  (registers the test architecture in this process)
from hub import remote as remote_client
from tests.conftest_pg import create_database, postgres_server  # noqa: F401  (fixture)
from tests.hub.tiny_model import write_folder
from tests.server.conftest import Server, free_port, zoohub


def test_server_over_postgresql_publishes_promotes_and_serves(postgres_server, tmp_path_factory, tmp_path,  # noqa: F811
                                                              monkeypatch):
    url = create_database(postgres_server)
    home = tmp_path_factory.mktemp("pg_server_home")
    token = zoohub("token", "create", "ci", home=home, env={"ZOOHUB_DB_URL": url}).stdout.strip()
    server = Server(home, free_port(), ("--rate", "0"), env={"ZOOHUB_DB_URL": url}).start()
    try:
        monkeypatch.delenv("ZOOHUB_DB_URL", raising=False)
        monkeypatch.setenv("ZOOHUB_REMOTE", server.url)
        monkeypatch.setenv("ZOOHUB_TOKEN", token)
        monkeypatch.setattr(remote_client, "_clients", {})
        for seed in (1, 2):
            hub.publish(write_folder(tmp_path / f"m{seed}", seed=seed), "test/pg")
        change = hub.promote("test/pg@2", "production", reason="better")
        assert (change.from_version, change.to_version, change.actor) == (None, 2, "ci")
        info = hub.info("test/pg")
        assert info.version == 2 and info.versions == (1, 2) and info.created_by == "ci"
        x = np.ones(4, dtype=np.float32)
        rng = np.random.default_rng(2)
        weight, bias = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
        np.testing.assert_allclose(hub.load("test/pg")(x), x @ weight.T + bias, rtol=1e-6)
        assert not (home / "registry.db").exists()  # the registry is in PostgreSQL, the blobs under home
        assert (home / "blobs" / "sha256").is_dir()
    finally:
        server.stop()
