"""`twin plan PROFILE.toml [-o schedule.json]`: the plan of a run, without running it.

Prints a readable timeline: the run's total length, each event with its start,
end and params on the run clock, a text bar chart, and the peaks of planned
concurrent load (CPU share of this machine, memory, disk working set,
network streams). `-o FILE` writes exactly `Schedule.dumps()`, the bytes a run
of this profile writes as its `schedule.json` (`-o -`: to stdout, alone).

Exit codes: 0 the plan is sound; 2 bad input, with one `FILE:LINE: key: reason`
line per problem on stderr (the format compilers use, so editors can jump to
it). Plain text: the placement is the engine's (`core.profile.resolve_schedule`), the
parameter defaults the stressor table's (`core.stressors`); this module only lays them out.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import EXIT_BAD_INPUT, EXIT_OK, ProfileError
from core.profile import DEFAULT_SCRATCH_DIR, Profile, load_profile, resolve_schedule
from core.schedule import Event, Schedule
from core.shapes import LEVEL_PARAMS, is_shape, parse_shape, peak_level, sparkline
from core.stressors import resolve_params

BAR_WIDTH = 60
SPARK_WIDTH = 40
DEFAULT_OUT = DEFAULT_SCRATCH_DIR


def _secs(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _clock(value: float) -> str:
    minutes, seconds = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _params_text(params: dict[str, Any]) -> str:
    def show(v: Any) -> str:
        if is_shape(v):
            return parse_shape(v).describe()
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return " ".join(f"{k}={show(v)}" for k, v in params.items()) or "(defaults)"


@dataclass(frozen=True)
class Load:
    """Planned load of the events running at one moment."""

    cpu_percent: float = 0.0
    memory_mb: float = 0.0
    disk_mb: float = 0.0
    disk_streams: int = 0
    network_streams: int = 0
    network_mbit_s: float | None = 0.0  # None: at least one stream is uncapped
    events: int = 0


def planned_load(events: list[Event], cpus: int) -> Load:
    """Sum the planned load of `events` (all running at the same time), on `cpus` logical CPUs."""
    cpu = memory = disk = 0.0
    disk_streams = net_streams = 0
    net_rate: float | None = 0.0
    for event in events:
        params = resolve_params(event.stressor, event.params, cpus=cpus)  # the table's defaults
        if event.stressor == "cpu":
            load = float(peak_level(params["load_percent"]))  # a shape at its peak
            if params["target"] == "system":
                cpu += load
            else:
                cpu += load * min(int(params["workers"]), cpus) / cpus
        elif event.stressor == "memory":
            memory += float(peak_level(params["size_mb"]))
        elif event.stressor == "disk":
            disk += float(params["file_mb"])
            disk_streams += 1
        elif event.stressor == "network":
            net_streams += 1
            rate = params["rate_mbit_s"]
            if rate is None or net_rate is None:
                net_rate = None
            else:
                net_rate += float(peak_level(rate))
    return Load(cpu, memory, disk, disk_streams, net_streams, net_rate, len(events))


def peaks(schedule: Schedule, cpus: int) -> dict[str, tuple[Load, float]]:
    """For each measure, the load at the moment it peaks and that moment (run clock)."""
    best: dict[str, tuple[Load, float]] = {}
    measures: dict[str, Callable[[Load], float]] = {
        "cpu": lambda ld: ld.cpu_percent,
        "memory": lambda ld: ld.memory_mb,
        "disk": lambda ld: ld.disk_mb,
        "network": lambda ld: float(ld.network_streams),
        "events": lambda ld: float(ld.events),
    }
    for t in sorted({e.start_s for e in schedule.events}):
        load = planned_load(schedule.active_at(t), cpus)
        for name, measure in measures.items():
            if name not in best or measure(load) > measure(best[name][0]):
                best[name] = (load, t)
    return best


def _bar(start: float, end: float, total: float, mark: str) -> str:
    cells = [" "] * BAR_WIDTH
    if total <= 0:
        return "".join(cells)
    first = min(BAR_WIDTH - 1, int(start / total * BAR_WIDTH))
    last = max(first + 1, min(BAR_WIDTH, round(end / total * BAR_WIDTH)))
    for i in range(first, last):
        cells[i] = mark
    return "".join(cells)


def shape_lines(events: Sequence[Event]) -> list[str]:
    """A sparkline per shaped event over its length (core.shapes), lowest to highest level."""
    lines: list[str] = []
    for e in events:
        name = LEVEL_PARAMS.get(e.stressor, "")
        if not is_shape(e.params.get(name)):
            continue
        shape = parse_shape(e.params[name])
        values = shape.sample(e.duration_s, SPARK_WIDTH)
        if not lines:
            lines.append("Shaped levels (over each event):")
        low, high = min(values), max(values)
        lines.append(f"  {e.id} {name:<13} {sparkline(values)}  {low:.4g} .. {high:.4g}")
    return [*lines, ""] if lines else []


def probe_lines(profile: Profile) -> list[str]:
    """The probes (what each asks, how often) and the steady-state tolerances, if any."""
    lines: list[str] = []
    if profile.probes:
        lines.append("Probes (each in its own thread; dataset columns probe_<name>_*):")
        width = max(len(p.name) for p in profile.probes)
        for p in profile.probes:
            when = f"every {_secs(p.every_s)} s, timeout {_secs(p.timeout_s)} s"
            note = "  (needs --allow-commands to run)" if p.kind == "command" else ""
            lines.append(f"  {p.name:<{width}}  {p.kind:<7}  {p.target()}  {when}{note}")
        lines.append("")
    steady = profile.steady_state
    if steady is not None:
        action = (
            "abort = true: the first deviation stops the run"
            if steady.abort
            else ("abort = false: deviations are reported, the run goes on")
        )
        lines.append(f"Steady state ({action}; exit 3 if it deviates):")
        if not steady.tolerances:
            lines.append("  no tolerances: not checked")
        width = max((len(t.column) for t in steady.tolerances), default=0)
        lines += [f"  {t.column:<{width}}  {t.describe()}" for t in steady.tolerances]
        lines.append("")
    return lines


def render_plan(profile: Profile, schedule: Schedule, cpus: int | None = None) -> str:
    """The plan as plain text (what `twin plan` prints)."""
    cpus = cpus or os.cpu_count() or 1
    total = schedule.total_s
    lines: list[str] = []
    title = schedule.name + (f": {profile.description}" if profile.description else "")
    lines.append(title)
    if profile.source is not None:
        lines.append(f"  profile   {profile.source}")
    design = ""
    if profile.generate is not None:
        design = f", {profile.generate.get('design', 'random')} design"
    lines.append(
        f"  mode      {schedule.mode}{design}, sampling every {_secs(schedule.interval_s)} s"
    )
    gap = ""
    if schedule.mode == "sequential" and profile.generate is None and len(schedule.events) > 1:
        gap = f", gap {_secs(profile.gap_s)} s"
    where = "before and after the events" if schedule.events else "only"
    lines.append(f"  baseline  {_secs(schedule.baseline_s)} s {where}{gap}")
    lines.append(f"  seed      {'none' if schedule.seed is None else schedule.seed}")
    count = len(schedule.events)
    lines.append(
        f"  total     {_secs(total)} s ({_clock(total)}), {count} event{'' if count == 1 else 's'}"
    )
    lines.append("")
    lines.extend(probe_lines(profile))
    if not schedule.events:
        lines.append(f"No events: the baseline is recorded once, for {_secs(total)} s.")
        return "\n".join(lines) + "\n"

    rows = [("id", "stressor", "start", "end", "length", "params", "label")]
    for e in schedule.events:
        rows.append(
            (
                e.id,
                e.stressor,
                _secs(e.start_s),
                _secs(e.end_s),
                _secs(e.duration_s),
                _params_text(e.params),
                e.label,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {2, 3, 4}
    for row in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    lines.append("")

    name_width = max(len(f"{e.id} {e.stressor}") for e in schedule.events)
    name_width = max(name_width, len("baseline"))
    axis_end = f"{_secs(total)} s"
    axis = "0 s".ljust(BAR_WIDTH - len(axis_end)) + axis_end
    lines.append(f"  {'':<{name_width}}  {axis}")
    first_start = min(e.start_s for e in schedule.events)
    last_end = max(e.end_s for e in schedule.events)
    quiet = [
        a if a != " " else b
        for a, b in zip(
            _bar(0, first_start, total, "="), _bar(last_end, total, total, "="), strict=True
        )
    ]
    lines.append(f"  {'baseline':<{name_width}} |{''.join(quiet)}|")
    for e in schedule.events:
        lines.append(
            f"  {f'{e.id} {e.stressor}':<{name_width}} |{_bar(e.start_s, e.end_s, total, '#')}|"
        )
    lines.append(f"  {'':<{name_width}}  1 column = {_secs(total / BAR_WIDTH)} s")
    lines.append("")
    lines.extend(shape_lines(schedule.events))

    top = peaks(schedule, cpus)
    lines.append("Planned load at its peak (events running at the same time):")

    def at(name: str) -> str:
        t = top[name][1]
        ids = ", ".join(e.id for e in schedule.active_at(t))
        return f"at {_secs(t)} s: {ids}"

    cpu_load, _ = top["cpu"]
    if cpu_load.cpu_percent:
        over = "  (over-subscribed)" if cpu_load.cpu_percent > 100 else ""
        cpu_text = f"{cpu_load.cpu_percent:.0f}% of {cpus} logical CPUs{over}"
        lines.append(f"  cpu      {cpu_text:<32} {at('cpu')}")
    else:
        lines.append("  cpu      none")
    mem_load, _ = top["memory"]
    if mem_load.memory_mb:
        lines.append(f"  memory   {f'{mem_load.memory_mb:.0f} MiB':<32} {at('memory')}")
    else:
        lines.append("  memory   none")
    disk_load, _ = top["disk"]
    if disk_load.disk_streams:
        streams = f"{disk_load.disk_streams} stream{'' if disk_load.disk_streams == 1 else 's'}"
        disk_text = f"{disk_load.disk_mb:.0f} MiB working set, {streams}"
        lines.append(f"  disk     {disk_text:<32} {at('disk')}")
    else:
        lines.append("  disk     none")
    net_load, _ = top["network"]
    if net_load.network_streams:
        n = net_load.network_streams
        rate = (
            "uncapped"
            if net_load.network_mbit_s is None
            else f"{_secs(net_load.network_mbit_s)} Mbit/s"
        )
        net_text = f"{n} loopback stream{'' if n == 1 else 's'}, {rate}"
        lines.append(f"  network  {net_text:<32} {at('network')}")
    else:
        lines.append("  network  none")
    most = f"{top['events'][0].events} at once"
    lines.append(f"  events   {most:<32} {at('events')}")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin plan",
        description="Resolve a profile into its schedule and print the timeline, without "
        "running anything. Exit 0 when the profile is sound, 2 with one "
        "FILE:LINE: key: reason line per problem.",
    )
    parser.add_argument("profile", type=Path, help="the profile (TOML)")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the schedule.json a run of this profile writes ('-': stdout, alone)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=None,
        help=f"where runs would go: disk targets are checked there (default {DEFAULT_OUT})",
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        # a plan runs nothing: command probes are listed (a run needs --allow-commands)
        profile = load_profile(
            args.profile, scratch_dir=args.out or DEFAULT_OUT, allow_commands=True
        )
        schedule = resolve_schedule(profile)
    except ProfileError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        count = len(exc.problems)
        print(
            f"twin plan: {count} problem{'' if count == 1 else 's'} in {args.profile}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if args.output == "-":
        sys.stdout.write(schedule.dumps())
        return EXIT_OK
    sys.stdout.write(render_plan(profile, schedule))
    if args.output:
        out = Path(args.output)
        try:
            out.write_text(schedule.dumps(), encoding="utf-8")
        except OSError as exc:
            print(f"twin plan: {out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"\nschedule written to {out}")
    return EXIT_OK
