"""Targets for probe tests, each on 127.0.0.1, started by the test and stopped after it.

`cpu_service`: a threaded HTTP server that spends a little CPU per request (the node's real
work, at the test's own priority); `hanging_listener`: accepts connections and never answers;
`refused_port`: a port nobody listens on.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from types import ModuleType

from conftest import ROOT


def _load_service_module() -> ModuleType:
    """`bench/loopback_service.py`, the one definition of "the node's real work" (by path:
    bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "loopback_service", ROOT / "bench" / "loopback_service.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


service = _load_service_module()


@contextmanager
def cpu_service() -> Iterator[str]:
    """A threaded HTTP service doing 2 ms of CPU per request; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), service.BusyHandler)
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
