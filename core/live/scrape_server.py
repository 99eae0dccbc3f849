"""The HTTP side of `--metrics-port`: the stdlib's http.server, speaking HTTP/1.1 keep-alive.

Prometheus keeps its scrape connection open between scrapes. prometheus-client's own server
(wsgiref, HTTP/1.0) closed it after every answer, so each scrape paid a TCP accept, a new
thread and a WSGI environ: more CPU than the exposition itself. Here each connection has one
daemon thread that answers scrape after scrape (`Content-Length` framing) until the client
hangs up, stays idle for `IDLE_TIMEOUT_S`, or `close()` shuts it; many scrapers at once each
get their own. What is served comes from a `Render` callback; nothing of the exposition
format is written here.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any

Render = Callable[[str | None, str], tuple[bytes, str]]
"""(Accept header or None, query string) -> (body, Content-Type)."""

IDLE_TIMEOUT_S = 300.0
"""A connection silent this long is closed (Prometheus reconnects; a scrape interval of a few
minutes at most keeps its one connection)."""
_JOIN_S = 2.0


class _ScrapeHandler(BaseHTTPRequestHandler):
    """One connection: any number of requests, each answered with a Content-Length."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: a keep-alive answer never waits on Nagle
    wbufsize = 1 << 16  # headers and body leave in one send(2) (flushed after each request)
    timeout = IDLE_TIMEOUT_S
    server: ScrapeServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_OPTIONS(self) -> None:
        self.send_response(200)
        self.send_header("Allow", "OPTIONS,GET,HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _answer(self, send_body: bool) -> None:
        path, _, query = self.path.partition("?")
        if path == "/favicon.ico":  # browsers ask; as prometheus-client answers it
            body, content_type = b"", "text/plain"
        else:  # any other path is /metrics, as prometheus-client serves it
            try:
                body, content_type = self.server.render(self.headers.get("Accept"), query)
            except Exception as exc:  # a bug must not kill the connection's thread silently
                self.send_error(500, explain=f"{type(exc).__name__}: {exc}")
                return
        # No gzip even when asked (the server chooses; identity is always acceptable): at a
        # scrape per second and a new sample each time, compressing ~9 KB would add about a
        # tenth to the CPU of a scrape to save ~8 KB/s that loopback or a LAN does not miss.
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        """Silent: the TUI owns the terminal, and a scrape per second is no news."""


class ScrapeServer(ThreadingHTTPServer):
    """Listens on host:port at construction (OSError when it cannot); `start()` serves."""

    daemon_threads = True  # every connection's thread dies with twin

    def __init__(self, host: str, port: int, render: Render) -> None:
        self.render = render
        self._lock = threading.Lock()
        self._open: dict[socket.socket, threading.Thread] = {}
        self._closing = False
        self._thread: threading.Thread | None = None
        family, _type, _proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        self.address_family = family
        super().__init__((str(address[0]), port), _ScrapeHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host (it can hang for seconds)."""
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="twin-metrics", daemon=True)
        self._thread.start()

    def track(self, connection: socket.socket) -> None:
        with self._lock:
            self._open[connection] = threading.current_thread()
            closing = self._closing
        if closing:  # accepted just as close() ran: end it now
            _hang_up(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.pop(connection, None)

    def close(self) -> None:
        """Stop accepting, hang up every open connection, wait for their threads."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(_JOIN_S)
        self.server_close()
        with self._lock:
            self._closing = True
            open_now = dict(self._open)
        for connection in open_now:
            _hang_up(connection)  # its thread's next read sees the end and the thread returns
        for thread in open_now.values():
            thread.join(_JOIN_S)


def _hang_up(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already gone
        connection.shutdown(socket.SHUT_RDWR)
