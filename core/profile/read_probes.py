"""Reading `[[probes]]` and `[steady_state]` (README "Profiles"; issue 13's contract).

Every problem is a `Problem` on its line, like the rest of the profile. Two rules beyond
types and ranges: a `command` probe is refused unless the operator allows commands (a
profile alone never runs a program: `--allow-commands`), and a tolerance must name a column
the run will write (this machine's telemetry, or a probe of this profile).
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Any

from core.probes.kinds import split_address, url_problem
from core.probes.spec import (
    BOUND_KEYS,
    DEFAULT_EVERY_S,
    DEFAULT_TIMEOUT_S,
    EVERY_RANGE,
    KINDS,
    NAME_RE,
    PROBE_KEYS,
    STEADY_STATE_KEYS,
    TARGET_KEY,
    TIMEOUT_RANGE,
    ProbeSpec,
    SteadyStateSpec,
    Tolerance,
)
from core.profile.check import Checker, is_number, show, type_name
from core.profile.spec import KeyPath
from core.telemetry import columns as C
from core.telemetry import metric_lists

COMMANDS_REFUSED = (
    "a command probe runs a program: refused unless --allow-commands is given "
    "(a profile alone never runs a command)"
)


@functools.cache
def machine_metric_columns() -> tuple[str, ...]:
    """The numeric columns a run on this machine writes besides probes (detected once)."""
    from core.telemetry.sampler import SystemSampler

    sampler = SystemSampler(output_dir=Path("."))
    try:
        names = [c.name for c in sampler.columns + C.QUALITY + C.STRESS_WORK]
    finally:
        sampler.close()
    return tuple(n for n in names if n not in metric_lists.NON_METRIC)


def read_probes(check: Checker, data: dict[str, Any], allow_commands: bool) -> list[ProbeSpec]:
    """The `[[probes]]` that are usable (each bad one reported and left out)."""
    if "probes" not in data:
        return []
    raw = data["probes"]
    if not isinstance(raw, list):
        check.add(("probes",), "must be an array of tables: write each probe as [[probes]]")
        return []
    probes: list[ProbeSpec] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name in seen:
            check.add(
                ("probes", index, "name"),
                f'duplicate probe name "{name}" (probes[{seen[name]}] has it): '
                "names must be unique, they name the dataset columns",
            )
            continue
        if isinstance(name, str):
            seen[name] = index
        probe = _read_probe(check, index, item, allow_commands)
        if probe is not None:
            probes.append(probe)
    return probes


def declared_probe_names(data: dict[str, Any]) -> set[str]:
    """Every name a `[[probes]]` entry gives, usable or not (its own problems say why not)."""
    raw = data.get("probes")
    if not isinstance(raw, list):
        return set()
    return {n for item in raw if isinstance(item, dict) and isinstance(n := item.get("name"), str)}


def _read_probe(check: Checker, index: int, item: Any, allow_commands: bool) -> ProbeSpec | None:
    path: KeyPath = ("probes", index)
    table = check.table(path, item, PROBE_KEYS)
    if table is None:
        return None
    name = _read_name(check, path, table.get("name"))
    kind: str | None = None
    if "kind" not in table:
        check.add((*path, "kind"), f"required: one of {', '.join(KINDS)}")
    else:
        kind = check.choice((*path, "kind"), table["kind"], KINDS, "probe kind")
    if kind == "command" and not allow_commands:
        check.add((*path, "kind"), COMMANDS_REFUSED)
        kind = None
    lo, hi = EVERY_RANGE
    every = check.number(
        (*path, "every_s"), table.get("every_s"), DEFAULT_EVERY_S, least=lo, most=hi
    )
    lo, hi = TIMEOUT_RANGE
    timeout = check.number(
        (*path, "timeout_s"), table.get("timeout_s"), DEFAULT_TIMEOUT_S, least=lo, most=hi
    )
    if kind is None:
        return None
    for key, owner in TARGET_KEY.items():
        if key != kind and owner in table:
            check.add((*path, owner), f'only for kind = "{key}", not for kind = "{kind}"')
    if "expect_status" in table and kind != "http":
        check.add((*path, "expect_status"), f'only for kind = "http", not for kind = "{kind}"')
    target = _read_target(check, path, kind, table)
    expect = None
    if kind == "http" and "expect_status" in table:
        expect = check.integer(
            (*path, "expect_status"), table["expect_status"], least=100, most=599
        )
        if expect is None:
            return None
    if name is None or target is None or every is None or timeout is None:
        return None
    url, address, argv = target
    return ProbeSpec(name, kind, every, timeout, url, address, argv, expect)


def _read_name(check: Checker, path: KeyPath, name: Any) -> str | None:
    key = (*path, "name")
    if name is None:
        check.add(key, 'required: a short name such as "api" (it names the dataset columns)')
    elif not isinstance(name, str):
        check.add(key, f"must be a string, not {type_name(name)} ({show(name)})")
    elif not NAME_RE.match(name):
        check.add(key, f"{show(name)}: must match [a-z][a-z0-9_]* (it names the dataset columns)")
    else:
        return name
    return None


def _read_target(
    check: Checker, path: KeyPath, kind: str, table: dict[str, Any]
) -> tuple[str, str, tuple[str, ...]] | None:
    """(url, address, argv) for the kind; None after reporting what is missing or bad."""
    key = TARGET_KEY.get(kind)
    if key is None:  # sched, fsync: nothing to configure
        return "", "", ()
    where = (*path, key)
    value = table.get(key)
    examples = {
        "url": 'url = "http://127.0.0.1:8080/health"',
        "address": 'address = "127.0.0.1:5432"',
        "argv": 'argv = ["pg_isready", "-q"]',
    }
    if value is None:
        check.add(where, f"required for a {kind} probe, e.g. {examples[key]}")
        return None
    if key == "argv":
        if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
            check.add(
                where, f"must be a non-empty array of strings (no shell), e.g. {examples[key]}"
            )
            return None
        if not value[0]:
            check.add(where, "the program (first element) must not be empty")
            return None
        return "", "", tuple(value)
    if not isinstance(value, str):
        check.add(where, f"must be a string, not {type_name(value)} ({show(value)})")
        return None
    if key == "url":
        problem = url_problem(value)
        if problem is not None:
            check.add(where, problem)
            return None
        return value, "", ()
    try:
        split_address(value)
    except ValueError as exc:
        check.add(where, f"{show(value)}: {exc}")
        return None
    return "", value, ()


def read_steady_state(
    check: Checker, data: dict[str, Any], probes: list[ProbeSpec]
) -> SteadyStateSpec | None:
    """`[steady_state]`, or None when the profile has none (the verdict is then not-checked).

    A tolerance on the column of a probe the profile declares but could not use is left
    unreported (that probe's own problem says why); one on an undeclared probe is reported."""
    if "steady_state" not in data:
        return None
    table = check.table(("steady_state",), data["steady_state"], STEADY_STATE_KEYS)
    if table is None:
        return None
    abort = table.get("abort", False)
    if not isinstance(abort, bool):
        check.add(("steady_state", "abort"), f"must be true or false, not {show(abort)}")
        abort = False
    raw = table.get("tolerances", {})
    if not isinstance(raw, dict):
        check.add(
            ("steady_state", "tolerances"),
            "must be a table of columns, e.g. probe_api_p99_ms = { max = 50 }",
        )
        return SteadyStateSpec(abort)
    known = [*machine_metric_columns(), *(c.name for p in probes for c in p.columns)]
    unusable = declared_probe_names(data) - {p.name for p in probes}
    tolerances = []
    for column, bounds in raw.items():
        tolerance = _read_tolerance(check, column, bounds, known, unusable)
        if tolerance is not None:
            tolerances.append(tolerance)
    return SteadyStateSpec(abort, tuple(tolerances))


def _read_tolerance(
    check: Checker, column: str, bounds: Any, known: list[str], unusable: set[str]
) -> Tolerance | None:
    path: KeyPath = ("steady_state", "tolerances", column)
    if column not in known:
        close = difflib.get_close_matches(column, known, n=1, cutoff=0.6)
        did_you_mean = f' (did you mean "{close[0]}"?)' if close else ""
        probe = metric_lists.PROBE_COLUMN.match(column)
        if probe is None:
            where = did_you_mean or " (twin columns lists them)"
            check.add(path, f'no dataset column "{column}" on this machine{where}')
        elif probe.group(1) not in unusable:
            reason = f'no probe in this profile writes column "{column}"'
            check.add(path, f"{reason}{did_you_mean}")
        return None
    if not isinstance(bounds, dict):
        check.add(path, f"must be a table such as {{ max = 50 }}, not {type_name(bounds)}")
        return None
    table = check.table(path, bounds, BOUND_KEYS)
    if table is None:
        return None
    if not table:
        check.add(path, "give max, min or both, e.g. { max = 50 }")
        return None
    values: dict[str, float] = {}
    for key, value in table.items():
        if not is_number(value):
            check.add((*path, key), f"must be a number, not {type_name(value)} ({show(value)})")
            continue
        bound = check.number((*path, key), value, 0.0)
        if bound is not None:
            values[key] = bound
    if len(values) != len(table):
        return None
    low, high = values.get("min"), values.get("max")
    if low is not None and high is not None and low > high:
        check.add(path, f"min {show(low)} is above max {show(high)}: nothing could hold")
        return None
    return Tolerance(column, high, low)


def probes_to_data(probes: tuple[ProbeSpec, ...]) -> list[dict[str, Any]]:
    """`[[probes]]` as a TOML file holds them (what `read_probes` reads back the same)."""
    out = []
    for probe in probes:
        entry: dict[str, Any] = {"name": probe.name, "kind": probe.kind}
        if probe.url:
            entry["url"] = probe.url
        if probe.address:
            entry["address"] = probe.address
        if probe.argv:
            entry["argv"] = list(probe.argv)
        if probe.expect_status is not None:
            entry["expect_status"] = probe.expect_status
        entry["every_s"] = probe.every_s
        entry["timeout_s"] = probe.timeout_s
        out.append(entry)
    return out


def steady_state_to_data(spec: SteadyStateSpec) -> dict[str, Any]:
    """`[steady_state]` as a TOML file holds it."""
    tolerances = {t.column: t.bounds() for t in spec.tolerances}
    return {"abort": spec.abort, "tolerances": tolerances}
