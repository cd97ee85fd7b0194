"""`zoohub app [--port N]`: the command line, and a real server answering on the port it was given."""
from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request

import pytest

from hub.cli import build_parser
from hub.commands import app as app_command
from tests.app.app_server import AppServer, free_port


def test_app_command_is_registered_with_its_port_and_address():
    args = build_parser().parse_args(["app", "--port", "8765"])
    assert args.run is app_command.run
    assert (args.port, args.address) == (8765, "127.0.0.1")
    command = app_command.streamlit_arguments(args.port, args.address)
    assert command[0] == "run" and command[1].endswith("app/main.py")
    assert command[command.index("--server.port") + 1] == "8765"
    assert command[command.index("--server.headless") + 1] == "true"


def test_zoohub_app_serves_the_app_on_the_embedded_registry(tmp_path):
    port = free_port()
    server = AppServer([sys.executable, "-m", "hub.cli", "app", "--port", str(port)], port, tmp_path / "app.log")
    try:
        with urllib.request.urlopen(f"{server.url}/", timeout=10) as response:
            assert response.status == 200
    finally:
        server.stop()
    assert f"zoohub app: http://127.0.0.1:{port}" in server.log.read_text()
    with pytest.raises(OSError):  # stopping the command stopped the server: nothing is left on the port
        urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2)


def _start(command: list[str], home) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, cwd=app_command.ROOT, timeout=120,
                          env={**app_command.app_environment(), "ZOOHUB_HOME": str(home)})


def test_a_port_taken_before_or_after_the_check_is_the_same_one_line_error(tmp_path):
    with socket.socket() as holder:  # a real listener, as another app started a moment earlier would hold
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        line = (f"zoohub: error: cannot serve on 127.0.0.1:{port}: Address already in use (another zoohub app? "
                f"choose one with --port)\n")
        before = _start([sys.executable, "-m", "hub.cli", "app", "--port", str(port)], tmp_path)
        # what `zoohub app` becomes once its check passed: the port was taken between the check and Streamlit's bind
        after = _start([sys.executable, "-m", "hub.commands.app", str(port), "127.0.0.1"], tmp_path)
    assert (before.returncode, before.stderr) == (1, line)
    assert (after.returncode, after.stderr) == (1, line)
