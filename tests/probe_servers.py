"""Targets for probe tests, each on 127.0.0.1, started by the test and stopped after it.

`cpu_service`: a threaded HTTP server that spends a little CPU per request (the node's real
work, at the test's own priority); `hanging_listener`: accepts connections and never answers;
`refused_port`: a port nobody listens on.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORK_S = 0.002


class _Busy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        end = time.thread_time() + WORK_S
        x = 1
        while time.thread_time() < end:
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the API's name
        pass


@contextmanager
def cpu_service() -> Iterator[str]:
    """A threaded HTTP service doing 2 ms of CPU per request; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def hanging_listener() -> Iterator[str]:
    """A socket that accepts (the kernel's backlog does) but never answers; yields host:port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def refused_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
