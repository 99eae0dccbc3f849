"""What `--metrics-port` costs when Prometheus scrapes every second.

1. Per scrape, in process: a real sample from `SystemSampler` is published to a
   `MetricsEndpoint` served on loopback, then scraped over HTTP N times from the main thread;
   the process CPU time per scrape less the scraping thread's own (`thread_time`) is what the
   endpoint's threads cost (collect, exposition, HTTP); times 1 Hz, its share of a core.
2. Whole twin: `twin --batch` of a quiet profile, once without and once with
   `--metrics-port` scraped every second, comparing the child's CPU time (rusage).

    .venv/bin/python bench/live.py [--seconds 30] [--scrapes 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from prometheus_client import generate_latest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.live.metrics_endpoint import MetricsEndpoint  # noqa: E402
from core.telemetry.sampler import SystemSampler  # noqa: E402


def per_scrape(scrapes: int) -> float:
    """CPU seconds of this process per scrape of a real sample's gauges."""
    sampler = SystemSampler()
    sampler.prime(time.monotonic())
    time.sleep(0.5)
    values = sampler.read(time.monotonic())
    endpoint = MetricsEndpoint(run="bench", profile="bench")
    endpoint.add_event("e01", "cpu", "bench")
    endpoint.publish(values, ["e01"], datetime.now(UTC))
    cpu0 = time.process_time()
    for _ in range(scrapes):
        generate_latest(endpoint.registry)
    exposition = (time.process_time() - cpu0) / scrapes
    print(f"collect + exposition alone: {exposition * 1e3:.3f} ms CPU per scrape")
    endpoint.serve(0)
    url = f"http://{endpoint.address}/metrics"
    with requests.Session() as session:
        session.get(url)
        cpu0, client0 = time.process_time(), time.thread_time()
        for _ in range(scrapes):
            session.get(url).raise_for_status()
        client = time.thread_time() - client0  # the scraper's share: this (the main) thread
        cpu = time.process_time() - cpu0
    endpoint.close()
    server = cpu - client  # the endpoint's threads: what twin itself pays per scrape
    print(
        f"per scrape: {len(values)} gauges, {cpu / scrapes * 1e3:.3f} ms CPU in all, of which "
        f"the client {client / scrapes * 1e3:.3f} ms "
        f"and twin's endpoint {server / scrapes * 1e3:.3f} ms"
    )
    return server / scrapes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def twin_cpu(profile: Path, out: Path, port: int | None) -> float:
    """CPU seconds (user + system) of one `twin --batch`, scraped every second if `port`."""
    argv = [sys.executable, "-m", "cli", "--batch", str(profile), "--out", str(out)]
    if port is not None:
        argv += ["--metrics-port", str(port)]
    stop = threading.Event()

    def scrape() -> None:
        while not stop.wait(1.0):
            with contextlib.suppress(requests.RequestException):  # not up yet, or done
                requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1)

    scraper = threading.Thread(target=scrape, daemon=True)
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if port is not None:
        scraper.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    stop.set()
    if proc.returncode != 0:
        raise SystemExit(f"twin --batch failed ({proc.returncode})")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each twin run")
    parser.add_argument("--scrapes", type=int, default=2000, help="scrapes for the per-scrape cost")
    args = parser.parse_args()
    cost = per_scrape(args.scrapes)
    print(f"at 1 scrape/s: twin's endpoint costs {cost * 100:.3f} % of one core (goal < 0.1 %)")
    with tempfile.TemporaryDirectory(prefix="twin-bench-live-") as tmp:
        profile = Path(tmp) / "quiet.toml"
        profile.write_text(f'name = "bench-live"\n[run]\nbaseline_s = {args.seconds}\n')
        plain = twin_cpu(profile, Path(tmp) / "runs", None)
        served = twin_cpu(profile, Path(tmp) / "runs", free_port())
    extra = (served - plain) / args.seconds * 100
    print(
        f"twin --batch {args.seconds:g} s at 1 s: {plain:.3f} s CPU without, {served:.3f} s with "
        f"--metrics-port scraped every second: {extra:+.3f} % of one core "
        "(includes prometheus-client's import and server start; noisy on a shared machine)"
    )


if __name__ == "__main__":
    main()
