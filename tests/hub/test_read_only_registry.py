"""A SQLite registry this process cannot write (a read-only mount, a file it may not write) is opened read-only:
list, info, history and loading pulled versions work; every write is refused in one line saying so."""
import numpy as np
import pytest

import hub
from hub.cli import main
from hub.errors import RegistryUnavailable
from registry import db
from registry.blobstore import BlobStore
from registry.db import zoohub_home
from tests.hub.tiny_model import write_folder
from tests.mounts import read_only


@pytest.fixture
def reopen(monkeypatch):
    """Close this process's registry connections, so the next call opens the registry as the file system is now."""
    def reopen() -> None:
        for database in db._open.values():
            database.dispose()  # the last connection to close checkpoints the WAL and removes -wal and -shm
        monkeypatch.setattr(db, "_open", {})
    yield reopen
    reopen()


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    return captured.err


def test_a_read_only_registry_reads_and_loads_but_refuses_every_write_in_one_line(tmp_path, reopen, capsys):
    home = zoohub_home()
    hub.publish(write_folder(tmp_path / "a", seed=1), "test/ro", description="pulled", progress=False)
    hub.promote("test/ro@1", "production", reason="first release")
    x = np.ones(4, dtype=np.float32)
    expected = hub.load("test/ro")(x)  # lays out the version folder
    hub.publish(write_folder(tmp_path / "b", seed=2), "test/ro", progress=False)  # never loaded here
    reopen()
    assert not (home / "registry.db-wal").exists()
    refused = (rf"^the registry at sqlite:///{home}/registry.db is read-only \({home}/registry.db is on a read-only "
               rf"file system\): it can be read .* but not written \(publish, promote, gc, db upgrade\)$")
    with read_only(home):
        reopen()
        assert [(m.name, m.latest_version) for m in hub.list() if m.in_registry] == [("test/ro", 2)]
        assert hub.info("test/ro").description == "pulled"
        assert [(c.to_version, c.reason) for c in hub.history("test/ro")] == [(1, "first release")]
        np.testing.assert_array_equal(hub.load("test/ro")(x), expected)
        for write in (lambda: hub.publish(write_folder(tmp_path / "c", seed=3), "test/ro", progress=False),
                      lambda: hub.promote("test/ro@2", "production"), lambda: hub.gc(older_than_hours=0)):
            with pytest.raises(RegistryUnavailable, match=refused):
                write()
        manifest = hub.info("test/ro@2").manifest_sha256  # named: the folder, not the temp one renamed into it
        with pytest.raises(RegistryUnavailable, match=rf"^cannot write {home}/versions/{manifest}: the file system is "
                                                      rf"read-only$"):
            hub.load("test/ro@2")  # its folder of links was never made, and cannot be now

        folder = write_folder(tmp_path / "d", seed=4)
        for args in (["publish", str(folder), "test/ro"], ["promote", "test/ro@2", "staging"], ["gc"],
                     ["db", "upgrade"], ["token", "create", "alice"]):
            assert main(args) == 1, args
            err = _one_error_line(capsys)
            assert err.startswith(f"zoohub: error: the registry at sqlite:///{home}/registry.db is read-only"), args
        assert main(["history", "test/ro"]) == 0 and "first release" in capsys.readouterr().out
        report = hub.gc(older_than_hours=0, dry_run=True)  # deletes nothing, so it only reads
        assert report.dry_run and report.removed == ()
        assert main(["gc", "--dry-run"]) == 0
        assert main(["db", "status"]) == 0
        assert f"read-only ({home}/registry.db is on a read-only file system)" in capsys.readouterr().out
    reopen()
    assert [(m.name, m.latest_version) for m in hub.list() if m.in_registry] == [("test/ro", 2)]
    assert [c.to_version for c in hub.history("test/ro")] == [1]


def test_a_registry_file_that_cannot_be_written_refuses_a_publish_before_storing_any_blob(tmp_path, reopen):
    home = zoohub_home()
    hub.publish(write_folder(tmp_path / "a", seed=1), "test/ro", progress=False)
    reopen()
    store = BlobStore(home / "blobs")
    before = store.stored()
    with read_only(home / "registry.db"):  # the folder stays writable: only the database file is read-only
        reopen()
        with pytest.raises(RegistryUnavailable, match=rf"registry.db is read-only \({home}/registry.db is on a "
                                                      rf"read-only file system\)"):
            hub.publish(write_folder(tmp_path / "b", seed=2), "test/ro", progress=False)
        assert store.stored() == before and not list((home / "blobs" / "tmp").iterdir())
        assert hub.info("test/ro").version == 1
    reopen()
    assert hub.publish(write_folder(tmp_path / "b", seed=2), "test/ro", progress=False).version == 2


def test_a_read_only_folder_without_a_registry_says_so_in_one_line(tmp_path, monkeypatch, reopen, capsys):
    empty = tmp_path / "empty-home"
    empty.mkdir()
    monkeypatch.setenv("ZOOHUB_HOME", str(empty))
    with read_only(empty):
        reopen()
        assert main(["list"]) == 1
        assert _one_error_line(capsys).startswith(f"zoohub: error: the registry at sqlite:///{empty}/registry.db is "
                                                  f"read-only ({empty} is on a read-only file system, and no registry "
                                                  f"was created there yet)")


def test_a_postgresql_role_that_may_only_read_gets_one_line_for_a_write(postgres_server, tmp_path, monkeypatch,
                                                                         reopen, capsys):
    # a role with SELECT only: a write was psycopg's raw "permission denied for table ..." traceback
    import psycopg

    from tests.conftest_pg import create_database
    url = create_database(postgres_server)
    monkeypatch.setenv("ZOOHUB_DB_URL", url)
    hub.publish(write_folder(tmp_path / "a", seed=1), "test/pg-ro", progress=False)
    dbname = url.rsplit("/", 1)[1]
    role = f"reader_{dbname}"  # roles are per server: one of its own
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT CONNECT ON DATABASE {dbname} TO {role}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    reader = url.replace("://postgres@", f"://{role}@")
    monkeypatch.setenv("ZOOHUB_DB_URL", reader)
    reopen()
    assert [m.name for m in hub.list() if m.in_registry] == ["test/pg-ro"]
    refused = rf"^the registry at postgresql\+psycopg://{role}@.* is read-only \(the database role may not " \
              r"write: permission denied for table \w+\)"
    with pytest.raises(RegistryUnavailable, match=refused):
        hub.promote("test/pg-ro@1", "production")
    with pytest.raises(RegistryUnavailable, match=refused):
        hub.publish(write_folder(tmp_path / "b", seed=2), "test/pg-ro", progress=False)
    assert main(["promote", "test/pg-ro@1", "production"]) == 1
    assert "is read-only (the database role may not write" in _one_error_line(capsys)
    monkeypatch.setenv("ZOOHUB_DB_URL", url)
    reopen()
    assert hub.history("test/pg-ro") == [] and hub.info("test/pg-ro").version == 1
