"""The server over a PostgreSQL registry (a real PostgreSQL cluster, started by the test)."""
from __future__ import annotations

import threading
import time

import numpy as np
import psycopg

import hub
import tests.hub.tiny_model  # noqa: F401  (registers the test architecture in this process)
from hub import remote as remote_client
from hub.errors import BlobCollected
from hub.garbage import GC_LOCK_ID
from registry.blobstore import BlobStore
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


def _waiting_for_gc(conn: psycopg.Connection) -> int:
    """How many sessions wait for the advisory lock gc holds while it collects (a bigint key below 2**32 is
    objid; granted locks are left out)."""
    return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND NOT granted",
                        (GC_LOCK_ID,)).fetchone()[0]


def test_a_publish_whose_blob_gc_removes_while_the_commit_waits_is_a_409_and_blob_collected_on_the_client(
        postgres_server, tmp_path_factory, tmp_path, monkeypatch):  # noqa: F811
    url = create_database(postgres_server)
    home = tmp_path_factory.mktemp("pg_server_home")
    token = zoohub("token", "create", "ci", home=home, env={"ZOOHUB_DB_URL": url}).stdout.strip()
    server = Server(home, free_port(), ("--rate", "0"), env={"ZOOHUB_DB_URL": url}).start()
    pg_url = url.replace("postgresql+psycopg", "postgresql")
    try:
        monkeypatch.delenv("ZOOHUB_DB_URL", raising=False)
        monkeypatch.setenv("ZOOHUB_REMOTE", server.url)
        monkeypatch.setenv("ZOOHUB_TOKEN", token)
        monkeypatch.setattr(remote_client, "_clients", {})
        folder = write_folder(tmp_path / "m")
        raised = []

        def publish() -> None:
            try:
                hub.publish(folder, "test/raced", progress=False)
            except Exception as exc:  # noqa: BLE001  (the test looks at whatever it was)
                raised.append(exc)

        publisher = threading.Thread(target=publish)
        with psycopg.connect(pg_url) as gc_conn, psycopg.connect(pg_url, autocommit=True) as observer:
            # a gc's batch: the collection lock, then the blobs no version references are deleted, then commit
            gc_conn.execute("SELECT pg_advisory_xact_lock(%s)", (GC_LOCK_ID,))
            publisher.start()
            deadline = time.monotonic() + 60
            while not _waiting_for_gc(observer):  # the server checked the manifest and waits to commit it
                assert time.monotonic() < deadline and publisher.is_alive(), raised
                time.sleep(0.05)
            store = BlobStore(home / "blobs")
            for sha in store.stored():
                store.remove(sha)
            gc_conn.commit()
        publisher.join(timeout=60)
        assert len(raised) == 1 and type(raised[0]) is BlobCollected
        assert str(raised[0]).startswith(f"{server.url} answered 409: ")
        assert "was removed from the store (by `zoohub gc`?) before this publish committed; nothing was " \
               "published, publish again" in str(raised[0])
        assert not [m for m in hub.list(query="test/raced") if m.in_registry]
        assert hub.publish(folder, "test/raced", progress=False).version == 1
        assert hub.info("test/raced").version == 1
    finally:
        server.stop()
