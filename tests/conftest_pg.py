"""A private PostgreSQL server for the registry tests, and `registry_url`: each test on SQLite and on PostgreSQL.

The server is Debian's postgresql (initdb/pg_ctl from /usr/lib/postgresql/*/bin), started once per test
session in a temp dir on a free loopback port, with trust authentication for local connections only. As
root, it runs as the `postgres` user (initdb refuses root). Missing binaries fail the tests: CI installs them.
Each test gets a database of its own.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: apt-get install postgresql "
                    "(scripts/setup.sh does)", pytrace=False)
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="session")
def postgres_server():
    """Start a throwaway PostgreSQL cluster; yields 'postgresql+psycopg://postgres@127.0.0.1:PORT'."""
    bindir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="zoohub-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    log = root / "server.log"
    try:
        subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                        "-E", "UTF8", "--no-sync"]), check=True, capture_output=True, cwd=root)
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                                        "-w", "-t", "60", "start"]), check=True, capture_output=True, cwd=root)
    except subprocess.CalledProcessError as exc:
        server_log = log.read_text() if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"cannot start PostgreSQL: {exc.stderr.decode()}{server_log}", pytrace=False)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, cwd=root)
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str) -> str:
    """A new empty database on the test server; returns its SQLAlchemy URL."""
    import psycopg
    name = f"zoohub_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.replace("postgresql+psycopg", "postgresql") + "/postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server_url}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request, monkeypatch, _isolated_home) -> str:
    """The registry of this test: SQLite under ZOOHUB_HOME, or a fresh PostgreSQL database in ZOOHUB_DB_URL."""
    if request.param == "sqlite":
        monkeypatch.delenv("ZOOHUB_DB_URL", raising=False)
        return f"sqlite:///{_isolated_home / 'registry.db'}"
    url = create_database(request.getfixturevalue("postgres_server"))
    monkeypatch.setenv("ZOOHUB_DB_URL", url)
    return url
