"""`zoohub app [--port N]`: the Streamlit browser over this machine's registry (app/main.py), headless."""
from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path
from typing import NoReturn, TextIO

from hub.errors import UsageError, require_extra

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "app" / "main.py"
BUSY_HINT = "another zoohub app?"


def streamlit_arguments(port: int, address: str) -> list[str]:
    """The arguments of `streamlit` that run the app: headless, no usage statistics, no file watcher (the app is
    not being edited where it runs), and no developer toolbar (Deploy, rerun) in the page."""
    return ["run", str(MAIN), "--server.headless", "true", "--server.port", str(port), "--server.address", address,
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--client.toolbarMode", "minimal"]


def app_environment() -> dict[str, str]:
    """This environment, with the repository on PYTHONPATH so the app's pages import `app` and `hub`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run(args: argparse.Namespace) -> NoReturn:
    require_extra("app", "zoohub app", "streamlit", "fastapi")
    from hub.server.app import listening_socket
    if args.port == 0:
        raise UsageError("--port 0: the app needs a fixed port to print its address; expected 1..65535")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: expected 1..65535")
    # a port in use, out of range or on an unknown address is one line here, not Streamlit's traceback; the port
    # is released again for Streamlit to bind a moment later (run_streamlit words a port taken meanwhile alike)
    listening_socket(args.address, args.port, busy_hint=BUSY_HINT).close()
    print(f"zoohub app: http://{args.address}:{args.port} (registry: "
          f"{os.environ.get('ZOOHUB_DB_URL') or os.environ.get('ZOOHUB_HOME') or '~/.cache/zoohub'}); Ctrl-C stops",
          file=sys.stderr)
    command = [sys.executable, "-m", "hub.commands.app", str(args.port), args.address]
    sys.stderr.flush()
    # become the server, so that signals (Ctrl-C, a supervisor's SIGTERM) reach it and no orphan is left behind
    os.execve(command[0], command, app_environment())


class _PortTakenLine:
    """Streamlit's stderr: passes everything on but Streamlit's own line for a port it could not bind, which it
    notes instead."""

    def __init__(self, stream: TextIO, port: int) -> None:
        self._stream = stream
        self._line = f"Port {port} is not available"
        self.seen = False

    def write(self, text: str) -> int:
        if text.rstrip().endswith(self._line):  # a log record is one write
            self.seen = True
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def run_streamlit(port: int, address: str) -> NoReturn:
    """Run the app in this process (what `zoohub app` becomes). A port taken between `zoohub app`'s check and
    Streamlit's bind is the check's one line and exit status 1, not Streamlit's timestamped log line.

    >>> run_streamlit(8501, "127.0.0.1")  # python -m hub.commands.app 8501 127.0.0.1
    """
    stderr = sys.stderr
    sys.stderr = watched = _PortTakenLine(stderr, port)  # before Streamlit's loggers take sys.stderr as their stream
    from streamlit.web.cli import main
    sys.argv = ["streamlit", *streamlit_arguments(port, address)]
    try:
        main()
    except SystemExit as exc:
        if not watched.seen:
            raise
        print(f"zoohub: error: cannot serve on {address}:{port}: {os.strerror(errno.EADDRINUSE)} ({BUSY_HINT} "
              f"choose one with --port)", file=stderr)
        raise SystemExit(1) from exc
    raise SystemExit(0)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `app` to the zoohub command line."""
    parser = subparsers.add_parser("app", help="browse, compare, try and promote models in a web app",
                                   description="Start the Streamlit app on this registry.")
    parser.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    parser.add_argument("--address", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.set_defaults(run=run)


if __name__ == "__main__":
    run_streamlit(int(sys.argv[1]), sys.argv[2])
