"""Where the registry lives and how to talk to it: the database URL, engines, transactions, schema revisions.

- URL: `ZOOHUB_DB_URL` if set (teams: `postgresql+psycopg://user@host/db`), else SQLite at
  `$ZOOHUB_HOME/registry.db` (`ZOOHUB_HOME` defaults to ~/.cache/zoohub).
- SQLite runs in WAL mode (readers never wait for the writer) with a 30 s busy timeout and foreign keys on.
  Write transactions start with BEGIN IMMEDIATE, so two writers queue on the busy timeout instead of one of
  them failing when it upgrades a read lock; PostgreSQL writers serialise on row locks (see versions.py).
- Read-only: a SQLite file this process cannot write (the file, or the folder where SQLite keeps its -wal and
  -shm files, is not writable) is opened read-only (`mode=ro`, and `immutable=1` when there are no -wal/-shm files
  and none can be made); reading works, and `Database.write()` and `upgrade()` refuse with ReadOnlyRegistry.
- Schema: a fresh database is created at the newest Alembic revision; an older one is refused with a message
  to run `zoohub db upgrade`. Creation and upgrades hold a lock (BEGIN IMMEDIATE on SQLite, an advisory
  lock on PostgreSQL), so processes that open a fresh registry at once create it exactly once.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from registry.errors import DatabaseUnavailable, ReadOnlyRegistry, SchemaOutOfDate

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE for a statement the role has no privilege for
SCHEMA_LOCK_ID = 7_100_421  # PostgreSQL advisory lock key held while the schema is created or upgraded


def zoohub_home() -> Path:
    """The folder of the embedded registry and the blob store: $ZOOHUB_HOME or ~/.cache/zoohub."""
    return Path(os.environ.get("ZOOHUB_HOME") or Path.home() / ".cache" / "zoohub").expanduser()


def database_url() -> str:
    """$ZOOHUB_DB_URL, or the SQLite file under zoohub_home()."""
    url = os.environ.get("ZOOHUB_DB_URL")
    if url:
        try:
            make_url(url)
        except ArgumentError:
            raise DatabaseUnavailable(f"ZOOHUB_DB_URL={url!r} is not a database URL (expected e.g. postgresql+"
                                      f"psycopg://user@host/zoohub or sqlite:////path/registry.db)") from None
        return url
    home = zoohub_home()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(f"ZOOHUB_HOME={str(home)!r} cannot hold the registry: {exc.strerror} (point it at "
                                  f"a folder you can write, or unset it for ~/.cache/zoohub)") from None
    return f"sqlite:///{home / 'registry.db'}"


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this zoohub knows."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def known_revisions() -> list[str]:
    """Every revision, oldest first."""
    return [rev.revision for rev in reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))]


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    for attempt in range(50):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            break
        except Exception as exc:  # a fresh file being switched to WAL by another process at this instant
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _on_read_only_sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("zoohub_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for another database, an in-memory one or a `file:` URI)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:") or \
            parsed.database.startswith("file:"):
        return None
    return Path(os.path.abspath(parsed.database))


def read_only_reason(url: str) -> str | None:
    """Why this process cannot write the SQLite registry at url (its file, or the folder where SQLite keeps the -wal
    and -shm files, is not writable), or None: it can, or the database is not a SQLite file.

    >>> read_only_reason("sqlite:////mnt/shared/registry.db")
    '/mnt/shared is on a read-only file system'
    """
    path = sqlite_file(url)
    if path is None:
        return None
    for target in (path, path.parent):
        if target.exists() and not os.access(target, os.W_OK):
            if os.statvfs(target).f_flag & os.ST_RDONLY:
                return f"{target} is on a read-only file system"
            return f"{target} is not writable by this user"
    return None


def _read_only_url(path: Path) -> URL:
    query = {"mode": "ro", "uri": "true"}
    if not any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm")) and \
            not os.access(path.parent, os.W_OK):
        # WAL readers share the -shm file; with none there and none to be made, SQLite must read the file as it is
        query["immutable"] = "1"
    return URL.create("sqlite", database="file:" + quote(str(path)), query=query)


def make_engine(url: str) -> Engine:
    """An engine with the registry's connection settings (SQLite pragmas and BEGIN handling); a SQLite file this
    process cannot write is opened read-only."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        read_only = read_only_reason(url) is not None
        engine = create_engine(_read_only_url(sqlite_file(url)) if read_only else url,
                               connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _on_read_only_sqlite_connect if read_only else _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:  # an unknown dialect, or its driver is not installed
        raise DatabaseUnavailable(f"cannot use the database URL {display_url(url)}: {exc}; zoohub runs on "
                                  f"sqlite:////path/registry.db or postgresql+psycopg://user@host/zoohub") from None


class Database:
    """One registry database: `read()` and `write()` give sessions inside a transaction.

    >>> db = Database(database_url())
    >>> with db.read() as session:
    ...     session.scalars(select(Model)).all()
    """

    def __init__(self, url: str, check_schema: bool = True) -> None:
        self.url = url
        self.read_only = read_only_reason(url)  # why this process cannot write it, or None
        if self.read_only is not None and not sqlite_file(url).exists():
            raise ReadOnlyRegistry(display_url(url), f"{self.read_only}, and no registry was created there yet")
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if check_schema:
            self._check_schema()

    def _check_schema(self) -> None:
        if self.read_only is None:
            ensure_schema(self.engine)
            return
        with self.engine.connect() as conn:  # a registry that cannot be written cannot be created or upgraded
            current = current_revision(conn)
            has_tables = bool(inspect(conn).get_table_names())
        if current == head_revision():
            return
        if current is None and not has_tables:
            raise ReadOnlyRegistry(display_url(self.url), f"{self.read_only}, and it holds no registry yet")
        _refuse(self.url, current, has_tables)

    def require_writable(self) -> None:
        """Raise ReadOnlyRegistry unless this process can write the registry (writers call it before any work)."""
        if self.read_only is not None:
            raise ReadOnlyRegistry(display_url(self.url), self.read_only)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session in a read transaction (a snapshot on SQLite WAL); rolled back at the end."""
        with self.engine.connect() as conn, Session(bind=conn, expire_on_commit=False) as session:
            with conn.begin():
                yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a write transaction, committed when the block ends without an exception; ReadOnlyRegistry
        for a registry this process can only read (a SQLite file it cannot write, a PostgreSQL role without the
        right to write; nothing is written then)."""
        self.require_writable()
        try:
            with self.engine.connect() as conn:
                conn.execution_options(zoohub_begin="IMMEDIATE")
                with Session(bind=conn, expire_on_commit=False) as session:
                    with conn.begin():
                        yield session
                        session.flush()
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
                raise
            first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "permission denied"
            raise ReadOnlyRegistry(display_url(self.url), f"the database role may not write: {first}") from None

    def dispose(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn.execution_options(zoohub_begin="IMMEDIATE")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_ID})
            yield conn


def current_revision(conn: Connection) -> str | None:
    """The schema revision the database is at (None: no zoohub schema yet)."""
    return MigrationContext.configure(conn).get_current_revision()


def _refuse(url: str, current: str | None, has_tables: bool) -> None:
    head = head_revision()
    where = display_url(url)
    if current is None and has_tables:
        raise SchemaOutOfDate(f"the database at {where} has tables but no zoohub schema revision: it is not a "
                              f"zoohub registry (point ZOOHUB_DB_URL or ZOOHUB_HOME elsewhere)")
    if current in known_revisions():
        raise SchemaOutOfDate(f"the registry at {where} is at schema revision {current}, this zoohub needs {head}: "
                              f"run `zoohub db upgrade`")
    raise SchemaOutOfDate(f"the registry at {where} is at schema revision {current!r}, which this zoohub does not "
                          f"know (newest: {head}): it was written by a newer zoohub; upgrade zoohub")


def ensure_schema(engine: Engine) -> None:
    """Create a fresh database at the newest revision; refuse one at another revision (SchemaOutOfDate)."""
    with engine.connect() as conn:
        current = current_revision(conn)
    if current == head_revision():
        return
    url = engine.url.render_as_string(hide_password=False)
    with _schema_lock(engine) as conn:
        current = current_revision(conn)
        if current == head_revision():
            return
        has_tables = bool(inspect(conn).get_table_names())
        if current is not None or has_tables:
            _refuse(url, current, has_tables)
        _migrate(conn, "head")


def _migrate(conn: Connection, revision: str) -> None:
    from alembic import command
    command.upgrade(_alembic_config(conn), revision)


def upgrade(url: str | None = None, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database to `revision` (default: the newest); returns (revision before, revision after).

    >>> upgrade()          # what `zoohub db upgrade` runs
    ('0001', '0002')
    """
    url = url or database_url()
    reason = read_only_reason(url)
    if reason is not None:
        raise ReadOnlyRegistry(display_url(url), reason)
    engine = make_engine(url)
    try:
        with _schema_lock(engine) as conn:
            before = current_revision(conn)
            if before is None and inspect(conn).get_table_names():
                _refuse(url, None, True)
            if before is not None and before not in known_revisions():
                _refuse(url, before, True)
            _migrate(conn, revision)
            after = current_revision(conn)
        return before, after
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot upgrade the registry at {display_url(url)}: {exc.orig}") from None
    finally:
        engine.dispose()


_open: dict[str, Database] = {}


def connect(url: str | None = None) -> Database:
    """The Database for url (default: database_url()), opened once per process and checked against the schema."""
    url = url or database_url()
    db = _open.get(url)
    if db is None:
        for other in _open.values():
            other.dispose()  # tests switch ZOOHUB_HOME often; keep one engine's files open at a time
        _open.clear()
        db = _open[url] = Database(url)
    return db
