"""`--metrics-port`: a real Prometheus scrapes a real `twin --batch` every second; its HTTP API
then holds the dataset's values, at the dataset's timestamps, and `event_active` is 1 exactly
while the event ran."""

from __future__ import annotations

import csv
import http.client
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from live_servers import free_port, prometheus

from core.analysis.export import MEASUREMENT
from core.live.metrics_endpoint import PREFIX, MetricsEndpoint, scrape_seconds

from conftest import ROOT, TWIN, run_twin

PROFILE = """\
name = "prom-live"
[sampling]
interval_s = 0.5
[run]
baseline_s = 2
[[events]]
stressor = "cpu"
duration_s = 3
label = "half a core"
params = { load_percent = 50, workers = 1 }
"""


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000 + 0.5)


EDGE_MS = 600  # a sample interval (0.5 s) and some: the boundary rows of an event


def query(url: str, promql: str, **params: str) -> list[dict[str, object]]:
    path = "/api/v1/query_range" if "step" in params else "/api/v1/query"
    answer = requests.get(url + path, params={"query": promql, **params}, timeout=10).json()
    assert answer["status"] == "success", answer
    result: list[dict[str, object]] = answer["data"]["result"]
    return result


def wait_for_target(url: str) -> None:
    """Prometheus hands a new target to its scraper ~5 s after start: start twin after that."""
    deadline = time.monotonic() + 30
    while not requests.get(url + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]:
        assert time.monotonic() < deadline, "Prometheus never took up its scrape target"
        time.sleep(0.2)


@pytest.mark.slow
def test_prometheus_scrapes_a_batch_run(tmp_path: Path, write_profile: Callable[..., Path]) -> None:
    port = free_port()
    with prometheus(tmp_path / "prom", port) as server:
        wait_for_target(server.url)
        result = subprocess.run(
            [*TWIN, "--batch", str(write_profile(PROFILE)), "--out", str(tmp_path / "runs"),
             "--metrics-port", str(port)],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"metrics on http://127.0.0.1:{port}/metrics" in result.stderr
        run_dir = Path(result.stdout.strip().splitlines()[-1])
        with (run_dir / "system_metrics_dataset.csv").open(newline="") as f:
            rows = {ms(r["timestamp"]): r for r in csv.DictReader(f)}
        with (run_dir / "annotations.csv").open(newline="") as f:
            (event,) = list(csv.DictReader(f))
        now = time.time()
        run = f'run="{run_dir.name}"'
        # raw samples: each one is a dataset row, at that row's timestamp, with its value
        (cpu,) = query(server.url, f"server_twin_cpu_percent{{{run}}}[5m]", time=f"{now}")
        points = cpu["values"]  # type: ignore[index]
        assert len(points) >= 4, points  # a ~7 s run scraped every second
        for stamp, value in points:  # type: ignore[attr-defined]
            row = rows[round(float(stamp) * 1000)]
            assert float(value) == pytest.approx(float(row["cpu_percent"]), abs=0.006)
        # event_active is 1 exactly at the rows that name the event, 0 at all others
        (active,) = query(
            server.url, f'server_twin_event_active{{{run},event="e01"}}[5m]', time=f"{now}"
        )
        labels = active["metric"]  # type: ignore[index]
        assert labels["stressor"] == "cpu" and labels["label"] == "half a core"  # type: ignore[index]
        seen = {round(float(t) * 1000): float(v) for t, v in active["values"]}  # type: ignore[index]
        assert 1.0 in seen.values() and 0.0 in seen.values()
        for stamp_ms, value in seen.items():
            assert value == (1.0 if "e01" in rows[stamp_ms]["active_events"] else 0.0)
            # and with the annotated times, away from the edges: the annotation's end is when
            # the stressor was reaped, which a busy machine puts a sample or so after its end
            start, end = ms(event["start_time"]), ms(event["end_time"])
            if start + EDGE_MS <= stamp_ms <= end - EDGE_MS:
                assert value == 1.0
            elif stamp_ms < start - EDGE_MS or stamp_ms > end + EDGE_MS:
                assert value == 0.0
        # query_range (what Grafana asks) answers with the dataset's values
        start, end = min(rows) / 1000, max(rows) / 1000
        (ranged,) = query(
            server.url,
            f'server_twin_cpu_percent{{run="{run_dir.name}"}}',
            start=f"{start}",
            end=f"{end}",
            step="1",
        )
        dataset_values = {round(float(r["cpu_percent"]), 2) for r in rows.values()}
        for _t, value in ranged["values"]:  # type: ignore[index]
            assert round(float(value), 2) in dataset_values
        # the run is over and its series went stale: ask for the samples of the last minutes
        (info,) = query(server.url, f"server_twin_run_info{{{run}}}[5m]", time=f"{now}")
        assert info["metric"]["profile"] == "prom-live"  # type: ignore[index]
        assert {float(v) for _t, v in info["values"]} == {1.0}  # type: ignore[index]


def test_port_in_use_is_bad_input(tmp_path: Path, write_profile: Callable[..., Path]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_twin(
            "--batch", str(write_profile(PROFILE)), "--out", str(tmp_path / "runs"),
            "--metrics-port", str(port),
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        f"twin: --metrics-port {port}: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_endpoint_serves_the_latest_values_in_prometheus_format() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    endpoint = MetricsEndpoint(run="r1", profile="p", host="h")
    endpoint.add_event("e01", "cpu", "a label")
    endpoint.serve(0)
    try:
        url = f"http://{endpoint.address}/metrics"
        assert "server_twin_run_info" in requests.get(url, timeout=5).text
        when = datetime.fromisoformat("2025-01-02T03:04:05.678+00:00")
        endpoint.publish({"cpu_percent": 12.5, "mem_percent": 40.0}, ["e01"], when)
        families = {f.name: f for f in text_string_to_metric_families(requests.get(url).text)}
        (cpu,) = families["server_twin_cpu_percent"].samples
        assert cpu.value == 12.5 and cpu.timestamp == pytest.approx(1735787045.678)
        (active,) = families["server_twin_event_active"].samples
        assert active.labels == {
            "host": "h", "run": "r1", "event": "e01", "stressor": "cpu", "label": "a label"
        }  # fmt: skip
        assert active.value == 1.0
        endpoint.publish({"cpu_percent": 3.0}, [], when)
        families = {f.name: f for f in text_string_to_metric_families(requests.get(url).text)}
        assert families["server_twin_event_active"].samples[0].value == 0.0
        only = requests.get(url, params={"name[]": "server_twin_cpu_percent"}, timeout=5).text
        assert [f.name for f in text_string_to_metric_families(only)] == ["server_twin_cpu_percent"]
    finally:
        endpoint.close()


def test_names_and_timestamps_match_the_export() -> None:
    assert PREFIX == MEASUREMENT
    # int(seconds * 1000) of the exposition never loses the millisecond
    for text in ("2025-01-02T03:04:05.678+00:00", "2025-01-02T03:04:05.001+00:00"):
        when = datetime.fromisoformat(text)
        assert int(scrape_seconds(when) * 1000) == ms(text.replace("+00:00", "Z"))


@pytest.mark.slow
def test_twin_stress_serves_its_work() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    port = free_port()
    argv = [*TWIN, "stress", "cpu", "--duration", "4", "--load-percent", "30", "--workers", "1"]
    with subprocess.Popen(
        [*argv, "--metrics-port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            assert f"metrics on http://127.0.0.1:{port}/metrics" in proc.stdout.readline()
            families: dict[str, object] = {}
            loops_per_s = 0.0
            # The gauge exists from the start at 0; the stressor's first second of work may
            # reach the endpoint a second later on a loaded machine, as a scraper would see.
            while loops_per_s <= 0:
                text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
                families = {f.name: f for f in text_string_to_metric_families(text)}
                assert proc.poll() is None, "twin stress ended before serving its work"
                if "server_twin_stress_cpu_loops_per_s" in families:
                    (loops,) = families["server_twin_stress_cpu_loops_per_s"].samples  # type: ignore[attr-defined]
                    loops_per_s = loops.value
                time.sleep(0.2)
            (active,) = families["server_twin_event_active"].samples  # type: ignore[attr-defined]
            assert active.value == 1.0 and active.labels["stressor"] == "cpu"
            assert proc.wait(timeout=30) == 0
        finally:
            proc.kill()


PROMETHEUS_ACCEPT = (  # what Prometheus 2.x sends with every scrape
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def scrape_over(connection: http.client.HTTPConnection, accept: str = PROMETHEUS_ACCEPT) -> str:
    """One GET /metrics on this connection, as Prometheus asks; the connection must stay open."""
    connection.request("GET", "/metrics", headers={"Accept": accept, "Accept-Encoding": "gzip"})
    response = connection.getresponse()
    body = response.read()
    assert response.status == 200
    assert not response.will_close, "the endpoint closed a keep-alive connection"
    assert response.getheader("Content-Encoding") is None  # identity, even when gzip is offered
    assert response.getheader("Content-Type", "").startswith("text/plain; version=0.0.4")
    return body.decode()


def values_of(text: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


def test_a_keep_alive_scraper_gets_fresh_values_over_one_connection() -> None:
    endpoint = MetricsEndpoint(run="r1", profile="p", host="h")
    endpoint.add_event("e01", "cpu", "a label")
    endpoint.serve(0)
    host, port = endpoint.address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        when = datetime.fromisoformat("2025-01-02T03:04:05.678+00:00")
        endpoint.publish({"cpu_percent": 1.0}, [], when)
        first = scrape_over(connection)
        sock = connection.sock
        assert sock is not None
        client_port = sock.getsockname()[1]
        assert values_of(first)["server_twin_cpu_percent"] == 1.0
        assert scrape_over(connection) == first  # nothing new: the same exposition
        for step in range(2, 6):
            active = ["e01"] if step % 2 else []
            endpoint.publish({"cpu_percent": float(step)}, active, when + timedelta(seconds=step))
            seen = values_of(scrape_over(connection))
            assert seen["server_twin_cpu_percent"] == float(step)
            assert seen["server_twin_event_active"] == (1.0 if active else 0.0)
        endpoint.run = "r2"  # the TUI relabels its endpoint when a recording starts
        assert 'run="r2"' in scrape_over(connection)
        assert connection.sock is sock and sock.getsockname()[1] == client_port  # one connection
    finally:
        endpoint.close()
        connection.close()


def test_concurrent_scrapers_each_keep_their_connection_and_close_hangs_up() -> None:
    endpoint = MetricsEndpoint(run="r1", profile="p", host="h")
    endpoint.serve(0)
    host, port = endpoint.address.rsplit(":", 1)
    scrapers = [http.client.HTTPConnection(host, int(port), timeout=5) for _ in range(3)]
    try:
        when = datetime.fromisoformat("2025-01-02T03:04:05.678+00:00")
        for step in range(3):
            endpoint.publish({"mem_percent": 10.0 + step}, [], when + timedelta(seconds=step))
            for scraper in scrapers:  # all three connections open at once, interleaved
                assert values_of(scrape_over(scraper))["server_twin_mem_percent"] == 10.0 + step
        endpoint.close()
        for scraper in scrapers:  # each open connection was ended by close(), not left hanging
            with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
                scrape_over(scraper)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=5).close()
    finally:
        endpoint.close()
        for scraper in scrapers:
            scraper.close()


def test_openmetrics_only_for_a_scraper_that_accepts_nothing_else() -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    endpoint = MetricsEndpoint(run="r1", profile="p", host="h")
    endpoint.publish({"cpu_percent": 7.5}, [], datetime.fromisoformat("2025-01-02T03:04:05Z"))
    endpoint.serve(0)
    try:
        url = f"http://{endpoint.address}/metrics"
        answer = requests.get(url, headers={"Accept": PROMETHEUS_ACCEPT}, timeout=5)
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        only = "application/openmetrics-text;version=1.0.0"
        answer = requests.get(url, headers={"Accept": only}, timeout=5)
        assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
        families = {f.name: f for f in text_string_to_metric_families(answer.text)}
        assert families["server_twin_cpu_percent"].samples[0].value == 7.5
        assert families["server_twin_run"].type == "info"
    finally:
        endpoint.close()
