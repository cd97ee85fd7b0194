"""The zoohub HTTP API over this process's registry ($ZOOHUB_DB_URL or SQLite under $ZOOHUB_HOME) and blob store.

    GET  /api/health                          {"status": "ok"}
    GET  /api/models?task=&query=             the registry's models
    GET  /api/resolve?ref=speech/base:staging  a version with its file manifest
    GET  /api/history?name=&alias=            every move of a model's aliases
    GET  /api/blobs/{sha256}                  a blob; Range for parts, ETag = "sha256"
    PUT  /api/blobs/{sha256}                  upload a blob (body = its bytes; refused unless it hashes to the URL)
    POST /api/versions                        commit a manifest of uploaded blobs as a version
    POST /api/aliases                         point an alias at a version
    /openapi.json, /docs                      the OpenAPI description

Writing needs `Authorization: Bearer <token>` (`zoohub token create NAME`); reading too when the server runs
with read_needs_token. Every error is JSON: {"error": "...", "status": N}.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub import errors as hub_errors
from hub.access import blob_store, database, version_info
from hub.errors import HubError
from hub.garbage import check_blobs_present
from hub.promotion import alias_change
from hub.publishing import MAX_CARD_BYTES, PICKLE_SUFFIXES, strict_json
from hub.records import AliasChange, ModelSummary
from hub.references import parse_reference
from hub.server.guards import RateLimit, RejectParentReferences
from hub.server.ranges import UnsatisfiableRange, parse_range
from hub.server.settings import ServerSettings
from hub.server.wire import to_wire
from registry import errors as registry_errors
from registry.aliases import alias_history, set_alias
from registry.blobstore import CHUNK, BlobStore, StoredBlob
from registry.names import check_alias, check_file_path, split_model_name
from registry.tokens import token_owner
from registry.versions import FileEntry, aliases_of, list_models, publish_version, require_model, resolve_version

API_VERSION = "1"
log = logging.getLogger("zoohub.server")
T = TypeVar("T")


class ApiError(Exception):
    """An error answered as JSON with this status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


# A registry or hub error's status is that of the nearest class in its MRO named here, so a subclass inherits its
# parent's; whatever else the registry or the hub refuses (a name, an ambiguous prefix, a NaN) is the caller's
# mistake: 400. A publish whose blob gc collected before it committed conflicts with that gc: 409, publish again.
_STATUS_OF = {
    registry_errors.RegistryError: 400,
    registry_errors.NotFound: 404,
    registry_errors.SchemaOutOfDate: 503,
    registry_errors.DatabaseUnavailable: 503,
    registry_errors.NotWritable: 503,
    registry_errors.NotReadable: 503,
    registry_errors.BlobCorrupt: 500,
    HubError: 400,
    hub_errors.ModelNotFound: 404,
    hub_errors.BlobCollected: 409,
    hub_errors.SchemaOutOfDate: 503,
    hub_errors.RegistryUnavailable: 503,
    hub_errors.IntegrityError: 500,
}


def _status_of(exc: registry_errors.RegistryError | HubError) -> int:
    """The HTTP status answering a registry or hub error (ReadOnlyRegistry is a NotWritable: 503)."""
    return next(_STATUS_OF[kind] for kind in type(exc).__mro__ if kind in _STATUS_OF)


# 503s that asking again will not cure (a full, read-only or unreadable store, a schema to upgrade): the body says so,
# and the client reports the server's message at once instead of retrying and calling the server unreachable.
_LASTING = (registry_errors.NotWritable, registry_errors.NotReadable, registry_errors.SchemaOutOfDate,
            hub_errors.RegistryNotWritable, hub_errors.SchemaOutOfDate)


def _error(status: int, message: str, headers: dict[str, str] | None = None, retry: bool = True) -> JSONResponse:
    body = {"error": " ".join(message.split()), "status": status}
    if not retry:
        body["retry"] = False
    return JSONResponse(body, status_code=status, headers=headers)


class FileSpec(BaseModel):
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class PublishRequest(BaseModel):
    name: str
    files: list[FileSpec]
    task: str | None = None
    description: str = ""
    license: str = ""
    source: str = ""


class PromoteRequest(BaseModel):
    ref: str
    alias: str
    reason: str = ""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _who(request: Request) -> str | None:
    token = _bearer(request)
    if token is None:
        return None
    with database().read() as session:
        return token_owner(session, token)


def writer(request: Request) -> str:
    """The name of the token behind a write request; 401 without a valid one."""
    name = _who(request)
    if name is None:
        raise ApiError(401, "writing needs a valid token: send `Authorization: Bearer <token>` (the server's "
                            "operator makes one with `zoohub token create NAME`)" if _bearer(request) is None else
                            "the bearer token is unknown or revoked: ask the server's operator for a new one",
                       {"WWW-Authenticate": "Bearer"})
    return name


def reader(request: Request) -> str | None:
    """The token's name when reading needs one (401 without it), else None."""
    if not request.app.state.settings.read_needs_token:
        return None
    name = _who(request)
    if name is None:
        raise ApiError(401, "this server needs a token for reading too: send `Authorization: Bearer <token>` "
                            "(set ZOOHUB_TOKEN for the zoohub client)", {"WWW-Authenticate": "Bearer"})
    return name


def _check_sha256(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ApiError(400, f"{sha256!r} is not a sha256: expected 64 lower-case hex digits")
    return sha256


def _looks_pickled(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    # pickle protocol 2+ opens with PROTO (0x80, version); torch.save writes a zip of pickles
    return (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or head == b"PK\x03\x04"


def check_manifest(store: BlobStore, request: PublishRequest) -> tuple[list[FileEntry], str, str | None]:
    """The checks `hub.publish` makes on a folder, made on uploaded blobs: (entries, config JSON text, card).

    Raises ApiError(400) naming the file for a path with `..`, a blob never uploaded or of another size,
    a config.json that is not a JSON object with "architecture", pickled weights or a broken safetensors header;
    BlobCollected (409) for a blob uploaded but removed by gc since.
    """
    split_model_name(request.name)
    entries, blobs = [], {}
    for spec in request.files:
        check_file_path(spec.path)
        path = store.path(spec.sha256)
        if not path.is_file():
            if store.was_collected(spec.sha256):  # uploaded, then gc took it before the manifest came: publish again
                raise hub_errors.BlobCollected(f"{spec.path}: its blob sha256:{spec.sha256[:12]} was removed from the "
                                               f"store by `zoohub gc` after it was uploaded, before this publish "
                                               f"committed; nothing was published, publish again")
            raise ApiError(400, f"{spec.path}: blob sha256:{spec.sha256} was never uploaded: PUT "
                                f"/api/blobs/{spec.sha256} first, then commit the manifest")
        if path.stat().st_size != spec.size:
            raise ApiError(400, f"{spec.path}: the manifest says {spec.size} bytes, the uploaded blob "
                                f"sha256:{spec.sha256} has {path.stat().st_size}")
        entries.append(FileEntry(spec.path, spec.sha256, spec.size))
        blobs[spec.path] = path
    if len(blobs) != len(entries):
        raise ApiError(400, f"publish {request.name}: a file path appears twice in the manifest")
    for rel, path in blobs.items():
        if rel.lower().endswith(PICKLE_SUFFIXES) or (not rel.endswith(".safetensors") and _looks_pickled(path)):
            raise ApiError(400, f"{rel}: looks like pickled weights, which zoohub refuses because unpickling runs "
                                f"code; convert it to safetensors")
    if "config.json" not in blobs:
        raise ApiError(400, f"publish {request.name}: the manifest has no config.json")
    if not any(rel.endswith(".safetensors") for rel in blobs):
        raise ApiError(400, f"publish {request.name}: the manifest has no *.safetensors weights")
    try:
        config = strict_json(blobs["config.json"].read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"config.json: not JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
        raise ApiError(400, "config.json: must be a JSON object with an \"architecture\" string")
    from core.io import SafetensorsError, read_header
    for rel, path in blobs.items():
        if rel.endswith(".safetensors"):
            try:
                read_header(path)
            except SafetensorsError as exc:
                raise ApiError(400, f"{rel}: {exc}") from None
    card = None
    if "README.md" in blobs:
        raw = blobs["README.md"].read_bytes()
        if len(raw) > MAX_CARD_BYTES:
            raise ApiError(400, f"README.md: the model card is {len(raw)} bytes, over {MAX_CARD_BYTES}")
        try:
            card = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"README.md: not UTF-8 text ({exc})") from None
    return entries, json.dumps(config, sort_keys=True), card


async def _to_thread(func: Callable[..., T], *args: object) -> T:
    """func(*args) in the thread pool, the event loop serving other requests meanwhile. A cancelled request still
    waits for func to return before its cancellation goes on, so the clean-up that follows (a BlobReceiver closing
    and removing its temp file) never runs beside a write or commit of that file in the pool; an error func raises
    then is dropped with the request."""
    call = asyncio.ensure_future(run_in_threadpool(func, *args))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        with anyio.CancelScope(shield=True):  # anyio cancels again at every await of a cancelled scope
            while not call.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([call])
        if not call.cancelled():
            call.exception()  # retrieved, so asyncio does not log it: the request is gone, its cancellation goes on
        raise


async def _receive_upload(request: Request, store: BlobStore, sha256: str, limit: int) -> StoredBlob:
    """Stream the request body into the store, refusing more than `limit` bytes (413) or other content (400).

    The body is written, hashed and committed in the thread pool, CHUNK bytes at a time: a slow disk holds this
    upload only, never the event loop."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the upload is {int(declared)} bytes, over this server's limit of {limit} bytes")
    with store.receive(prefix="upload-") as blob:  # a full or read-only store: 503 naming the file
        batch = bytearray()
        async for chunk in request.stream():
            if blob.size + len(batch) + len(chunk) > limit:
                raise ApiError(413, f"the upload is over this server's limit of {limit} bytes")
            batch += chunk
            if len(batch) >= CHUNK:
                await _to_thread(blob.write, batch)
                batch.clear()
        if batch:
            await _to_thread(blob.write, batch)
        if blob.sha256 != sha256:
            raise ApiError(400, f"the uploaded bytes hash to sha256:{blob.sha256}, not to the "
                                f"sha256:{sha256} the URL names: the upload was damaged or is another file")
        return await _to_thread(blob.commit, sha256)


def _file_chunks(path: Path, first: int, length: int):
    with open(path, "rb") as f:
        f.seek(first)
        left = length
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The ASGI app. Run it with `zoohub serve`, or any ASGI server: `uvicorn --factory hub.server.app:create_app`.

    >>> import uvicorn
    >>> uvicorn.run(create_app(ServerSettings(read_needs_token=True)), host="127.0.0.1", port=8765)
    """
    settings = settings or ServerSettings.from_env()
    app = FastAPI(title="zoohub", version=API_VERSION,
                  description="A zoohub registry and its content-addressed blob store over HTTP.")
    app.state.settings = settings
    app.add_middleware(RateLimit, rate=settings.rate_per_second, burst=settings.burst)
    locks: dict[str, threading.Lock] = {}
    locks_guard = threading.Lock()

    def check_lock(sha256: str) -> threading.Lock:
        with locks_guard:
            return locks.setdefault(sha256, threading.Lock())
    app.add_middleware(RejectParentReferences)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, str(exc), exc.headers)

    @app.exception_handler(registry_errors.RegistryError)
    @app.exception_handler(HubError)
    async def _refused(request: Request, exc: registry_errors.RegistryError | HubError) -> JSONResponse:
        return _error(_status_of(exc), str(exc), retry=not isinstance(exc, _LASTING))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _error(400, f"invalid request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}: {exc}); the server's log has the details")

    @app.get("/api/health")
    def health() -> dict:
        """Liveness: the server answers."""
        return {"status": "ok", "api": API_VERSION}

    @app.get("/api/models")
    def models(task: str | None = None, query: str | None = None, _: str | None = Depends(reader)) -> list[dict]:
        """The registry's models, optionally of one task or matching a text in name or description."""
        with database().read() as session:
            return [to_wire(ModelSummary(name=m.full_name, task=m.task, description=m.description,
                                         license=m.license, in_registry=True,
                                         latest_version=max((v.version for v in m.versions), default=None),
                                         aliases=aliases_of(session, m)))
                    for m in list_models(session, task, query)]

    @app.get("/api/resolve")
    def resolve(ref: str, _: str | None = Depends(reader)) -> dict:
        """The version a reference names (NAME, NAME@3, NAME:ALIAS, NAME@sha256:PREFIX) with its files."""
        parsed = parse_reference(ref)
        with database().read() as session:
            version = resolve_version(session, parsed.name, version=parsed.version, alias=parsed.alias,
                                      manifest_prefix=parsed.manifest_prefix)
            return to_wire(version_info(session, version, verdicts=True))

    @app.get("/api/history")
    def history(name: str, alias: str | None = None, _: str | None = Depends(reader)) -> list[dict]:
        """Every move of the model's aliases (or of one alias), oldest first."""
        split_model_name(name)
        with database().read() as session:
            model = require_model(session, name)
            return [to_wire(AliasChange(model.full_name, e.alias, before, after, e.actor, e.reason, e.at))
                    for e, before, after in alias_history(session, model, check_alias(alias) if alias else None)]

    @app.api_route("/api/blobs/{sha256}", methods=["GET", "HEAD"])
    def download(sha256: str, request: Request, _: str | None = Depends(reader)) -> Response:
        """A blob by sha256. `Range: bytes=N-` sends the rest from byte N (206); ETag is the quoted sha256."""
        store = blob_store()
        path = store.path(_check_sha256(sha256))
        with registry_errors.reading(store.root):  # a store the server may not read: 503 in one line, not a 500
            if not path.is_file():
                raise ApiError(404, f"no blob sha256:{sha256} on this server")
            with check_lock(sha256):  # one re-hash of a blob not yet trusted, however many ask for it at once
                problem = store.check(sha256)
            size = path.stat().st_size
        if problem:
            raise ApiError(500, f"the server's copy of blob sha256:{sha256} is damaged ({problem}); the operator "
                                f"should run `zoohub verify`")
        if request.method == "HEAD":  # a publishing client asking whether to upload: keep it through a `zoohub gc`
            store.mark_wanted(sha256)
        etag = f'"{sha256}"'
        headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "public, max-age=31536000, immutable"}
        if request.headers.get("if-none-match") in (etag, sha256, "*"):
            return Response(status_code=304, headers=headers)
        if_range = request.headers.get("if-range")
        try:
            span = parse_range(request.headers.get("range"), size) if if_range in (None, etag) else None
        except UnsatisfiableRange as exc:
            return _error(416, f"range not satisfiable: {exc}", {"Content-Range": f"bytes */{size}", **headers})
        first, last = span if span else (0, size - 1)
        length = max(0, last - first + 1)
        headers["Content-Length"] = str(length)
        status = 200
        if span:
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers, media_type="application/octet-stream")
        return StreamingResponse(_file_chunks(path, first, length), status_code=status, headers=headers,
                                 media_type="application/octet-stream")

    @app.put("/api/blobs/{sha256}", status_code=201)
    async def upload(sha256: str, request: Request, who: str = Depends(writer)) -> dict:
        """Upload a blob; the body must hash to the URL's sha256. Uploading a blob the server has is harmless."""
        store = blob_store()
        _check_sha256(sha256)
        blob = await _receive_upload(request, store, sha256, settings.max_upload_bytes)
        return {"sha256": blob.sha256, "size": blob.size}

    @app.post("/api/versions")
    def publish(body: PublishRequest, response: Response, who: str = Depends(writer)) -> dict:
        """Commit a manifest of uploaded blobs as a version (201), or return the version with that manifest (200)."""
        store = blob_store()
        with registry_errors.reading(store.root):  # blobs the server may not read: 503 in one line, not a 500
            entries, config_json, card = check_manifest(store, body)
        with database().write() as session:
            check_blobs_present(session, store, ((e.path, e.sha256) for e in entries))
            version, created = publish_version(session, body.name, entries, config_json=config_json, card_md=card,
                                               task=body.task, description=body.description, license=body.license,
                                               source=body.source or f"upload:{who}", created_by=who)
            response.status_code = 201 if created else 200
            return to_wire(version_info(session, version, created=created))

    @app.post("/api/aliases")
    def promote(body: PromoteRequest, who: str = Depends(writer)) -> dict:
        """Point an alias at the version a reference names; the move is kept in the alias history."""
        check_alias(body.alias)
        parsed = parse_reference(body.ref)
        with database().write() as session:
            version = resolve_version(session, parsed.name, version=parsed.version, alias=parsed.alias,
                                      manifest_prefix=parsed.manifest_prefix)
            event, moved = set_alias(session, version, body.alias, actor=who, reason=body.reason)
            return to_wire(alias_change(version.model.full_name, event, moved))

    return app


def serve(host: str = "127.0.0.1", port: int = 8765, settings: ServerSettings | None = None,
          log_level: str = "info", banner: str = "") -> None:
    """Run the server in this process until interrupted (what `zoohub serve` does); `banner` is printed once the
    port is ours."""
    import uvicorn
    database()  # a missing or out-of-date registry is reported before the port opens
    sock = listening_socket(host, port)
    if banner:
        print(banner, flush=True)
    os.environ.setdefault("ZOOHUB_ACTOR", "zoohub-server")
    config = uvicorn.Config(create_app(settings), log_level=log_level, access_log=log_level == "debug")
    with sock:
        uvicorn.Server(config).run(sockets=[sock])


def listening_socket(host: str, port: int, busy_hint: str = "another zoohub serve?") -> socket.socket:
    """The server's socket, bound here so that a port in use, a port that needs privileges or a host that is not
    ours is one HubError line (uvicorn would log it and exit 3). `busy_hint` guesses who holds a busy port."""
    if not 0 <= port < 65536:
        raise HubError(f"--port {port}: expected 1..65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise HubError(f"cannot serve on {host}:{port}: unknown host ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once on a port in TIME_WAIT
        sock.bind(address)
    except OSError as exc:
        sock.close()
        hint = f" ({busy_hint} choose one with --port)" if exc.errno == errno.EADDRINUSE else ""
        raise HubError(f"cannot serve on {host}:{port}: {exc.strerror}{hint}") from None
    return sock
