"""`twin fleet run PROFILE -i INVENTORY` and `twin fleet report FLEET_DIR`.

`run` checks the profile here, then runs `deploy/ansible/fleet.yml` with ansible-core on every
inventory host and collects each bundle into `FLEET_DIR/<host>/<run>/`, with `fleet.json`.
Exit codes are an API: 0 every host completed, 1 any host failed or the run was interrupted
(every other host still collected), 2 bad input (nothing sent to any host).
The last line on stdout is FLEET_DIR (`run`) or report.md (`report`).
"""

from __future__ import annotations

import argparse
import math
import signal
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from core.errors import EXIT_FAILED, EXIT_OK, BadInput
from core.fleet import COMPLETED, FAILED, completed_runs, read_fleet, write_fleet
from core.profile import load_profile, resolve_schedule
from core.rundir.layout import MANIFEST
from core.rundir.write import slug

DEFAULT_FLEET_PARENT = Path("data/fleet")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin fleet", description="Run one profile on many hosts with Ansible, and compare."
    )
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run PROFILE on every inventory host, collect the bundles")
    run.add_argument("profile", type=Path)
    run.add_argument("-i", "--inventory", type=Path, required=True, help="Ansible inventory")
    run.add_argument("-o", "--out", type=Path, help="FLEET_DIR (default data/fleet/<start>-<name>)")
    run.add_argument("--limit", metavar="PATTERN", help="Ansible host pattern")
    run.add_argument("--forks", type=int, metavar="N", help="hosts worked on at once")
    run.add_argument("--resume", action="store_true", help="run only hosts without a bundle")
    report = sub.add_parser("report", help="fleet.parquet, report.md, outliers, plots")
    report.add_argument("fleet_dir", type=Path)
    report.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    return parser


def _say(line: str) -> None:
    from cli.fleet.progress import say

    say(line)


def run_fleet(args: argparse.Namespace) -> int:
    if not args.inventory.exists():
        raise BadInput(f"{args.inventory}: no such inventory")
    if args.forks is not None and args.forks < 1:
        raise BadInput(f"--forks: must be >= 1, not {args.forks}")
    profile = load_profile(args.profile)  # FILE:LINE problems, exit 2, before anything is sent
    schedule = resolve_schedule(profile)
    started = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if args.resume and args.out is None:
        raise BadInput("--resume needs -o FLEET_DIR (the fleet to complete)")
    fleet_dir = (args.out or DEFAULT_FLEET_PARENT / f"{started}-{slug(schedule.name)}").resolve()
    previous = read_fleet(fleet_dir) if args.resume else None
    done = completed_runs(fleet_dir, previous)
    manifest: dict[str, Any] = previous or {
        "profile": str(args.profile),
        "profile_name": schedule.name,
        "started": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "hosts": {},
    }
    if args.resume:
        manifest.setdefault("resumed", []).append(datetime.now(UTC).isoformat(timespec="seconds"))
    limit = args.limit
    if done:
        names = sorted(done)
        _say(f"twin fleet: resume: {len(names)} host(s) already completed: {', '.join(names)}")
        limit = ":".join([limit or "all", *(f"!{host}" for host in names)])
    fleet_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="twin-fleet-") as tmp:
        hosts = _play(Path(tmp), args, fleet_dir, schedule.total_s, limit)
    for name, entry in hosts.items():
        manifest["hosts"][name] = entry
    write_fleet(fleet_dir, manifest)
    failed = sorted(h for h, e in manifest["hosts"].items() if e["status"] != COMPLETED)
    ok = len(manifest["hosts"]) - len(failed)
    _say(f"twin fleet: {ok} host(s) completed, {len(failed)} failed")
    for name in failed:
        _say(f"twin fleet: failed: {name}: {manifest['hosts'][name]['reason']}")
    print(fleet_dir, flush=True)
    return EXIT_FAILED if failed else EXIT_OK


def _play(
    work: Path, args: argparse.Namespace, fleet_dir: Path, total_s: float, limit: str | None
) -> dict[str, dict[str, Any]]:
    """Run the playbook; every host it touched -> its fleet.json entry."""
    from cli.fleet import ansible
    from cli.fleet.progress import FleetProgress

    ansible.ansible_playbook()  # fail early (exit 2) without ansible-core
    ansible.playbook()
    _say("twin fleet: building the server-twin wheel from this checkout")
    wheel = ansible.build_wheel(work)
    extra: dict[str, Any] = {
        "twin_profile": str(args.profile.resolve()),
        "twin_fetch_dir": str(fleet_dir),
        "twin_timeout_s": math.ceil(total_s * 1.5 + 600),
        "twin_poll_s": max(1, min(10, math.ceil(total_s / 30))),
    }
    if wheel is not None:
        extra["twin_wheel"] = str(wheel)
    progress = FleetProgress(total_s)
    proc: subprocess.Popen[str] | None = None
    interrupted: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        interrupted.append(signal.Signals(signum).name)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # ansible-playbook ends its play in order

    handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    exit_event: dict[str, Any] = {}
    try:
        for item in ansible.play_events(work, args.inventory, extra, limit=limit, forks=args.forks):
            if isinstance(item, subprocess.Popen):
                proc = item
            elif item.get("event") == "exit":
                exit_event = item
            else:
                progress.handle(item)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    if interrupted:
        running = [h for h, s in progress.hosts.items() if s.stage in ("running", "fetching")]
        _say(f"twin fleet: {interrupted[0]}: stopping the runs on {', '.join(running) or '-'}")
        ansible.stop_runs(work, args.inventory, running)
    if not progress.hosts:
        lines = [x for x in str(exit_event.get("stderr", "")).splitlines() if x.strip()]
        raise BadInput(lines[-1].strip() if lines else "ansible-playbook targeted no host")
    return {
        name: _outcome(state, fleet_dir, interrupted[0] if interrupted else None)
        for name, state in progress.hosts.items()
    }


def _outcome(state: Any, fleet_dir: Path, interrupted: str | None) -> dict[str, Any]:
    run = fleet_dir / state.name / state.run_name if state.run_name else None
    have = run is not None and (run / MANIFEST).is_file()
    relative = str(run.relative_to(fleet_dir)) if have and run is not None else None
    if state.reason is None and have:
        return {"status": COMPLETED, "run": relative, "reason": ""}
    reason = state.reason or (f"interrupted ({interrupted})" if interrupted else "no bundle")
    return {"status": FAILED, "run": relative, "reason": reason}


def report_fleet(args: argparse.Namespace) -> int:
    from core.fleet.report import build_report

    report = build_report(args.fleet_dir, with_plots=not args.no_plots)
    _say(
        f"twin fleet: {len(report.bundles)} host(s) read, "
        f"{len(report.outliers)} outlier response(s), {len(report.failed)} failed host(s)"
    )
    for path in report.files:
        print(path, flush=True)
    return EXIT_OK


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return run_fleet(args) if args.action == "run" else report_fleet(args)
