"""`zoohub app [--port N]`: the Streamlit browser over this machine's registry (app/main.py), headless."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from hub.errors import UsageError, require_extra

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "app" / "main.py"


def streamlit_command(port: int, address: str) -> list[str]:
    """The `streamlit run` command line for the app: headless, no usage statistics, no file watcher (the app is
    not being edited where it runs), and no developer toolbar (Deploy, rerun) in the page."""
    return [sys.executable, "-m", "streamlit", "run", str(MAIN),
            "--server.headless", "true", "--server.port", str(port), "--server.address", address,
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
    # is released again for Streamlit to bind a moment later
    listening_socket(args.address, args.port, busy_hint="another zoohub app?").close()
    print(f"zoohub app: http://{args.address}:{args.port} (registry: "
          f"{os.environ.get('ZOOHUB_DB_URL') or os.environ.get('ZOOHUB_HOME') or '~/.cache/zoohub'}); Ctrl-C stops",
          file=sys.stderr)
    command = streamlit_command(args.port, args.address)
    sys.stderr.flush()
    # become the server, so that signals (Ctrl-C, a supervisor's SIGTERM) reach it and no orphan is left behind
    os.execve(command[0], command, app_environment())


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `app` to the zoohub command line."""
    parser = subparsers.add_parser("app", help="browse, compare, try and promote models in a web app",
                                   description="Start the Streamlit app on this registry.")
    parser.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    parser.add_argument("--address", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.set_defaults(run=run)
