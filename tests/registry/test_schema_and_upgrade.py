"""Schema revisions: a fresh registry is created at the newest revision; an old one is refused until
`zoohub db upgrade`, which keeps its data; the migrations build exactly the tables of registry.schema."""
import sqlite3
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from hub.cli import main
from registry import db
from registry.blobstore import BlobStore
from registry.errors import ReadOnlyRegistry, SchemaOutOfDate
from registry.schema import Base
from registry.versions import FileEntry, publish_version, resolve_version
from tests.mounts import read_only

FIRST = db.known_revisions()[0]


def test_there_are_at_least_two_revisions():
    assert len(db.known_revisions()) >= 2 and db.known_revisions()[-1] == db.head_revision()


def test_fresh_database_is_created_at_the_newest_revision(registry_url):
    database = db.Database(registry_url)
    with database.engine.connect() as conn:
        assert db.current_revision(conn) == db.head_revision()
        tables = set(inspect(conn).get_table_names())
    assert {"blob", "model", "model_version", "version_file", "alias", "alias_event", "paper", "benchmark", "claim",
            "eval_run", "reproduction"} <= tables
    database.dispose()


def test_migrations_create_exactly_the_schema_tables(registry_url):
    database = db.Database(registry_url)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    database.dispose()
    assert diff == []


def test_sqlite_registry_runs_in_wal_mode_with_foreign_keys(tmp_path):
    database = db.Database(f"sqlite:///{tmp_path / 'r.db'}")
    with database.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == db.BUSY_TIMEOUT_MS
    database.dispose()


def _publish_one(database: db.Database, home) -> None:
    store = BlobStore(home / "blobs")
    src = home / "w.txt"
    src.write_bytes(b"weights")
    blob = store.put_file(src)
    with database.write() as session:
        publish_version(session, "test/old", [FileEntry("config.json", blob.sha256, blob.size)], config_json="{}")


def test_old_schema_is_refused_with_the_upgrade_command_in_the_message(registry_url):
    db.upgrade(registry_url, FIRST)
    with pytest.raises(SchemaOutOfDate, match=f"schema revision {FIRST}.*run `zoohub db upgrade`"):
        db.Database(registry_url)


def test_cli_on_an_old_schema_prints_one_line_saying_to_upgrade(registry_url):
    db.upgrade(registry_url, FIRST)
    result = subprocess.run([sys.executable, "-m", "hub.cli", "list"], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("zoohub: error: ") and "run `zoohub db upgrade`" in result.stderr


def test_db_upgrade_brings_a_first_revision_database_to_head_keeping_its_data(registry_url, _isolated_home, capsys):
    db.upgrade(registry_url, FIRST)
    old = db.Database(registry_url, check_schema=False)
    _publish_one(old, _isolated_home)
    old.dispose()
    assert main(["db", "upgrade"]) == 0
    assert f"upgraded from schema revision {FIRST} to {db.head_revision()}" in capsys.readouterr().out
    upgraded = db.Database(registry_url)
    with upgraded.read() as session:
        assert resolve_version(session, "test/old").version == 1
        assert session.execute(text("SELECT count(*) FROM claim")).scalar() == 0
    upgraded.dispose()
    assert main(["db", "upgrade"]) == 0
    assert "already at schema revision" in capsys.readouterr().out


def test_unknown_revision_says_a_newer_zoohub_wrote_it(registry_url):
    database = db.Database(registry_url)
    with database.write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    database.dispose()
    with pytest.raises(SchemaOutOfDate, match="newer zoohub"):
        db.Database(registry_url)


def test_database_with_foreign_tables_is_not_taken_for_a_registry(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE customers (id INTEGER)"))
    engine.dispose()
    with pytest.raises(SchemaOutOfDate, match="not a zoohub registry"):
        db.Database(url)


def test_a_read_only_registry_with_a_live_wal_reads_what_its_writer_committed_and_refuses_writes(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "registry.db"
    url = f"sqlite:///{path}"
    writer = db.Database(url)
    holder = sqlite3.connect(path)  # another process's open connection: the WAL stays, nothing checkpoints it
    holder.execute("SELECT count(*) FROM model").fetchall()
    _publish_one(writer, tmp_path)
    writer.dispose()
    assert path.with_name("registry.db-wal").stat().st_size > 0
    with read_only(folder):
        reader = db.Database(url)
        assert reader.read_only == f"{path} is on a read-only file system"
        with reader.read() as session:
            assert resolve_version(session, "test/old").version == 1  # committed, still only in the -wal file
        # what opening with immutable=1 would have seen: the database file alone, without even the schema yet
        frozen = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        assert frozen.execute("SELECT count(*) FROM sqlite_master WHERE name = 'model_version'").fetchone() == (0,)
        frozen.close()
        refused = rf"^the registry at {url} is read-only \({path} is on a read-only file system\)"
        with pytest.raises(ReadOnlyRegistry, match=refused):
            with reader.write():
                pass
        with pytest.raises(ReadOnlyRegistry, match=refused):
            db.upgrade(url)
        reader.dispose()
    holder.close()
