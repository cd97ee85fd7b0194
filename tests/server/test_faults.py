"""Faults between the client and the server: a server killed mid-download, bytes flipped in transit."""
from __future__ import annotations

import hashlib
import logging
import threading
import time

import pytest

import hub
import tests.hub.tiny_model  # noqa: F401  (registers the test architecture in this process)
from hub import remote as remote_client
from hub.errors import IntegrityError
from registry.blobstore import BlobStore
from registry.db import zoohub_home
from tests.hub.tiny_model import write_folder
from tests.server.tcp_proxy import TcpProxy


@pytest.fixture(autouse=True)
def _fresh_clients(monkeypatch):
    monkeypatch.setattr(remote_client, "_clients", {})


@pytest.fixture
def proxies():
    made: list[TcpProxy] = []

    def make(*args, **kwargs) -> TcpProxy:
        made.append(TcpProxy(*args, **kwargs))
        return made[-1]
    yield make
    for proxy in made:
        proxy.close()


def publish_big(remote, tmp_path, n: int) -> tuple[str, int]:
    """Publish an n x n float32 test model straight to the server; (weights sha256, size)."""
    folder = write_folder(tmp_path / "big", seed=11, n_in=n, n_out=n)
    hub.publish(folder, "test/big")
    data = (folder / "model.safetensors").read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def test_server_killed_mid_download_and_restarted_client_resumes_with_the_right_hash(
        remote, proxies, tmp_path, monkeypatch, caplog):
    sha, size = publish_big(remote, tmp_path, 1536)  # 9 MiB of weights
    proxy = proxies(remote.port, bytes_per_second=3_000_000)
    monkeypatch.setenv("ZOOHUB_REMOTE", proxy.url)
    monkeypatch.setenv("ZOOHUB_REMOTE_RETRIES", "12")
    outcome: dict = {}

    def pull() -> None:
        try:
            outcome["info"] = hub.pull("test/big@1", progress=False)
        except Exception as exc:  # handed to the test thread
            outcome["error"] = exc
    caplog.set_level(logging.INFO, logger="zoohub.remote")
    worker = threading.Thread(target=pull)
    worker.start()
    partial = zoohub_home() / "downloads" / f"{sha}.partial"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (partial.exists() and partial.stat().st_size > 1_000_000):
        time.sleep(0.02)
    remote.kill()
    at_kill = partial.stat().st_size
    assert 0 < at_kill < size
    time.sleep(0.5)
    remote.start()
    worker.join(timeout=180)
    assert not worker.is_alive()
    assert "error" not in outcome, outcome.get("error")
    folder = outcome["info"].folder
    assert hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest() == sha
    resumed = [r.getMessage() for r in caplog.records if "resuming" in r.getMessage()]
    assert resumed, "the client started over instead of resuming"
    assert int(resumed[0].split(" at byte ")[1].split()[0]) >= at_kill // 2
    assert not partial.exists()


def test_byte_flipped_in_transit_is_refused_and_nothing_is_cached(remote, proxies, tmp_path, monkeypatch):
    sha, size = publish_big(remote, tmp_path, 256)  # 256 KiB of weights
    proxy = proxies(remote.port, flip_at=150_000)
    monkeypatch.setenv("ZOOHUB_REMOTE", proxy.url)
    with pytest.raises(IntegrityError, match="altered in transit.*nothing was cached"):
        hub.load("test/big@1")
    assert proxy.flipped >= 1
    store = BlobStore(zoohub_home() / "blobs")
    assert sha not in store.stored()
    assert not list((zoohub_home() / "downloads").glob("*.partial"))
    assert not (zoohub_home() / "versions").exists()
    monkeypatch.setenv("ZOOHUB_REMOTE", remote.url)  # the direct path works and caches the right bytes
    monkeypatch.setattr(remote_client, "_clients", {})
    hub.pull("test/big@1")
    assert sha in store.stored()
