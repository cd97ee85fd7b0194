"""ASGI middlewares in front of every route: no `..` anywhere in a request target, and a request rate limit.

They run before routing, so a traversal attempt is refused whatever route it aims at, and a client over its
rate is refused before any database work.
"""
from __future__ import annotations

import json
import threading
import time
from urllib.parse import unquote, unquote_to_bytes


async def _send_json(send, status: int, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


def has_parent_reference(target: str) -> bool:
    """True if '..' appears as a path segment once percent-decoding is undone (twice, for double encoding)."""
    for text in (target, unquote(target), unquote(unquote(target))):
        for segment in text.replace("\\", "/").replace("?", "/").replace("&", "/").replace("=", "/").split("/"):
            if segment.strip() == "..":
                return True
    return False


class RejectParentReferences:
    """400 for any request whose path or query names `..` (raw, percent-encoded or double-encoded)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode()
            target = unquote_to_bytes(raw).decode("latin-1") + "?" + scope.get("query_string", b"").decode("latin-1")
            if has_parent_reference(raw.decode("latin-1")) or has_parent_reference(target):
                await _send_json(send, 400, "'..' is not allowed in a request path or query: name blobs by sha256 "
                                            "and models as namespace/name")
                return
        await self.app(scope, receive, send)


class RateLimit:
    """A token bucket per client address: `rate` requests per second on average, up to `burst` at once; 429."""

    def __init__(self, app, rate: float, burst: int) -> None:
        self.app = app
        self.rate = rate
        self.burst = max(1, burst)
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, time of last refill)
        self.lock = threading.Lock()

    def _take(self, client: str) -> float:
        """0 if the request may go, else the seconds until it could."""
        now = time.monotonic()
        with self.lock:
            tokens, then = self.buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self.buckets[client] = (tokens - 1.0, now)
                return 0.0
            self.buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and self.rate > 0:
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self._take(client)
            if wait > 0:
                retry = max(1, round(wait + 0.5))
                await _send_json(send, 429, f"too many requests from {client}: the limit is {self.rate:g} per "
                                            f"second (bursts of {self.burst}); retry in {retry} s",
                                 [(b"retry-after", str(retry).encode())])
                return
        await self.app(scope, receive, send)
