"""A real `zoohub serve` process on loopback for the server tests, with its own registry home and a token."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zoohub(*args: str, home: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the zoohub CLI in a child process against the registry under home."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOOHUB_HOME": str(home), **(env or {})}
    full_env.pop("ZOOHUB_REMOTE", None)
    proc = subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, env=full_env,
                          cwd=ROOT, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


class Server:
    """`zoohub serve` in a child process; start, kill (SIGKILL) and restart on the same port."""

    def __init__(self, home: Path, port: int, args: tuple[str, ...] = (), env: dict | None = None,
                 wrap: Callable[[list[str]], list[str]] | None = None) -> None:
        self.home = home
        self.wrap = wrap or (lambda cmd: cmd)  # e.g. tests.permissions.as_bound_by_permissions
        self.env = env or {}
        self.port = port
        self.args = args
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.log = home / "server.log"

    def start(self) -> "Server":
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOOHUB_HOME": str(self.home), **self.env}
        env.pop("ZOOHUB_REMOTE", None)
        with open(self.log, "ab") as log:
            cmd = [sys.executable, "-m", "hub.cli", "serve", "--port", str(self.port), "--log-level", "warning",
                   *self.args]
            self.proc = subprocess.Popen(self.wrap(cmd), stdout=log, stderr=log, env=env, cwd=ROOT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"zoohub serve exited with {self.proc.returncode}: {self.log.read_text()}")
            try:
                if requests.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"zoohub serve did not answer within {START_TIMEOUT} s: {self.log.read_text()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server_home")


@pytest.fixture
def write_token(server_home) -> str:
    return zoohub("token", "create", "alice", home=server_home).stdout.strip()


@pytest.fixture
def make_server(server_home, write_token):
    """make_server(*serve_args) starts a server over server_home (the token exists already); stopped at the end."""
    started: list[Server] = []

    def make(*args: str) -> Server:
        server = Server(server_home, free_port(), args).start()
        started.append(server)
        return server
    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server) -> Server:
    return make_server("--rate", "0")


@pytest.fixture
def remote(server, write_token, monkeypatch) -> Server:
    """The hub API of this test process pointed at the server, with the write token."""
    monkeypatch.setenv("ZOOHUB_REMOTE", server.url)
    monkeypatch.setenv("ZOOHUB_TOKEN", write_token)
    return server
