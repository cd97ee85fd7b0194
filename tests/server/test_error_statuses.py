"""The status a registry or hub error is answered with: a subclass of an error the server knows gets its parent's
status, and a registry error the hub turned into its own error keeps the status it had."""
from __future__ import annotations

import socket
import threading

import pytest
import requests
import uvicorn

from hub import errors as hub_errors
from hub.errors import user_errors
from hub.server.app import create_app
from hub.server.settings import ServerSettings
from registry import errors as registry_errors
from tests.registry_error_subclasses import SUBCLASSED


RAISED = {
    **SUBCLASSED,
    "read-only": lambda: registry_errors.ReadOnlyRegistry("/srv/registry.db", "a read-only mount"),
}
# raised by the server's own routes only: through the hub it is a RegistryUnavailable, which asking again may cure
SERVER_RAISED = {"unreadable": lambda: registry_errors.NotReadable("/srv/blobs/sha256/aa", "permission denied")}

HUB_RAISED = {
    "not-found": lambda: hub_errors.ModelNotFound("unknown model 'test/nothing'; did you mean 'test/tiny'?"),
    "bad-reference": lambda: hub_errors.InvalidReference("malformed reference 'test/tiny@x'"),
    "plain": lambda: hub_errors.HubError("gc: batch_size must be a whole number >= 1, got 0"),
    "collected": lambda: hub_errors.BlobCollected("model.safetensors: its blob sha256:aaaa was removed from the "
                                                  "store (by `zoohub gc`?) before this publish committed; nothing "
                                                  "was published, publish again"),
    "unreachable": lambda: hub_errors.RegistryUnavailable("cannot use the registry database at "
                                                          "postgresql://db/zoohub: connection refused"),
    "not-writable": lambda: hub_errors.RegistryNotWritable("cannot write /srv/blobs/tmp/x.partial: no space left"),
    "schema": lambda: hub_errors.SchemaOutOfDate("the registry at /srv/registry.db is at schema revision 3, this "
                                                 "zoohub needs 4: run `zoohub db upgrade`"),
    "damaged": lambda: hub_errors.IntegrityError("test/tiny@1: file model.safetensors is damaged"),
}


@pytest.fixture(scope="module")
def raising_server():
    """The server's app on a real uvicorn in a thread, with more routes raising the error their path names: a
    registry error, the hub error it becomes, or a hub error."""
    app = create_app(ServerSettings(rate_per_second=0))

    @app.get("/test/raise/{kind}")
    def raise_it(kind: str) -> None:
        raise RAISED[kind]()

    @app.get("/test/raise-server/{kind}")
    def raise_in_server(kind: str) -> None:
        raise SERVER_RAISED[kind]()

    @app.get("/test/through-hub/{kind}")
    @user_errors
    def raise_through_hub(kind: str) -> None:
        raise RAISED[kind]()

    @app.get("/test/raise-hub/{kind}")
    def raise_hub(kind: str) -> None:
        raise HUB_RAISED[kind]()

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


def test_a_store_the_server_cannot_read_is_a_lasting_503_not_the_callers_400(raising_server):
    response = requests.get(f"{raising_server}/test/raise-server/unreadable", timeout=30)
    assert response.status_code == 503
    assert response.json() == {"error": "cannot read /srv/blobs/sha256/aa: permission denied", "status": 503,
                               "retry": False}


@pytest.mark.parametrize("kind", list(RAISED))
def test_a_registry_error_turned_into_a_hub_error_keeps_its_status(raising_server, kind):
    direct = requests.get(f"{raising_server}/test/raise/{kind}", timeout=30)
    through_hub = requests.get(f"{raising_server}/test/through-hub/{kind}", timeout=30)
    assert through_hub.status_code == direct.status_code
    assert through_hub.json() == direct.json()


@pytest.mark.parametrize("kind, status, retry", [("not-found", 404, True), ("bad-reference", 400, True),
                                                 ("plain", 400, True), ("collected", 409, True),
                                                 ("unreachable", 503, True),
                                                 ("not-writable", 503, False), ("schema", 503, False),
                                                 ("damaged", 500, True)])
def test_a_hub_error_is_answered_with_the_status_of_its_class(raising_server, kind, status, retry):
    response = requests.get(f"{raising_server}/test/raise-hub/{kind}", timeout=30)
    assert response.status_code == status
    body = response.json()
    assert body["status"] == status and body["error"] == str(HUB_RAISED[kind]())
    assert body.get("retry", True) is retry
