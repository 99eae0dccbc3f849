"""One attempt of each probe kind: its latency in seconds, or `ProbeFailed` saying why.

Each kind is an object with `open()` (run once, in the probe's own thread), `attempt()` and
`close()`. An attempt respects its `timeout_s` where the library lets it (sockets, a child's
wait); the engine also counts one still running past it as an error, so a target that hangs
is an error within its timeout whatever the kind.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from core.probes.spec import FSYNC_BYTES, SCHED_SLEEP_S, ProbeSpec

HTTP_BODY_LIMIT = 1 << 20  # a health check reads at most 1 MiB of the answer
USER_AGENT = "server-twin-probe"


class ProbeFailed(Exception):
    """An attempt that did not succeed (refused, timed out, a bad status, a failed command)."""


class ProbeKind(Protocol):
    def open(self) -> None: ...

    def attempt(self) -> float: ...

    def close(self) -> None: ...


def split_address(address: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host, port); ValueError with the reason if malformed."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host:
        raise ValueError("must be host:port, e.g. 127.0.0.1:5432")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"port must be 1 to 65535, not {port_text!r}")
    return host, int(port_text)


def url_problem(url: str) -> str | None:
    """Why `url` cannot be probed (None when it can): http(s), a host, a valid port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return f'must start with http:// or https://, not "{url}"'
    if not parts.hostname:
        return f'has no host: "{url}"'
    if port == 0:
        return "port must be 1 to 65535, not 0"
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host: {exc.strerror or exc}"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


class HttpProbe:
    """GET the URL on a fresh connection, as a health checker does; 2xx/3xx or the pinned one."""

    def __init__(self, spec: ProbeSpec) -> None:
        parts = urlsplit(spec.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = spec.timeout_s
        self._expect = spec.expect_status

    def open(self) -> None:
        pass

    def attempt(self) -> float:
        start = time.perf_counter()
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self._timeout)
        try:
            conn.request("GET", self._path, headers={"User-Agent": USER_AGENT})
            response = conn.getresponse()
            response.read(HTTP_BODY_LIMIT)
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            raise ProbeFailed(_describe(exc)) from None
        finally:
            conn.close()
        latency = time.perf_counter() - start
        if self._expect is not None and status != self._expect:
            raise ProbeFailed(f"status {status}, expected {self._expect}")
        if self._expect is None and not 200 <= status < 400:
            raise ProbeFailed(f"status {status}")
        return latency

    def close(self) -> None:
        pass


class TcpProbe:
    """The time `connect()` takes (DNS included when the address names a host)."""

    def __init__(self, spec: ProbeSpec) -> None:
        self._address = split_address(spec.address)
        self._timeout = spec.timeout_s

    def open(self) -> None:
        pass

    def attempt(self) -> float:
        start = time.perf_counter()
        try:
            sock = socket.create_connection(self._address, timeout=self._timeout)
        except OSError as exc:
            raise ProbeFailed(_describe(exc)) from None
        latency = time.perf_counter() - start
        sock.close()
        return latency

    def close(self) -> None:
        pass


class SchedProbe:
    """Wake-up latency as a nice-0 service thread sees it: sleep 1 ms, record the overshoot."""

    def __init__(self, spec: ProbeSpec) -> None:
        self.nice = ""

    def open(self) -> None:
        tid = threading.get_native_id()
        try:
            os.setpriority(os.PRIO_PROCESS, tid, 0)  # a thread id is a PRIO_PROCESS target
        except OSError:  # twin itself runs niced and may not lower it: record what we have
            self.nice = f"nice {os.getpriority(os.PRIO_PROCESS, tid)}"
        else:
            self.nice = "nice 0"

    def attempt(self) -> float:
        start = time.perf_counter()
        time.sleep(SCHED_SLEEP_S)
        return max(0.0, time.perf_counter() - start - SCHED_SLEEP_S)

    def close(self) -> None:
        pass


class FsyncProbe:
    """Write 4 KiB and `fdatasync` it, in a nameless file on the filesystem the run writes to."""

    def __init__(self, spec: ProbeSpec, directory: Path) -> None:
        self._dir = directory
        self._fd = -1
        self._block = b"\xa5" * FSYNC_BYTES

    def open(self) -> None:
        try:
            self._fd = os.open(self._dir, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600)
        except OSError:  # a filesystem without O_TMPFILE: a named file, unlinked at once
            fd, name = tempfile.mkstemp(prefix=".twin-fsync-probe-", dir=self._dir)
            os.unlink(name)
            self._fd = fd

    def attempt(self) -> float:
        if self._fd < 0:
            raise ProbeFailed(f"cannot open a file in {self._dir}")
        start = time.perf_counter()
        try:
            os.pwrite(self._fd, self._block, 0)
            os.fdatasync(self._fd)
        except OSError as exc:
            raise ProbeFailed(_describe(exc)) from None
        return time.perf_counter() - start

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


class CommandProbe:
    """Run argv (never a shell); success is exit 0, latency its run time.

    The child gets its own process group (a timeout or the run's end kills all of it) and, where
    util-linux `setpriv` is installed, dies with twin (PR_SET_PDEATHSIG survives the exec).
    """

    def __init__(self, spec: ProbeSpec) -> None:
        self._argv = list(spec.argv)
        self._timeout = spec.timeout_s
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._closed = False
        setpriv = shutil.which("setpriv")
        self._prefix = [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []

    def open(self) -> None:
        pass

    def attempt(self) -> float:
        start = time.perf_counter()
        with self._lock:
            if self._closed:
                raise ProbeFailed("the run is over")
            try:
                proc = subprocess.Popen(
                    self._prefix + self._argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    process_group=0,
                )
            except OSError as exc:
                raise ProbeFailed(f"cannot run {self._argv[0]}: {_describe(exc)}") from None
            self._proc = proc
        try:
            code = proc.wait(self._timeout)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            raise ProbeFailed(f"still running after {self._timeout:g} s (killed)") from None
        finally:
            with self._lock:
                self._proc = None
        if code != 0:
            raise ProbeFailed(f"exit status {code}" if code > 0 else f"killed by signal {-code}")
        return time.perf_counter() - start

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(1.0)

    def close(self) -> None:
        """Kill a command still running (the run is over); callable from any thread."""
        with self._lock:
            self._closed = True
            proc = self._proc
        if proc is not None:
            self._kill(proc)


def make_kind(spec: ProbeSpec, directory: Path) -> ProbeKind:
    """The attempt object of `spec`'s kind; `directory` is where the fsync probe writes."""
    if spec.kind == "http":
        return HttpProbe(spec)
    if spec.kind == "tcp":
        return TcpProbe(spec)
    if spec.kind == "sched":
        return SchedProbe(spec)
    if spec.kind == "fsync":
        return FsyncProbe(spec, directory)
    if spec.kind == "command":
        return CommandProbe(spec)
    raise ValueError(f"unknown probe kind {spec.kind!r}")
