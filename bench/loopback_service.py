"""A loopback HTTP service that spends a fixed CPU time per request, and a client that times it.

Run as a script it serves: `python bench/loopback_service.py [WORK_MS]` listens on 127.0.0.1
(an ephemeral port, printed as the first line of stdout), one request at a time, each spinning
WORK_MS (default 2) of its own CPU time before answering 200. It stands for "the node's real
work": it runs at whatever nice level and session it was started in. `bench/contention.py` and
the tests (`tests/probe_servers.py` loads this file by path), so both measure the
same thing.
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

SCRIPT = Path(__file__).resolve()


class BusyHandler(BaseHTTPRequestHandler):
    """Answers GET with 200 after spinning `work_s` of its own thread's CPU time."""

    work_s = 0.002

    def do_GET(self) -> None:
        start = time.thread_time()
        x = 1
        while time.thread_time() - start < self.work_s:
            for _ in range(50):
                x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the API's name
        pass


def serve(work_ms: float) -> None:
    """Serve forever on an ephemeral loopback port; print the port first."""
    BusyHandler.work_s = work_ms / 1000.0
    server = HTTPServer(("127.0.0.1", 0), BusyHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def start_service(work_ms: float = 2.0) -> tuple[subprocess.Popen[str], int]:
    """Start the service as a child process (same session, nice 0); returns it and its port."""
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(work_ms)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def latencies_ms(port: int, count: int, every_s: float = 0.1) -> list[float]:
    """`count` GETs, one every `every_s` on a fresh connection each: each one's latency in ms."""
    out: list[float] = []
    due = time.monotonic()
    for _ in range(count):
        due += every_s
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"service answered {response.status}")
        finally:
            conn.close()
        out.append((time.perf_counter() - start) * 1000.0)
        time.sleep(max(0.0, due - time.monotonic()))
    return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="serve on 127.0.0.1, WORK_MS of CPU a request")
    parser.add_argument("work_ms", nargs="?", type=float, default=2.0)
    serve(parser.parse_args().work_ms)
