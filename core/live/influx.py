"""InfluxDB over HTTP: the client, the events measurement, and `twin export --to influx`.

InfluxDB 1.x (Debian ships 1.6, which predates the `/api/v2/write` compatibility API) is
written through `/write?db=` and its database created through `/query` (`CREATE DATABASE`
is a no-op when it exists, which is how Telegraf does it); 2.x through
`/api/v2/write?org=&bucket=` with a token. Points are keyed by measurement, tags and a
millisecond-exact timestamp, so writing the same run twice leaves every point once.

The dataset's line protocol is the `.lp` export's (`core.analysis.export.influx_lines`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import requests

from core.analysis.export import MEASUREMENT, _escape_tag, influx_lines, joined
from core.errors import TwinError
from core.live.target import InfluxTarget
from core.rundir.layout import ANNOTATIONS
from core.rundir.read import RunBundle, read_annotation_rows

EVENTS_MEASUREMENT = f"{MEASUREMENT}_events"
BATCH_LINES = 5000
TIMEOUT_S = 5.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


class InfluxError(TwinError):
    """The server is down, refused, or answered with an error (exit 1)."""


def _reason(exc: requests.RequestException) -> str:
    """The short cause of a failed request ("Connection refused"), not urllib3's essay."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {TIMEOUT_S:g} s"
    found = _ERRNO_TEXT.findall(str(exc))
    return found[-1].strip() if found else type(exc).__name__


def _server_reason(resp: requests.Response) -> str:
    """What the server said: 1.x `{"error": ...}`, 2.x `{"message": ...}`, else the body."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        text = body.get("error") or body.get("message")
        if text:
            return str(text).strip()
    return resp.text.strip()[:200] or resp.reason or "no reason given"


class InfluxClient:
    """Writes line protocol to one `InfluxTarget`; every failure is an `InfluxError`."""

    def __init__(self, target: InfluxTarget, timeout_s: float = TIMEOUT_S) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self.session = requests.Session()
        if target.token:
            self.session.headers["Authorization"] = f"Token {target.token}"

    def _post(self, path: str, params: Mapping[str, str], data: bytes | None = None) -> Any:
        url = self.target.url + path
        try:
            resp = self.session.post(url, params=params, data=data, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise InfluxError(f"{url}: {_reason(exc)}") from None
        if resp.status_code >= 400:
            raise InfluxError(f"{url}: HTTP {resp.status_code}: {_server_reason(resp)}")
        return resp.json() if resp.content else None

    def ensure_database(self) -> None:
        """1.x: create the database when missing (a no-op when it exists)."""
        if self.target.v2:
            return
        name = self.target.db.replace("\\", "\\\\").replace('"', '\\"')
        answer = self._post("/query", {"q": f'CREATE DATABASE "{name}"'})
        for result in (answer or {}).get("results", []):
            if result.get("error"):
                raise InfluxError(f"{self.target.url}/query: {result['error']}")

    def write(self, lines: Sequence[str]) -> None:
        """Send the lines in batches of `BATCH_LINES` (nanosecond timestamps)."""
        if self.target.v2:
            path = "/api/v2/write"
            params = {"org": self.target.org, "bucket": self.target.bucket, "precision": "ns"}
        else:
            path, params = "/write", {"db": self.target.db, "precision": "ns"}
        for first in range(0, len(lines), BATCH_LINES):
            body = "\n".join(lines[first : first + BATCH_LINES]) + "\n"
            self._post(path, params, body.encode())

    def close(self) -> None:
        self.session.close()


def _tag(value: str) -> str:
    return str(_escape_tag(pd.Series([value]))[0])


def _string_field(value: str) -> str:
    """A quoted string field; line protocol has no newline in a value, so they become spaces."""
    text = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r", " ").replace("\n", " ") + '"'


def _field(value: Any) -> str:
    """Numbers are always floats: a field must keep one type across a shard."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value))
    return _string_field(str(value))


def iso_to_ns(text: str) -> int:
    """An ISO 8601 UTC time of the dataset (`...T12:00:00.123Z`) as exact nanoseconds."""
    when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    return ((when - _EPOCH) // timedelta(microseconds=1)) * 1000


def event_lines(rows: Iterable[Mapping[str, str]], host: str, run: str) -> list[str]:
    """`server_twin_events`: a point at each event's start and one at its end.

    `rows` are annotations.csv rows (or the same built live). Tags: host, run, event,
    stressor, phase (start|end); fields: label, status (`running` at the start), message
    at the end, `params` as JSON and each parameter as `param_<name>`.
    """
    lines: list[str] = []
    for row in rows:
        params = json.loads(row.get("params") or "{}")
        base = f"{EVENTS_MEASUREMENT},host={_tag(host)},run={_tag(run)}"
        base += f",event={_tag(row['event_id'])},stressor={_tag(row['stressor'])}"
        common = [f"label={_string_field(row.get('label', ''))}"]
        common.append(f"params={_string_field(json.dumps(params, sort_keys=True))}")
        common += [f"param_{k}={_field(v)}" for k, v in sorted(params.items()) if v is not None]
        status = row.get("status", "")
        phases: list[tuple[str, str, str, list[str]]] = [
            ("start", row.get("start_time", ""), "running", [])
        ]
        if status != "running":
            message = [f"message={_string_field(row.get('message', ''))}"]
            phases.append(("end", row.get("end_time", ""), status, message))
        for phase, when, phase_status, extra in phases:
            if not when:
                continue
            fields = ",".join([f"status={_string_field(phase_status)}", *common, *extra])
            lines.append(f"{base},phase={phase} {fields} {iso_to_ns(when)}")
    return lines


def export_to_influx(bundle: RunBundle, client: InfluxClient) -> tuple[int, int]:
    """Write a run's dataset and events; returns (rows, event points) written."""
    rows = influx_lines(joined(bundle), bundle.host, bundle.name)
    annotations = bundle.path / ANNOTATIONS
    events = (
        event_lines(read_annotation_rows(bundle.path), bundle.host, bundle.name)
        if annotations.is_file()
        else []
    )
    client.ensure_database()
    client.write(rows + events)
    return len(rows), len(events)
