"""The HTTP API of `zoohub serve` on a real server process: tokens, `..`, limits, manifests, Range and ETag."""
from __future__ import annotations

import hashlib
import http.client
import json
import re
import time
from pathlib import Path

import requests

from tests.hub.tiny_model import write_folder
from tests.mounts import read_only, small_disk
from tests.server.conftest import zoohub


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def raw_request(server, method: str, target: str, body: bytes = b"", headers: dict | None = None):
    """A request sent with the target exactly as written (clients normalise `..` away; attackers do not)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for key, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            conn.putheader(key, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def upload(server, data: bytes, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.put(f"{server.url}/api/blobs/{sha256(data)}", data=data, headers=headers, timeout=10)


def publish_files(server, folder: Path, name: str, token: str) -> requests.Response:
    files = []
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        assert upload(server, data, token).status_code == 201
        files.append({"path": path.name, "sha256": sha256(data), "size": len(data)})
    return requests.post(f"{server.url}/api/versions", json={"name": name, "files": files},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)


def stored_blobs(home: Path) -> set[str]:
    return {p.name for p in (home / "blobs" / "sha256").glob("*/*")}


def test_write_without_or_with_a_wrong_token_is_401_and_writes_nothing(server, tmp_path):
    data = b"some weights"
    for token in (None, "zh_not-a-token"):
        response = upload(server, data, token)
        assert response.status_code == 401
        assert "token" in response.json()["error"]
        assert response.headers["www-authenticate"] == "Bearer"
    assert sha256(data) not in stored_blobs(server.home)
    body = {"name": "test/tiny", "files": []}
    for headers in ({}, {"Authorization": "Bearer zh_wrong"}):
        response = requests.post(f"{server.url}/api/versions", json=body, headers=headers, timeout=10)
        assert response.status_code == 401
        response = requests.post(f"{server.url}/api/aliases", json={"ref": "test/tiny@1", "alias": "production"},
                                 headers=headers, timeout=10)
        assert response.status_code == 401
    assert requests.get(f"{server.url}/api/models", timeout=10).json() == []


def test_revoked_token_is_refused(server, write_token):
    zoohub("token", "revoke", "alice", home=server.home)
    assert upload(server, b"x", write_token).status_code == 401
    again = zoohub("token", "create", "alice", home=server.home, check=False)
    assert again.returncode == 1 and "a revoked token called 'alice' exists" in again.stderr


def test_parent_references_anywhere_are_400(server, write_token, tmp_path):
    auth = {"Authorization": f"Bearer {write_token}"}
    for target in ("/api/blobs/../../etc/passwd", "/api/blobs/%2e%2e/%2e%2e/etc/passwd", "/api/../api/models",
                   "/api/resolve?ref=../etc", "/api/resolve?ref=test%2F..%2Fx", "/api/blobs/%252e%252e%252fetc"):
        status, body = raw_request(server, "GET", target)
        assert status == 400, target
        assert ".." in body["error"]
    status, _ = raw_request(server, "PUT", "/api/blobs/../x", b"data", auth)
    assert status == 400
    folder = write_folder(tmp_path / "m")
    data = (folder / "config.json").read_bytes()
    assert upload(server, data, write_token).status_code == 201
    for name, path in (("test/tiny", "../config.json"), ("../tiny", "config.json"), ("test/..", "config.json"),
                       ("test/tiny", "sub/../../config.json")):
        response = requests.post(f"{server.url}/api/versions", headers=auth, timeout=10, json={
            "name": name, "files": [{"path": path, "sha256": sha256(data), "size": len(data)}]})
        assert response.status_code == 400, (name, path)
    assert requests.get(f"{server.url}/api/models", timeout=10).json() == []


def test_upload_over_the_limit_is_413_and_not_stored(make_server, write_token):
    server = make_server("--rate", "0", "--max-upload", "1000")
    big = bytes(range(256)) * 8
    response = upload(server, big, write_token)
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["error"]
    assert sha256(big) not in stored_blobs(server.home)

    def chunks():  # no Content-Length: the limit is enforced while the body streams in
        yield big[:900]
        yield big[900:]
    response = requests.put(f"{server.url}/api/blobs/{sha256(big)}", data=chunks(), timeout=10,
                            headers={"Authorization": f"Bearer {write_token}"})
    assert response.status_code == 413
    assert sha256(big) not in stored_blobs(server.home)
    assert upload(server, big[:1000], write_token).status_code == 201


def test_upload_whose_bytes_do_not_hash_to_the_url_is_400(server, write_token):
    response = requests.put(f"{server.url}/api/blobs/{sha256(b'one')}", data=b"two", timeout=10,
                            headers={"Authorization": f"Bearer {write_token}"})
    assert response.status_code == 400
    assert sha256(b"two") in response.json()["error"]
    assert not stored_blobs(server.home)


def test_manifest_naming_a_blob_never_uploaded_is_400_and_publishes_nothing(server, write_token, tmp_path):
    folder = write_folder(tmp_path / "m")
    config = (folder / "config.json").read_bytes()
    assert upload(server, config, write_token).status_code == 201
    weights = (folder / "model.safetensors").read_bytes()
    response = requests.post(f"{server.url}/api/versions", headers={"Authorization": f"Bearer {write_token}"},
                             timeout=10, json={"name": "test/tiny", "files": [
                                 {"path": "config.json", "sha256": sha256(config), "size": len(config)},
                                 {"path": "model.safetensors", "sha256": sha256(weights), "size": len(weights)}]})
    assert response.status_code == 400
    message = response.json()["error"]
    assert "model.safetensors" in message and sha256(weights) in message and "never uploaded" in message
    assert requests.get(f"{server.url}/api/models", timeout=10).json() == []


def test_publish_checks_the_uploaded_files(server, write_token, tmp_path):
    folder = write_folder(tmp_path / "m")
    (folder / "weights.pt").write_bytes(b"\x80\x04pickled")
    response = publish_files(server, folder, "test/tiny", write_token)
    assert response.status_code == 400 and "pickle" in response.json()["error"]
    (folder / "weights.pt").unlink()
    (folder / "config.json").write_text("{not json")
    response = publish_files(server, folder, "test/tiny", write_token)
    assert response.status_code == 400 and "config.json" in response.json()["error"]


def test_publish_then_same_manifest_returns_the_existing_version(server, write_token, tmp_path):
    folder = write_folder(tmp_path / "m")
    first = publish_files(server, folder, "test/tiny", write_token)
    assert first.status_code == 201
    assert first.json()["version"] == 1 and first.json()["created"] is True
    assert first.json()["created_by"] == "alice"
    again = publish_files(server, folder, "test/tiny", write_token)
    assert again.status_code == 200
    assert again.json()["version"] == 1 and again.json()["created"] is False
    assert again.json()["manifest_sha256"] == first.json()["manifest_sha256"]


def test_download_has_the_sha256_as_etag_and_serves_ranges(server, write_token, tmp_path):
    folder = write_folder(tmp_path / "m", n_in=64, n_out=64)
    publish_files(server, folder, "test/tiny", write_token)
    data = (folder / "model.safetensors").read_bytes()
    url = f"{server.url}/api/blobs/{sha256(data)}"
    whole = requests.get(url, timeout=10)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["etag"] == f'"{sha256(data)}"' and whole.headers["accept-ranges"] == "bytes"
    part = requests.get(url, headers={"Range": "bytes=100-"}, timeout=10)
    assert part.status_code == 206 and part.content == data[100:]
    assert part.headers["content-range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    middle = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert middle.status_code == 206 and middle.content == data[10:20]
    tail = requests.get(url, headers={"Range": "bytes=-7"}, timeout=10)
    assert tail.content == data[-7:]
    stale = requests.get(url, headers={"Range": "bytes=10-", "If-Range": '"' + "0" * 64 + '"'}, timeout=10)
    assert stale.status_code == 200 and stale.content == data
    beyond = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10)
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"
    cached = requests.get(url, headers={"If-None-Match": whole.headers["etag"]}, timeout=10)
    assert cached.status_code == 304 and cached.content == b""
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(data)
    missing = requests.get(f"{server.url}/api/blobs/{'0' * 64}", timeout=10)
    assert missing.status_code == 404 and "no blob" in missing.json()["error"]
    assert requests.get(f"{server.url}/api/blobs/xyz", timeout=10).status_code == 400


def test_resolve_promote_and_history(server, write_token, tmp_path):
    auth = {"Authorization": f"Bearer {write_token}"}
    for seed in (1, 2):
        publish_files(server, write_folder(tmp_path / f"m{seed}", seed=seed), "test/tiny", write_token)
    response = requests.post(f"{server.url}/api/aliases", json={"ref": "test/tiny@1", "alias": "production",
                                                                "reason": "first"}, headers=auth, timeout=10)
    assert response.status_code == 200
    assert response.json()["to_version"] == 1 and response.json()["actor"] == "alice"
    resolved = requests.get(f"{server.url}/api/resolve", params={"ref": "test/tiny"}, timeout=10).json()
    assert resolved["version"] == 1 and resolved["aliases"] == {"production": 1}
    assert {f["path"] for f in resolved["files"]} == {"README.md", "config.json", "model.safetensors"}
    assert requests.get(f"{server.url}/api/resolve", params={"ref": "test/tiny@2"}, timeout=10).json()["version"] == 2
    missing = requests.get(f"{server.url}/api/resolve", params={"ref": "test/tiny@9"}, timeout=10)
    assert missing.status_code == 404 and "no version 9" in missing.json()["error"]
    malformed = requests.get(f"{server.url}/api/resolve", params={"ref": "Test Tiny"}, timeout=10)
    assert malformed.status_code == 400
    huge = requests.get(f"{server.url}/api/resolve", params={"ref": "test/tiny@99999999999999999999"}, timeout=10)
    assert huge.status_code == 400 and "versions are numbered from 1 to" in huge.json()["error"]
    same = {"ref": "test/tiny@1", "alias": "production", "reason": "again"}
    again = requests.post(f"{server.url}/api/aliases", json=same, headers=auth, timeout=10)
    assert again.status_code == 200 and (again.json()["from_version"], again.json()["reason"]) == (1, "first")
    bad = requests.post(f"{server.url}/api/aliases", json={**same, "alias": "staging", "reason": "two\nlines"},
                        headers=auth, timeout=10)
    assert bad.status_code == 400 and "invalid reason: it has the control character U+000A" in bad.json()["error"]
    history = requests.get(f"{server.url}/api/history", params={"name": "test/tiny"}, timeout=10).json()
    assert [(h["alias"], h["to_version"], h["reason"]) for h in history] == [("production", 1, "first")]
    models = requests.get(f"{server.url}/api/models", params={"query": "tiny"}, timeout=10).json()
    assert [(m["name"], m["latest_version"]) for m in models] == [("test/tiny", 2)]


def test_reading_can_require_a_token(make_server, write_token):
    server = make_server("--rate", "0", "--read", "token")
    response = requests.get(f"{server.url}/api/models", timeout=10)
    assert response.status_code == 401 and "reading" in response.json()["error"]
    assert requests.get(f"{server.url}/api/models", headers={"Authorization": f"Bearer {write_token}"},
                        timeout=10).status_code == 200


def test_request_rate_over_the_limit_is_429_with_retry_after(make_server):
    server = make_server("--rate", "1", "--burst", "3")
    statuses = [requests.get(f"{server.url}/api/health", timeout=10) for _ in range(6)]
    assert statuses[0].status_code == 200  # the start-up probe spent one of the burst of 3
    refused = [r for r in statuses if r.status_code == 429]
    assert len(refused) >= 3 and int(refused[0].headers["retry-after"]) >= 1
    assert "too many requests" in refused[0].json()["error"]
    time.sleep(int(refused[-1].headers["retry-after"]))
    assert requests.get(f"{server.url}/api/health", timeout=10).status_code == 200


def test_openapi_description_is_served(server):
    doc = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    assert doc["info"]["title"] == "zoohub"
    assert {"/api/models", "/api/resolve", "/api/blobs/{sha256}", "/api/versions", "/api/aliases"} <= set(doc["paths"])
    assert requests.get(f"{server.url}/docs", timeout=10).status_code == 200


def test_errors_are_json_with_a_message(server):
    response = requests.get(f"{server.url}/api/nothing-here", timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == 404 and response.json()["error"]
    response = requests.post(f"{server.url}/api/versions", data=b"not json", timeout=10,
                             headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
    assert response.status_code == 400  # FastAPI parses the body before the token check; nothing is written
    assert response.json()["error"].startswith("invalid request:")


def test_uploads_never_committed_are_collected_by_zoohub_gc_and_a_head_keeps_a_blob_wanted(server, write_token,
                                                                                           tmp_path):
    import os

    from registry.blobstore import BlobStore

    folder = write_folder(tmp_path / "m", seed=11)
    assert publish_files(server, folder, "test/kept", write_token).status_code == 201
    abandoned, wanted = b"uploaded, then the client died", b"uploaded long ago, asked for again"
    for data in (abandoned, wanted):
        assert upload(server, data, write_token).status_code == 201
    store = BlobStore(server.home / "blobs")
    day_ago = time.time() - 86400
    for data in (abandoned, wanted):
        os.utime(store.path(sha256(data)), (day_ago, day_ago))
    # a publishing client asks whether the server has the blob before uploading it: that marks it wanted
    assert requests.head(f"{server.url}/api/blobs/{sha256(wanted)}", timeout=10).status_code == 200

    out = zoohub("gc", "--older-than", "1", home=server.home).stdout
    assert f"removed sha256:{sha256(abandoned)}" in out and "removed 1 unreferenced blobs" in out
    assert "kept 1 newer than 1 h" in out
    assert requests.get(f"{server.url}/api/blobs/{sha256(abandoned)}", timeout=10).status_code == 404
    assert requests.get(f"{server.url}/api/blobs/{sha256(wanted)}", timeout=10).content == wanted
    for path in sorted(folder.iterdir()):  # the committed version's files are all still served
        got = requests.get(f"{server.url}/api/blobs/{sha256(path.read_bytes())}", timeout=10)
        assert got.status_code == 200 and got.content == path.read_bytes()
    assert "all intact" in zoohub("verify", home=server.home).stdout


def test_a_port_in_use_or_an_unknown_host_is_one_line_and_the_running_server_keeps_serving(server):
    busy = zoohub("serve", "--port", str(server.port), home=server.home, check=False)
    assert busy.returncode == 1 and busy.stdout == ""
    assert busy.stderr == (f"zoohub: error: cannot serve on 127.0.0.1:{server.port}: Address already in use "
                           f"(another zoohub serve? choose one with --port)\n")
    unknown = zoohub("serve", "--host", "no-such-host.invalid", "--port", "8765", home=server.home, check=False)
    assert unknown.returncode == 1 and unknown.stdout == "" and unknown.stderr.count("\n") == 1
    assert unknown.stderr.startswith("zoohub: error: cannot serve on no-such-host.invalid:8765: unknown host")
    assert requests.get(server.url + "/api/health", timeout=5).status_code == 200


def test_an_upload_onto_a_full_disk_is_503_naming_the_file_and_leaves_no_temp_file(make_server, server_home,
                                                                                    write_token):
    with small_disk(server_home / "blobs", 64 * 1024) as blobs:
        server = make_server("--rate", "0")
        response = upload(server, bytes(range(256)) * 1024, write_token)
        assert response.status_code == 503
        assert re.fullmatch(rf"cannot write {blobs}/tmp/upload-\w+\.partial: no space left on the device .*",
                            response.json()["error"])
        assert list((blobs / "tmp").iterdir()) == []
        assert upload(server, b"a small blob still fits", write_token).status_code == 201
        server.stop()


def test_an_upload_that_fits_the_store_once_is_stored_without_a_second_copy(make_server, server_home, write_token):
    # the upload went to a temp file that was then copied through another: a blob over half the free space was a 503
    data = bytes(range(256)) * 160
    with small_disk(server_home / "blobs", 64 * 1024) as blobs:
        server = make_server("--rate", "0")
        response = upload(server, data, write_token)
        assert response.status_code == 201, response.text
        assert response.json() == {"sha256": sha256(data), "size": len(data)}
        assert requests.get(f"{server.url}/api/blobs/{sha256(data)}", timeout=10).content == data
        assert list((blobs / "tmp").iterdir()) == []
        server.stop()


def test_an_upload_to_a_read_only_store_is_503_and_the_store_still_serves(server, write_token):
    kept = b"stored before the store became read-only"
    assert upload(server, kept, write_token).status_code == 201
    with read_only(server.home / "blobs"):
        response = upload(server, b"new bytes", write_token)
        assert response.status_code == 503
        assert re.fullmatch(rf"cannot write {server.home}/blobs/tmp/upload-\w+\.partial: the file system is "
                            rf"read-only", response.json()["error"])
        assert response.json()["retry"] is False  # asking again will not help: clients report it at once
        assert requests.get(f"{server.url}/api/blobs/{sha256(kept)}", timeout=10).content == kept
        server.stop()
    assert stored_blobs(server.home) == {sha256(kept)}


def test_a_server_over_a_read_only_registry_serves_reads_and_answers_writes_503(make_server, server_home,
                                                                                 write_token, tmp_path):
    first = make_server("--rate", "0")
    assert publish_files(first, write_folder(tmp_path / "a", seed=1), "test/ro", write_token).status_code == 201
    first.stop()
    auth = {"Authorization": f"Bearer {write_token}"}
    with read_only(server_home / "registry.db"):
        server = make_server("--rate", "0")
        assert requests.get(f"{server.url}/api/resolve", params={"ref": "test/ro"}, timeout=10).json()["version"] == 1
        response = publish_files(server, write_folder(tmp_path / "b", seed=2), "test/ro", write_token)
        assert response.status_code == 503
        assert response.json()["error"].startswith(f"the registry at sqlite:///{server_home}/registry.db is read-only")
        response = requests.post(f"{server.url}/api/aliases", json={"ref": "test/ro@1", "alias": "production"},
                                 headers=auth, timeout=10)
        assert response.status_code == 503 and "is read-only" in response.json()["error"]
        server.stop()
    assert [m["latest_version"] for m in requests.get(f"{first.start().url}/api/models", timeout=10).json()] == [1]
