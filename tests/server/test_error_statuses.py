"""The status a registry error is answered with: a subclass of an error the server knows gets its parent's status."""
from __future__ import annotations

import socket
import threading

import pytest
import requests
import uvicorn

from hub.server.app import create_app
from hub.server.settings import ServerSettings
from registry import errors as registry_errors


class VanishedVersion(registry_errors.NotFound):
    pass


class QuotaExhausted(registry_errors.NotWritable):
    pass


class TornBlob(registry_errors.BlobCorrupt):
    pass


class OddAlias(registry_errors.InvalidName):
    pass


RAISED = {
    "vanished": lambda: VanishedVersion("speech/base@7 was removed"),
    "quota": lambda: QuotaExhausted("/srv/blobs/tmp/x.partial", "the disk quota is exhausted"),
    "torn": lambda: TornBlob("a" * 64, "blob sha256:aaaa is shorter than its size"),
    "odd": lambda: OddAlias("invalid alias 'Prod'"),
    "read-only": lambda: registry_errors.ReadOnlyRegistry("/srv/registry.db", "a read-only mount"),
}


@pytest.fixture(scope="module")
def raising_server():
    """The server's app on a real uvicorn in a thread, with one more route raising the error its path names."""
    app = create_app(ServerSettings(rate_per_second=0))

    @app.get("/test/raise/{kind}")
    def raise_it(kind: str) -> None:
        raise RAISED[kind]()

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # requests queue on the socket until uvicorn accepts them: no wait for the start
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.mark.parametrize("kind, status, retry", [("vanished", 404, True), ("quota", 503, False), ("torn", 500, True),
                                                 ("odd", 400, True), ("read-only", 503, False)])
def test_a_subclass_of_a_registry_error_is_answered_with_its_parents_status(raising_server, kind, status, retry):
    response = requests.get(f"{raising_server}/test/raise/{kind}", timeout=30)
    assert response.status_code == status
    body = response.json()
    assert body["status"] == status and body["error"] == str(RAISED[kind]())
    assert body.get("retry", True) is retry
