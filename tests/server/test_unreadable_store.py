"""A blob store the server process may not read (another user's 0700 folder): a download or publish is answered 503
with one line naming the path and `"retry": false`, never a 500 with a PermissionError."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from hashlib import sha256
from pathlib import Path

import pytest
import requests

from registry.blobstore import BlobStore
from tests.permissions import as_bound_by_permissions
from tests.server.conftest import ROOT, Server, free_port

CONFIG = json.dumps({"architecture": "tiny"}).encode()


@pytest.fixture
def closed_blob(server_home, write_token):
    """(server, blob path) with the blob uploaded, then its store's sha256/ folder closed to the server process."""
    server = Server(server_home, free_port(), ("--rate", "0"), wrap=as_bound_by_permissions).start()
    sha = sha256(CONFIG).hexdigest()
    uploaded = requests.put(f"{server.url}/api/blobs/{sha}", data=CONFIG, timeout=10,
                            headers={"Authorization": f"Bearer {write_token}"})
    assert uploaded.status_code == 201, uploaded.text
    blob = BlobStore(server_home / "blobs").path(sha)
    closed = server_home / "blobs" / "sha256"
    closed.chmod(0o000)
    try:
        yield server, blob
    finally:
        closed.chmod(0o755)
        server.stop()


def _assert_not_readable(response: requests.Response, blob: Path) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {"error": f"cannot read {blob}: permission denied", "status": 503, "retry": False}


def test_downloading_from_a_store_the_server_cannot_read_is_503_naming_the_blob(closed_blob):
    # is_file() and check() raised PermissionError: a 500 "internal error" with the traceback in the server's log
    server, blob = closed_blob
    _assert_not_readable(requests.get(f"{server.url}/api/blobs/{blob.name}", timeout=10), blob)
    assert requests.head(f"{server.url}/api/blobs/{blob.name}", timeout=10).status_code == 503


def test_publishing_onto_a_store_the_server_cannot_read_is_503_naming_the_blob(closed_blob, write_token):
    server, blob = closed_blob
    manifest = {"name": "test/tiny", "files": [{"path": "config.json", "sha256": blob.name, "size": len(CONFIG)}]}
    response = requests.post(f"{server.url}/api/versions", json=manifest, timeout=10,
                             headers={"Authorization": f"Bearer {write_token}"})
    _assert_not_readable(response, blob)


def test_check_blobs_present_on_a_store_this_process_cannot_read_raises_not_readable(closed_blob, server_home):
    _, blob = closed_blob
    check = ("from hub.access import blob_store, database; from hub.garbage import check_blobs_present\n"
             "with database().write() as session:\n"
             f"    check_blobs_present(session, blob_store(), [('config.json', '{blob.name}')])")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOOHUB_HOME": str(server_home)}
    proc = subprocess.run(as_bound_by_permissions([sys.executable, "-c", check]), capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"registry.errors.NotReadable: cannot read {blob}: permission denied"
