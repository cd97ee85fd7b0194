"""The hub API against a zoohub server: set ZOOHUB_REMOTE=http://host:port (and ZOOHUB_TOKEN for writing).

`hub.load`, `pull`, `list`, `info`, `history`, `publish` and `promote` then go to the server through one
requests.Session (timeouts, retries with exponential backoff, Retry-After honoured). The local blob store stays
the cache:

- a download is streamed into $ZOOHUB_HOME/downloads/<sha256>.partial and resumed with `Range` after a
  dropped connection, a server restart or a full disk; the whole file is hashed, and only a file whose sha256
  is the one the manifest names enters the blob store (a damaged download is deleted, nothing is cached);
- every resolved reference is remembered under $ZOOHUB_HOME/remote/, so when the server cannot be reached a
  version whose blobs are cached still loads, with a one-line warning on stderr.

>>> import os, hub
>>> os.environ["ZOOHUB_REMOTE"] = "http://models.internal:8765"
>>> model = hub.load("vision/digits-cnn:production")
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from hub.errors import BlobCollected, HubError, IntegrityError, InvalidModel, InvalidReference, ModelNotFound
from hub.progress import byte_bar
from hub.records import AliasChange, ModelSummary, VersionInfo
from hub.server.wire import change_from_wire, summary_from_wire, version_from_wire
from registry.blobstore import CHUNK, discard
from registry.db import zoohub_home
from registry.errors import NotWritable, scratch_folder, writing

log = logging.getLogger("zoohub.remote")

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
RETRY_STATUSES = (429, 500, 502, 503, 504)


class RemoteUnavailable(HubError):
    """The server could not be reached (after the retries) or kept failing."""


class RemoteRefused(HubError):
    """The server answered with an error a person must act on (401, 403, 413, ...)."""


def enabled() -> bool:
    """True when ZOOHUB_REMOTE names a server."""
    return bool(os.environ.get("ZOOHUB_REMOTE", "").strip())


def _worth_retrying(response: requests.Response) -> bool:
    """False when a retryable status comes with the server's word that asking again will not help (`"retry": false`
    in its error body: a full or read-only store, a schema to upgrade)."""
    try:
        return response.json().get("retry", True) is not False
    except (ValueError, AttributeError):
        return True


class RemoteClient:
    """One server, one requests.Session (connection reuse), timeouts and retries with backoff.

    >>> client = RemoteClient("http://127.0.0.1:8765", token=os.environ.get("ZOOHUB_TOKEN"))
    >>> [m.name for m in client.list_models(task="speech")]
    ['speech/base']
    """

    def __init__(self, base_url: str, token: str | None = None, *, retries: int | None = None,
                 backoff: float | None = None, timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)) -> None:
        try:
            parts = urlsplit(base_url.strip())
            parts.port  # noqa: B018 -- raises ValueError for a port that is not a number in 0..65535
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidReference(f"ZOOHUB_REMOTE={base_url!r} is not a server URL: expected http://host:port")
        self.base_url = base_url.strip().rstrip("/")
        self.token = token or None
        self.retries = _env_number("ZOOHUB_REMOTE_RETRIES", 5, int) if retries is None else retries
        self.backoff = _env_number("ZOOHUB_REMOTE_BACKOFF", 0.25, float) if backoff is None else backoff
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "zoohub-client/1"
        if self.token:
            self.session.headers["Authorization"] = f"Bearer {self.token}"
        self.latencies: list[float] = []  # seconds per request (to first byte), for whoever measures

    @property
    def cache_dir(self) -> Path:
        """Where the resolutions of this server's references are remembered."""
        return zoohub_home() / "remote" / quote(urlsplit(self.base_url).netloc, safe="")

    def _sleep(self, attempt: int, response: requests.Response | None) -> None:
        delay = min(self.backoff * (2 ** attempt), 8.0)
        if response is not None and response.headers.get("retry-after", "").isdigit():
            delay = max(delay, float(response.headers["retry-after"]))
        time.sleep(delay)

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs) -> requests.Response:
        """Send with retries on connection errors, timeouts and 429/5xx; HubError for other statuses."""
        url = self.base_url + path
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            response = None
            try:
                started = time.perf_counter()
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
                self.latencies.append(time.perf_counter() - started)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = exc
            else:
                if response.status_code in ok:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise self._refusal(response)
                if not _worth_retrying(response):  # the server says asking again will not help (its disk is full)
                    raise RemoteUnavailable(self._message(response))
                last = RemoteUnavailable(self._message(response))
                response.close()
            if attempt < self.retries:
                rewind = kwargs.get("data")
                if hasattr(rewind, "seek"):
                    rewind.seek(0)
                self._sleep(attempt, response)
        raise RemoteUnavailable(f"zoohub server {self.base_url} unreachable after {self.retries + 1} attempts: "
                                f"{_first_line(last)}")

    def _message(self, response: requests.Response) -> str:
        try:
            message = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200] or response.reason
        return f"{self.base_url} answered {response.status_code}: {message}"

    def _refusal(self, response: requests.Response) -> HubError:
        message = self._message(response)
        if response.status_code == 404:
            return ModelNotFound(message)
        if response.status_code == 409:  # the server's gc removed an uploaded blob before the publish committed
            return BlobCollected(message)
        if response.status_code == 400:
            return InvalidModel(message) if response.request.method in ("POST", "PUT") else InvalidReference(message)
        return RemoteRefused(message)

    # reading

    def list_models(self, task: str | None = None, query: str | None = None) -> list[ModelSummary]:
        params = {k: v for k, v in (("task", task), ("query", query)) if v}
        return [summary_from_wire(doc) for doc in self.request("GET", "/api/models", params=params).json()]

    def resolve(self, ref: str) -> VersionInfo:
        """The version ref names on the server; the answer is remembered for offline use."""
        doc = self.request("GET", "/api/resolve", params={"ref": ref}).json()
        self._remember(ref, doc)
        return version_from_wire(doc)

    def history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        params = {"name": name, **({"alias": alias} if alias else {})}
        return [change_from_wire(doc) for doc in self.request("GET", "/api/history", params=params).json()]

    def _ref_file(self, ref: str) -> Path:
        return self.cache_dir / "refs" / (hashlib.sha256(ref.strip().encode()).hexdigest() + ".json")

    def _remember(self, ref: str, doc: dict) -> None:
        path = self._ref_file(ref)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            with writing(tmp):
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps({"ref": ref, "resolved_at": time.time(), "version": doc}))
                os.replace(tmp, path)
        finally:
            discard(tmp)

    def remembered(self, ref: str) -> tuple[VersionInfo, float] | None:
        """The last resolution of ref this machine saw, with when (epoch seconds), or None."""
        try:
            doc = json.loads(self._ref_file(ref).read_text())
        except (OSError, ValueError):
            return None
        return version_from_wire(doc["version"]), doc["resolved_at"]

    def download(self, sha256: str, size: int, store: Any, progress: bool | None = None) -> None:
        """Fetch a blob into the local store unless it is there intact; resumes partial downloads with Range."""
        if _intact(store, sha256, size):
            return
        partial = zoohub_home() / "downloads" / f"{sha256}.partial"
        try:
            with writing(partial):
                partial.parent.mkdir(parents=True, exist_ok=True)
                with open(partial, "ab") as out:
                    fcntl.flock(out.fileno(), fcntl.LOCK_EX)  # one writer per partial; correctness rests on the hash
                    try:
                        if _intact(store, sha256, size):
                            return
                        self._fetch(sha256, size, out, partial, progress)
                        actual = _hash_file(partial)
                        if actual != sha256:
                            partial.unlink(missing_ok=True)
                            raise IntegrityError(f"download of blob sha256:{sha256} from {self.base_url} hashes to "
                                                 f"sha256:{actual}: the bytes were altered in transit (a proxy?) or "
                                                 f"the server's copy is damaged; refused, nothing was cached")
                        store.put_file(partial, expected_sha256=sha256)
                        partial.unlink(missing_ok=True)
                    finally:
                        fcntl.flock(out.fileno(), fcntl.LOCK_UN)
        except NotWritable as exc:
            try:
                kept = os.path.getsize(partial)
            except OSError:  # missing, or its folder is not searchable (another user's): nothing of ours is kept
                kept = 0
            if not kept:
                discard(partial)
                raise
            # the bytes so far are a prefix of the blob (the hash checks the whole at the end): the next pull resumes
            where = "it" if exc.path == str(partial) else str(partial)
            raise NotWritable(exc.path, f"{exc.reason}; the {kept} bytes downloaded so far stay in {where} for the "
                                        f"next pull to resume from (delete it to free them)") from None

    def _fetch(self, sha256: str, size: int, out, partial: Path, progress: bool | None) -> None:
        have = partial.stat().st_size
        if have > size:
            out.truncate(0)
            have = 0
        with byte_bar(size, f"download {sha256[:12]}", progress) as update:
            update(have)
            failures = 0
            while have < size:
                headers = {"Range": f"bytes={have}-", "If-Range": f'"{sha256}"'} if have else {}
                if have:
                    log.info("resuming blob sha256:%s at byte %d of %d", sha256[:12], have, size)
                response = self.request("GET", f"/api/blobs/{sha256}", ok=(200, 206), headers=headers, stream=True)
                try:
                    if response.status_code == 200 and have:
                        out.truncate(0)  # the server ignored the range: start over
                        have = 0
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
                        have += len(chunk)
                        update(len(chunk))
                        if have > size:
                            break
                    out.flush()
                except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                    out.flush()
                    failures += 1
                    if failures > self.retries:
                        raise RemoteUnavailable(f"download of blob sha256:{sha256} from {self.base_url} broke off "
                                                f"{failures} times (last: {_first_line(exc)}); run the command "
                                                f"again to resume at byte {have}") from None
                    self._sleep(failures - 1, None)
                finally:
                    response.close()
                if have > size:
                    raise IntegrityError(f"download of blob sha256:{sha256} from {self.base_url} is longer than "
                                         f"the {size} bytes the manifest names; refused, nothing was cached")

    # writing

    def upload(self, path: Path, sha256: str) -> None:
        """PUT one blob unless the server has it already (a HEAD answers that)."""
        if self.request("HEAD", f"/api/blobs/{sha256}", ok=(200, 404)).status_code == 200:
            return
        with open(path, "rb") as f:
            self.request("PUT", f"/api/blobs/{sha256}", ok=(201,), data=f,
                         headers={"Content-Type": "application/octet-stream",
                                  "Content-Length": str(path.stat().st_size)})

    def publish_folder(self, folder: Path, name: str, task: str | None, description: str, license: str,
                       source: str, progress: bool | None) -> VersionInfo:
        """Check the folder as `hub.publish` does, upload its blobs, then commit the manifest."""
        from hub.publishing import check_folder
        from registry.blobstore import hash_file
        files, _, _ = check_folder(folder)
        manifest = []
        with byte_bar(sum(p.stat().st_size for p in files.values()), f"upload {name}", progress) as update:
            for rel, path in files.items():
                sha256 = hash_file(path)
                self.upload(path, sha256)
                size = path.stat().st_size
                manifest.append({"path": rel, "sha256": sha256, "size": size})
                update(size)
        body = {"name": name, "files": manifest, "task": task, "description": description, "license": license,
                "source": source}
        return version_from_wire(self.request("POST", "/api/versions", ok=(200, 201), json=body).json())

    def promote(self, ref: str, alias: str, reason: str = "") -> AliasChange:
        body = {"ref": ref, "alias": alias, "reason": reason}
        return change_from_wire(self.request("POST", "/api/aliases", json=body).json())


def _env_number(name: str, default: float, kind: type) -> float:
    """A number >= 0 from the environment variable name (default when unset); HubError for anything else."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = -1
    if not value >= 0:
        raise HubError(f"{name}={text!r}: expected {'a whole number' if kind is int else 'a number'} >= 0")
    return value


def _first_line(exc: object) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _intact(store: Any, sha256: str, size: int) -> bool:
    try:
        with writing(store.root):  # a store this user cannot search (another user's) cannot take the blob either
            return store.check(sha256, size) is None
    except FileNotFoundError:
        return False


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


_clients: dict[tuple[str, str | None], RemoteClient] = {}
_clients_lock = threading.Lock()


def client() -> RemoteClient:
    """The client of $ZOOHUB_REMOTE with $ZOOHUB_TOKEN, one per (server, token) in this process."""
    key = (os.environ["ZOOHUB_REMOTE"].strip(), os.environ.get("ZOOHUB_TOKEN") or None)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = RemoteClient(*key)
        return _clients[key]


def _warn(message: str) -> None:
    print(f"zoohub: warning: {message}", file=sys.stderr)


def pull(ref: str, progress: bool | None = None) -> VersionInfo:
    """Resolve on the server, download what the local store lacks (hash-checked), lay out the version folder.

    Server unreachable: the last resolution of ref seen here is used if all its blobs are cached, with a warning.
    """
    from hub.access import blob_store
    from hub.loading import check_version_blobs, version_folder
    remote = client()
    store = blob_store()
    try:
        info = remote.resolve(ref)
    except RemoteUnavailable as exc:
        cached = remote.remembered(ref)
        if cached is None or check_version_blobs(cached[0], store):
            raise RemoteUnavailable(f"{exc}; and {ref} was never fully downloaded here, so there is no cached "
                                    f"copy to fall back on") from None
        info, when = cached
        _warn(f"{remote.base_url} unreachable; loading the cached {info.ref} (resolved "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(when))})")
        return replace(info, folder=version_folder(info, store))
    for f in info.files:
        remote.download(f.sha256, f.size, store, progress)
    problems = check_version_blobs(info, store)
    if problems:
        raise IntegrityError(problems[0])
    return replace(info, folder=version_folder(info, store))


def load(ref: str, progress: bool | None = None) -> Any:
    """`hub.load` through the server: pull, then build from the version folder."""
    from hub.loading import build_version
    return build_version(pull(ref, progress))


def publish(source: Any, name: str, *, config: dict | None, card: str | None, task: str | None, description: str,
            license: str, source_label: str | None, progress: bool | None) -> VersionInfo:
    """`hub.publish` through the server: a folder, or a core.nn.Module with its config written as one."""
    from hub.publishing import write_module_folder
    from registry.names import split_model_name
    split_model_name(name)
    if hasattr(source, "state_dict"):
        with scratch_folder("zoohub-publish-") as tmp:
            write_module_folder(source, config, card, tmp)
            return client().publish_folder(tmp, name, task, description, license, source_label or "module",
                                           progress)
    if config is not None or card is not None:
        raise InvalidModel("config= and card= are for publishing a module; a folder carries config.json and "
                           "README.md")
    folder = Path(source)
    return client().publish_folder(folder, name, task, description, license,
                                   source_label or f"folder:{folder.resolve()}", progress)
