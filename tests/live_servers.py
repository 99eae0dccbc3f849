"""Real Prometheus and InfluxDB 1.x servers for the live-output tests.

Each server is started by the test on 127.0.0.1 with everything in a temporary directory,
dies with the test process (PR_SET_PDEATHSIG) and is stopped by the fixture. Where the
distribution's package is missing the test skips, saying how `.ci/run` installs it.
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def need_binary(path: str, package: str) -> str:
    found = shutil.which(path) or (path if Path(path).is_file() else None)
    if found is None:
        pytest.skip(f"{path} not installed (Debian package {package!r}; .ci/run installs it)")
    return found


START_ATTEMPTS = 3  # a free port can be taken before the server binds it: pick again


class PortTaken(Exception):
    """The server exited because its port was taken between `free_port()` and its bind (a
    client socket of another test got that ephemeral port meanwhile)."""


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def running(argv: list[str], url: str, ready_path: str, log: Path) -> Iterator[Server]:
    """Start a server, wait until `url + ready_path` answers, stop it afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                text = log.read_text()
                if "address already in use" in text:
                    raise PortTaken(text[-300:])
                pytest.fail(f"{argv[0]} exited {process.returncode}: {text[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url + ready_path, timeout=1).status_code < 300:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"{argv[0]} not ready in 30 s: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield Server(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


INFLUXD_CONF = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{root}/meta"
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
"""


@contextlib.contextmanager
def influxd(root: Path) -> Iterator[Server]:
    """InfluxDB 1.x (Debian `influxdb`) on a free loopback port, data under `root`."""
    binary = need_binary("/usr/bin/influxd", "influxdb")
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "influxdb.conf"
    for attempt in range(START_ATTEMPTS):
        port = free_port()
        conf.write_text(INFLUXD_CONF.format(root=root, port=port, rpc=free_port()))
        url = f"http://127.0.0.1:{port}"
        try:
            with running([binary, "-config", str(conf)], url, "/ping", root / "influxd.log") as up:
                yield up
            return
        except PortTaken:
            if attempt == START_ATTEMPTS - 1:
                raise


def influx_query(url: str, db: str, query: str) -> list[dict[str, object]]:
    """An InfluxQL query; the series of its first result (an error fails the test)."""
    answer = requests.get(f"{url}/query", params={"db": db, "q": query}, timeout=10).json()
    result = answer["results"][0]
    assert "error" not in result, result
    series: list[dict[str, object]] = result.get("series", [])
    return series


PROMETHEUS_CONF = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: twin
    static_configs:
      - targets: ["127.0.0.1:{target}"]
"""


@contextlib.contextmanager
def prometheus(root: Path, target_port: int) -> Iterator[Server]:
    """Prometheus (Debian `prometheus`) scraping 127.0.0.1:`target_port` every second."""
    binary = need_binary("/usr/bin/prometheus", "prometheus")
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "prometheus.yml"
    conf.write_text(PROMETHEUS_CONF.format(target=target_port))
    for attempt in range(START_ATTEMPTS):
        port = free_port()
        argv = [
            binary,
            f"--config.file={conf}",
            f"--storage.tsdb.path={root / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        url = f"http://127.0.0.1:{port}"
        try:
            with running(argv, url, "/-/ready", root / "prometheus.log") as up:
                yield up
            return
        except PortTaken:
            if attempt == START_ATTEMPTS - 1:
                raise
