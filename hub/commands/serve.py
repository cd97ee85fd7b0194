"""`zoohub serve`: this machine's registry and blob store over HTTP for a team (see docs/teams.md)."""
from __future__ import annotations

import argparse

from hub.errors import HubError, UsageError, require_extra
from hub.server.settings import ServerSettings


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("serve", help="serve the registry over HTTP (tokens for writing, Range downloads)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--read", choices=("open", "token"), help="reading open to anyone, or only with a token "
                                                              "(default: $ZOOHUB_SERVER_READ or open)")
    p.add_argument("--max-upload", type=int, metavar="BYTES", help="largest blob upload accepted (413 above; "
                                                                    "default $ZOOHUB_SERVER_MAX_UPLOAD or 4 GiB)")
    p.add_argument("--rate", type=float, metavar="PER_SECOND", help="requests per second per client (429 "
                                                                     "above; 0 = no limit; default 50)")
    p.add_argument("--burst", type=int, help="requests a client may send at once before the rate applies "
                                             "(default 200)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    require_extra("server", "zoohub serve", "fastapi", "uvicorn")
    from hub.server.app import serve
    overrides = {"read_needs_token": None if args.read is None else args.read == "token",
                 "max_upload_bytes": args.max_upload, "rate_per_second": args.rate, "burst": args.burst}
    try:
        settings = ServerSettings.from_env()
    except ValueError as exc:
        raise HubError(str(exc)) from None
    try:
        settings = ServerSettings(**{**settings.__dict__, **{k: v for k, v in overrides.items() if v is not None}})
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: expected 1..65535")
    serve(args.host, args.port, settings, args.log_level,
          banner=f"zoohub: serving on http://{args.host}:{args.port} (reading "
                 f"{'needs a token' if settings.read_needs_token else 'open'}, writing needs a token; "
                 f"OpenAPI at /docs)")
    return 0
