"""The seed project's events: `annotations.csv` (both row forms) and `schedule.json`.

Annotations mix two row forms in one file: under a header `timestamp,event,detail`, rows
`TIME,start,KIND | PID=N | COMMAND` and `TIME,end,KIND | PID=N` (paired by PID; a start without
an end is an event that never ended), and header-less rows `START,END,KIND,COMMAND`. The schedule
is a JSON list of `{"type": KIND, "start": ISO local time, "duration_s": N, "cmd": COMMAND}`.
KIND is `cpu_spike`, `memory_load`, `disk_io` (and twin's `network_load`); COMMAND is the
stressor's command line, whose path may use backslashes.

A COMMAND's flags become twin parameters (`cpu_stress.py --procs N` -> `workers = N`, ...; a
flag named like a twin parameter is taken as it is, which is how twin's own seed export keeps
its parameters). The command line itself is the event's label.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from core.formats.imported import ImportedEvent
from core.formats.lines import LineProblems
from core.formats.seed import local_text, parse_local_time
from core.stressors.params import PARAMS, param_problems

KIND_OF = {
    "cpu_spike": "cpu",
    "memory_load": "memory",
    "disk_io": "disk",
    "network_load": "network",
}
SEED_KIND = {stressor: kind for kind, stressor in KIND_OF.items()}
SCRIPTS = {
    "cpu": "cpu_stress.py",
    "memory": "mem_stress.py",
    "disk": "disk_stress.py",
    "network": "net_stress.py",
}
SAME_EVENT_S = 1.0  # one event written in both row forms: same kind, starts this close
MATCH_PLAN_S = 60.0  # an annotated event belongs to the schedule entry this close (same kind)
_PID = re.compile(r"^PID\s*=\s*(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class SeedEvent:
    """One event as a seed file states it; `where` is `FILE:LINE` for messages."""

    stressor: str
    command: str
    start: datetime
    end: datetime | None
    duration_s: float | None
    where: str


def command_flags(command: str) -> dict[str, str]:
    """`--key value` / `--key=value` pairs after the script (tokens split on white space)."""
    tokens = command.split()
    flags: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--") and len(token) > 2:
            key, eq, value = token[2:].partition("=")
            if not eq and i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
                value = tokens[i + 1]
                i += 1
            flags[key.replace("-", "_")] = value
        i += 1
    return flags


def _typed(kind: str, name: str, text: str) -> Any:
    spec = PARAMS[kind][name]
    if spec.type is bool:
        return text.lower() in ("1", "true", "yes")
    if spec.type is int:
        return int(float(text))
    return spec.type(text)


def command_params(stressor: str, command: str) -> tuple[dict[str, Any], float | None, list[str]]:
    """Twin parameters, the planned duration (`--duration`) and notes for one COMMAND."""
    flags = command_flags(command)
    params: dict[str, Any] = {}
    notes: list[str] = []
    try:
        if stressor == "cpu" and "procs" in flags:
            params["workers"] = int(flags["procs"])
        if stressor == "memory" and "step_mb" in flags:
            steps = int(flags.get("steps", "1"))
            params["size_mb"] = int(float(flags["step_mb"]) * steps)
            if steps > 1 and "sleep" in flags:
                params["ramp_s"] = float(flags["sleep"]) * (steps - 1)
        if stressor == "disk" and "size_mb" in flags:
            params["file_mb"] = int(float(flags["size_mb"]))
        if stressor == "disk" and "block_mb" in flags:
            params["block_kb"] = int(float(flags["block_mb"]) * 1024)
        for name, text in flags.items():
            if name in PARAMS[stressor] and name not in params:
                params[name] = _typed(stressor, name, text)
        duration = float(flags["duration"]) if "duration" in flags else None
    except ValueError as exc:
        return {}, None, [f"parameters not read from the command ({exc})"]
    for name, reason in param_problems(stressor, params):
        params.pop(name, None)
        notes.append(f"{name} left at twin's default: {reason}")
    return params, duration, notes


def _flag_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def seed_command(stressor: str, params: dict[str, Any], duration_s: float, cpus: int) -> str:
    """A seed-style COMMAND for a twin event: the seed's flags, then twin's own parameters.

    `cpus` is the run's logical CPU count: a CPU event without `workers` ran one per CPU."""
    seed_flags: dict[str, Any] = {}
    rest = dict(params)
    if stressor == "cpu":
        seed_flags["procs"] = rest.pop("workers", None) or cpus
        seed_flags["duration"] = round(duration_s, 3)
    elif stressor == "memory":
        seed_flags = {
            "step_mb": rest.pop("size_mb", 256),
            "steps": 1,
            "sleep": round(duration_s, 3),
        }
    elif stressor == "disk":
        seed_flags["size_mb"] = rest.pop("file_mb", 256)
        if "block_kb" in rest:
            seed_flags["block_mb"] = round(rest.pop("block_kb") / 1024, 6)
    flags = {**seed_flags, **rest}
    text = " ".join(f"--{key} {_flag_value(v)}" for key, v in flags.items())
    return f"{SCRIPTS[stressor]} {text}".strip()


def _kind(problems: LineProblems, path: Path, line: int, text: str) -> str | None:
    stressor = KIND_OF.get(text.strip())
    if stressor is None:
        problems.add(path, line, f"unknown kind {text.strip()!r} (one of {', '.join(KIND_OF)})")
    return stressor


def read_seed_annotations(
    path: Path, problems: LineProblems, zone: tzinfo | None
) -> list[SeedEvent]:
    """Every event of a seed annotations file, in either row form (duplicates merged)."""
    text = problems.read_text(path)
    reader = csv.reader(io.StringIO(text))
    events: list[SeedEvent] = []
    open_starts: dict[str, SeedEvent] = {}
    for row in reader:
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells) or [c.lower() for c in cells] == ["timestamp", "event", "detail"]:
            continue
        if len(cells) >= 3 and cells[1].lower() in ("start", "end"):
            when = parse_local_time(cells[0], zone)
            parts = [p.strip() for p in ",".join(row[2:]).split("|", 2)]
            pid = _PID.match(parts[1]) if len(parts) > 1 else None
            if when is None or pid is None or (cells[1].lower() == "start" and len(parts) < 3):
                problems.add(
                    path,
                    line,
                    "expected TIME,start,KIND | PID=N | COMMAND or TIME,end,KIND | PID=N",
                )
                continue
            stressor = _kind(problems, path, line, parts[0])
            if stressor is None:
                continue
            if cells[1].lower() == "start":
                if pid.group(1) in open_starts:  # the PID's earlier start never ended
                    events.append(open_starts.pop(pid.group(1)))
                open_starts[pid.group(1)] = SeedEvent(
                    stressor, parts[2], when, None, None, f"{path}:{line}"
                )
                continue
            started = open_starts.pop(pid.group(1), None)
            if started is None:
                problems.add(path, line, f"end for PID {pid.group(1)} without a start")
            elif when < started.start:
                problems.add(
                    path, line, f"end for PID {pid.group(1)} before its start ({started.where})"
                )
            else:
                events.append(replace(started, end=when))
        elif len(cells) >= 4:
            start, end = parse_local_time(cells[0], zone), parse_local_time(cells[1], zone)
            if start is None or end is None:
                problems.add(path, line, "expected START,END,KIND,COMMAND with two times")
                continue
            if end < start:
                problems.add(path, line, "END is before START")
                continue
            stressor = _kind(problems, path, line, cells[2])
            if stressor is not None:
                events.append(
                    SeedEvent(
                        stressor, ",".join(row[3:]).strip(), start, end, None, f"{path}:{line}"
                    )
                )
        else:
            problems.add(path, line, f"not an annotation row ({len(cells)} fields)")
    events.extend(open_starts.values())
    return _merge_duplicates(events)


def _merge_duplicates(events: list[SeedEvent]) -> list[SeedEvent]:
    """One event written in both forms (the logger's start/end and the runner's line) is one."""
    out: list[SeedEvent] = []
    for ev in sorted(events, key=lambda e: (e.start, e.end is None)):
        twin = next(
            (
                o
                for o in out
                if o.stressor == ev.stressor
                and abs((o.start - ev.start).total_seconds()) <= SAME_EVENT_S
            ),
            None,
        )
        if twin is None:
            out.append(ev)
        elif twin.end is None and ev.end is not None:
            out[out.index(twin)] = replace(twin, end=ev.end)
    return out


def read_seed_schedule(path: Path, problems: LineProblems, zone: tzinfo | None) -> list[SeedEvent]:
    """A seed schedule.json: its planned events (LINE: where each list item starts)."""
    text = problems.read_text(path)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise problems.fatal(path, exc.lineno, f"not JSON: {exc.msg}") from None
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1 if text.lstrip().startswith("[") else -1
    if pos < 0:
        raise problems.fatal(path, 1, "not a seed schedule (a JSON list of events)")
    events: list[SeedEvent] = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        item, end = decoder.raw_decode(text, pos)
        line = text.count("\n", 0, pos) + 1
        pos = end
        if not isinstance(item, dict) or not {"type", "start", "duration_s", "cmd"} <= set(item):
            problems.add(path, line, 'expected {"type", "start", "duration_s", "cmd"}')
            continue
        start = parse_local_time(str(item["start"]), zone)
        stressor = KIND_OF.get(str(item["type"]))
        try:
            duration = float(item["duration_s"])
        except (TypeError, ValueError):
            duration = -1.0
        if start is None or stressor is None or duration <= 0:
            what = "start" if start is None else "type" if stressor is None else "duration_s"
            problems.add(path, line, f"{what}: {item.get(what)!r} is not valid")
            continue
        events.append(
            SeedEvent(stressor, str(item["cmd"]), start, None, duration, f"{path}:{line}")
        )
    return events


def to_imported(
    annotated: Sequence[SeedEvent] | None,
    scheduled: Sequence[SeedEvent],
    recording_end: datetime,
) -> list[ImportedEvent]:
    """Twin events: annotated ones (planned times from the schedule entry they match), then
    schedule entries nothing annotated (never started, or, with no annotations at all, run as
    planned)."""
    unmatched = list(scheduled)
    out: list[ImportedEvent] = []
    for ev in annotated or []:
        near = [
            s
            for s in unmatched
            if s.stressor == ev.stressor
            and abs((s.start - ev.start).total_seconds()) <= MATCH_PLAN_S
        ]
        plan = min(near, key=lambda s: abs((s.start - ev.start).total_seconds()), default=None)
        if plan is not None:
            unmatched.remove(plan)
        params, duration, notes = command_params(ev.stressor, ev.command)
        if plan is not None:
            duration = plan.duration_s
        elif ev.end is not None:
            duration = (ev.end - ev.start).total_seconds()
        if ev.end is None:
            notes.append(f"started at {ev.where} and never recorded an end")
        planned_start = plan.start if plan is not None else ev.start
        if not duration or duration <= 0:
            duration = max((recording_end - planned_start).total_seconds(), 0.001)
        out.append(
            ImportedEvent(
                ev.stressor,
                params,
                ev.command,
                planned_start,
                duration,
                ev.start,
                ev.end,
                "; ".join(notes),
            )
        )
    for plan in unmatched:
        params, _, notes = command_params(plan.stressor, plan.command)
        assert plan.duration_s is not None
        ran = annotated is None
        end = plan.start + timedelta(seconds=plan.duration_s) if ran else None
        if ran:
            notes.insert(0, "times from the schedule (no annotations given)")
        out.append(
            ImportedEvent(
                plan.stressor,
                params,
                plan.command,
                plan.start,
                plan.duration_s,
                plan.start if ran else None,
                end,
                "; ".join(notes),
            )
        )
    return out


def render_seed_annotations(
    rows: Sequence[tuple[datetime, datetime | None, str, str]], zone: tzinfo | None
) -> str:
    """The header-less `START,END,KIND,COMMAND` form (END empty for an event that never ended)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for start, end, stressor, command in rows:
        writer.writerow(
            [
                local_text(start, zone),
                local_text(end, zone) if end else "",
                SEED_KIND[stressor],
                command,
            ]
        )
    return buf.getvalue()
