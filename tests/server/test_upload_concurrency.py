"""An upload writes its blob in the thread pool: the server answers other requests while a write waits on the disk,
and a cancelled upload removes its temp file only once the write or commit in flight has returned."""
from __future__ import annotations

import asyncio
import gc
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from hub.server.app import _to_thread
from tests.server.conftest import Server, free_port

PAUSE_TIMEOUT = 60.0


def test_the_server_answers_other_requests_while_an_upload_waits_on_its_disk(server_home, write_token, tmp_path):
    # the fault hook stalls the upload's first write for 10 minutes, as a disk that stops answering would
    paused = tmp_path / "paused"
    server = Server(server_home, free_port(), ("--rate", "0"),
                    env={"ZOOHUB_TEST_PAUSE": "blob-write", "ZOOHUB_TEST_PAUSE_FILE": str(paused)}).start()
    data = bytes(range(256)) * 4096
    with ThreadPoolExecutor(1) as pool:
        try:
            uploading = pool.submit(requests.put, f"{server.url}/api/blobs/{hashlib.sha256(data).hexdigest()}",
                                    data=data, headers={"Authorization": f"Bearer {write_token}"}, timeout=60)
            deadline = time.monotonic() + PAUSE_TIMEOUT
            while not paused.exists():
                assert time.monotonic() < deadline, f"no write began: {server.log.read_text()}"
                time.sleep(0.05)
            assert requests.get(f"{server.url}/api/health", timeout=10).json()["status"] == "ok"
            assert requests.get(f"{server.url}/api/models", timeout=10).json() == []
            assert not uploading.done()
        finally:
            server.kill()
        with pytest.raises(requests.ConnectionError):
            uploading.result()


def test_a_cancelled_request_cleans_up_only_after_its_call_in_the_thread_pool_returned():
    started, release = threading.Event(), threading.Event()
    order = []

    def write() -> None:
        started.set()
        release.wait(PAUSE_TIMEOUT)
        order.append("write returned")

    async def request() -> None:
        try:
            await _to_thread(write)
        finally:
            order.append("clean-up")

    async def cancel_while_writing() -> None:
        task = asyncio.create_task(request())
        await asyncio.to_thread(started.wait, PAUSE_TIMEOUT)
        task.cancel()
        for _ in range(100):  # loop turns: a request that does not wait for its thread ends on the first
            await asyncio.sleep(0)
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_while_writing())
    assert order == ["write returned", "clean-up"]


def test_a_call_that_fails_after_its_request_was_cancelled_leaves_no_unretrieved_exception():
    # asyncio logged "Task exception was never retrieved" for the write's error once the cancelled request was gone
    started, release = threading.Event(), threading.Event()
    reported = []

    def write() -> None:
        started.set()
        release.wait(PAUSE_TIMEOUT)
        raise OSError(28, "No space left on device")

    async def cancel_while_writing() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context["message"]))
        task = asyncio.create_task(_to_thread(write))
        await asyncio.to_thread(started.wait, PAUSE_TIMEOUT)
        task.cancel()
        await asyncio.sleep(0)
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        del task
        gc.collect()  # an exception never retrieved is reported when its task is collected

    asyncio.run(cancel_while_writing())
    assert reported == []
