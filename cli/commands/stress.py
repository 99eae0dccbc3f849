"""`twin stress KIND --duration SECONDS [--PARAM VALUE ...]`: one stressor in the foreground.

Every profile parameter of the stressor is a flag, dashes for underscores (generated from
`core.stressors.PARAMS`). It runs the same safety checks as a profile, prints the work done
each second, and stops the stressor cleanly on Ctrl-C or SIGTERM.

Exit codes: 0 the stressor ran its full duration; 1 it failed or was stopped (Ctrl-C,
SIGTERM); 2 bad input (nothing started).

Disk scratch space: `--dir DIR` (must exist), else a temporary directory created in the current
directory (not /tmp, which is often tmpfs, i.e. RAM) and removed afterwards. The stressor's file
is unnamed (O_TMPFILE) either way, so nothing is left behind even after `kill -9`.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from core.errors import EXIT_FAILED, EXIT_OK, BadInput
from core.stressors import (
    CONTENTION_MODES,
    KINDS,
    PARAMS,
    ParamSpec,
    StressorExit,
    start_stressor,
)

if TYPE_CHECKING:
    from core.live.metrics_endpoint import MetricsEndpoint

_SHORT = {
    "stress_cpu_loops_per_s": ("loops/s", 1.0, "{:,.0f}"),
    "stress_mem_resident_bytes": ("resident MiB", 1 / (1 << 20), "{:,.1f}"),
    "stress_disk_read_bytes_per_s": ("read MiB/s", 1 / (1 << 20), "{:,.1f}"),
    "stress_disk_write_bytes_per_s": ("write MiB/s", 1 / (1 << 20), "{:,.1f}"),
    "stress_disk_ops_per_s": ("ops/s", 1.0, "{:,.0f}"),
    "stress_net_bytes_per_s": ("Mbit/s", 8 / 1e6, "{:,.1f}"),
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad input as `BadInput` (one line, exit 2), not SystemExit."""

    def error(self, message: str) -> NoReturn:
        raise BadInput(f"stress: {message}")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _describe(spec: ParamSpec) -> str:
    """A param's help line for argparse (which %-formats help: a bare % must be doubled)."""
    parts = [spec.help]
    if spec.choices:
        parts.append(f"one of {', '.join(spec.choices)}")
    elif spec.min is not None and spec.max is not None:
        parts.append(f"{_num(spec.min)}-{_num(spec.max)}" + (f" {spec.unit}" if spec.unit else ""))
    if spec.default is not None:
        parts.append(f"default {str(spec.default).lower() if spec.type is bool else spec.default}")
    return "; ".join(parts).replace("%", "%%")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="twin stress",
        description="Run one stressor in the foreground (Ctrl-C stops it cleanly).",
        epilog="exit codes: 0 done, 1 failed or stopped, 2 bad input",
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True, parser_class=_Parser)
    for kind in KINDS:
        sub = kinds.add_parser(kind, help=f"{kind} stressor")
        sub.add_argument("--duration", type=float, required=True, metavar="SECONDS")
        sub.add_argument("--metrics-port", type=int, metavar="PORT", help="serve /metrics on PORT")
        sub.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST", help="its address")
        if kind == "disk":
            sub.add_argument(
                "--dir",
                type=Path,
                default=None,
                help="scratch directory (default: a temporary one in the current directory)",
            )
        sub.add_argument(
            "--contention",
            choices=CONTENTION_MODES,
            default="shared",
            help="shared (default): the load competes with the node's work as a co-located "
            "process does; isolated: a session of its own (with autogroup it weighs as one "
            "separate login)",
        )
        for name, spec in PARAMS[kind].items():
            metavar = spec.unit.upper().replace("/", "_") if spec.unit else name.upper()
            if spec.type is bool:
                metavar = "true|false"
            sub.add_argument(_flag(name), dest=name, default=None, metavar=metavar,
                             help=_describe(spec))  # fmt: skip
    return parser


def _convert(spec: ParamSpec, text: str) -> Any:
    """Flag text to the param's type; leave it a string when it does not parse, so that
    `param_problems` reports it with the same wording as a profile."""
    try:
        if spec.type is bool:
            lowered = text.strip().lower()
            if lowered in ("true", "yes", "on", "1"):
                return True
            if lowered in ("false", "no", "off", "0"):
                return False
            return text
        if spec.type is int:
            return int(text)
        if spec.type is float:
            return float(text)
    except ValueError:
        return text
    return text


def _line(elapsed: float, work: dict[str, float], status: dict[str, Any]) -> str:
    parts = [f"{elapsed:6.1f}s"]
    for name, value in work.items():
        label, scale, fmt = _SHORT.get(name, (name, 1.0, "{:g}"))
        parts.append(f"{label} {fmt.format(value * scale)}")
    for key in ("system_cpu_percent", "steal_percent"):
        if key in status:
            parts.append(f"{key.removesuffix('_percent').replace('_', ' ')} {status[key]:.1f}%")
    return "  ".join(parts)


def _check_flags(argv: list[str]) -> None:
    """Unknown flags get a did-you-mean, like unknown profile params."""
    if not argv or argv[0] not in PARAMS:
        return
    known = ["--duration", "--dir", "--contention", "--help", "-h", "--metrics-port"] + [
        _flag(n) for n in PARAMS[argv[0]]
    ]
    for arg in argv[1:]:
        flag = arg.split("=", 1)[0]
        if flag.startswith("--") and flag not in known:
            close = difflib.get_close_matches(flag, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise BadInput(f"stress {argv[0]}: unknown flag {flag}{hint}")


def _serve_metrics(kind: str, port: int | None, host: str) -> MetricsEndpoint | None:
    """`--metrics-port`: the stressor's work per second as `server_twin_stress_*` gauges, and
    `server_twin_event_active{event="stress"}`; bound before the stressor starts."""
    if port is None:
        return None
    from core.live.metrics_endpoint import MetricsEndpoint

    endpoint = MetricsEndpoint(run=f"stress-{kind}", profile="")
    endpoint.add_event("stress", kind, f"twin stress {kind}")
    endpoint.serve(port, host)
    print(f"twin stress {kind}: metrics on http://{endpoint.address}/metrics", flush=True)
    return endpoint


def main(argv: list[str]) -> int:
    _check_flags(argv)
    args = build_parser().parse_args(argv)
    kind: str = args.kind
    params = {
        name: _convert(spec, getattr(args, name))
        for name, spec in PARAMS[kind].items()
        if getattr(args, name) is not None
    }
    stop_signal: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop_signal.append(signal.Signals(signum).name)

    endpoint = _serve_metrics(kind, args.metrics_port, args.metrics_host)  # before anything
    made_dir: Path | None = None
    scratch = Path.cwd()
    if kind == "disk":
        if args.dir is not None:
            scratch = args.dir
            if not scratch.is_dir():
                raise BadInput(f"stress: --dir {scratch}: no such directory")
        else:
            made_dir = Path(tempfile.mkdtemp(prefix=".twin-stress-", dir=Path.cwd()))
            scratch = made_dir
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)  # a signal ends a wait
    previous_wake = signal.set_wakeup_fd(wake_write)
    try:
        handle = start_stressor(kind, params, args.duration, scratch, contention=args.contention)
        shown = ", ".join(f"{k}={v}" for k, v in handle.params.items() if v is not None)
        print(f"twin stress {kind}: pid {handle.pid}, {args.duration:g} s, {shown}", flush=True)
        start = time.monotonic()
        next_line = start + 1.0
        result: StressorExit | None = None
        while result is None:
            if stop_signal:
                result = handle.stop()
                break
            result = handle.wait(next_line - time.monotonic(), wake_read)  # no 50 ms polling
            now = time.monotonic()
            if now >= next_line and result is None:
                work = handle.work()
                if endpoint is not None:
                    endpoint.publish(work, ["stress"], datetime.now(UTC))
                print(_line(now - start, work, handle.status()), flush=True)
                next_line += 1.0
            if result is None and now - start > args.duration + 15:
                result = handle.stop()
        limited = handle.status().get("limited")
        if limited:
            print(f"twin stress {kind}: {limited}", file=sys.stderr)
    finally:
        if endpoint is not None:
            endpoint.close()
        for s, h in previous.items():
            signal.signal(s, h)
        signal.set_wakeup_fd(previous_wake)
        os.close(wake_read)
        os.close(wake_write)
        if made_dir is not None:
            shutil.rmtree(made_dir, ignore_errors=True)
    elapsed = time.monotonic() - start
    if stop_signal:
        print(f"twin: stopped by {stop_signal[0]} after {elapsed:.1f} s", file=sys.stderr)
        return EXIT_FAILED
    if not result.ok:
        print(f"twin: {kind} stressor failed: {result.reason}", file=sys.stderr)
        return EXIT_FAILED
    print(f"twin stress {kind}: done in {elapsed:.1f} s", flush=True)
    return EXIT_OK
