"""A tiny TCP proxy for the fault tests: relays bytes between a client and the server, and can flip one byte of
what the server sends or slow it down. It knows nothing of HTTP: it damages the stream the way a broken
middlebox would."""
from __future__ import annotations

import socket
import threading
import time


class TcpProxy:
    """Listens on a free loopback port and forwards each connection to upstream_port.

    flip_at: the byte (counted per connection, from the server's first byte) whose bits are inverted.
    bytes_per_second: a cap on the server-to-client rate (0: none).
    """

    def __init__(self, upstream_port: int, flip_at: int | None = None, bytes_per_second: float = 0) -> None:
        self.upstream_port = upstream_port
        self.flip_at = flip_at
        self.bytes_per_second = bytes_per_second
        self.flipped = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()  # the server is down: the client sees the connection drop
                continue
            upstream.settimeout(None)
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        sent = 0
        started = time.monotonic()
        try:
            while data := source.recv(16384):
                if from_server and self.flip_at is not None and sent <= self.flip_at < sent + len(data):
                    data = bytearray(data)
                    data[self.flip_at - sent] ^= 0xFF
                    data = bytes(data)
                    self.flipped += 1
                sink.sendall(data)
                sent += len(data)
                if from_server and self.bytes_per_second:
                    ahead = sent / self.bytes_per_second - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()
