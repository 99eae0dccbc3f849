"""`twin import seed DATASET.csv [...]` and `twin import sar FILE`: other tools' data as a run.

Each writes one twin run bundle and prints its directory last on stdout (like `twin --batch`),
so `twin analyze`, `twin model fit`, `twin export` and the TUI work on it. Exit codes: 0 done,
2 bad input (unreadable lines as `FILE:LINE: reason`, a missing file, no sadf); nothing is
written on bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import BadInput
from core.rundir.layout import DEFAULT_RUNS_DIR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin import", description="Turn another tool's recordings into a twin run bundle."
    )
    sub = parser.add_subparsers(dest="source", required=True, metavar="{seed,sar}")
    seed = sub.add_parser("seed", help="the seed project's dataset, annotations and schedule")
    seed.add_argument("dataset", type=Path, help="the seed's system_metrics_dataset.csv")
    seed.add_argument("--annotations", type=Path, help="the seed's annotations.csv")
    seed.add_argument(
        "--schedule", type=Path, help="the seed's schedule.json (also -> profile.toml)"
    )
    seed.add_argument("--name", default="seed-import", help="run name (default seed-import)")
    seed.add_argument(
        "--timezone",
        help="zone of the seed's local times, e.g. Europe/Paris (default: this machine's)",
    )
    seed.add_argument(
        "--skip-bad", action="store_true", help="skip unreadable lines (counted) instead of exit 2"
    )
    sar = sub.add_parser("sar", help="a sysstat data file (read with sadf)")
    sar.add_argument("file", type=Path, help="a sysstat data file, e.g. /var/log/sysstat/sa01")
    sar.add_argument("--name", help="run name (default sar-HOST-DATE)")
    for p in (seed, sar):
        p.add_argument(
            "-o",
            "--out",
            type=Path,
            default=DEFAULT_RUNS_DIR,
            help=f"runs directory (default {DEFAULT_RUNS_DIR})",
        )
    return parser


def _zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"--timezone: unknown time zone {name!r}") from None


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.source == "sar":
        from core.formats.sar import import_sar

        print(import_sar(args.file, args.out, args.name))
        return 0
    from core.formats.seed_run import SeedFiles, import_seed

    for path in (args.dataset, args.annotations, args.schedule):
        if path is not None and not path.is_file():
            raise BadInput(f"{path}: no such file")
    files = SeedFiles(args.dataset, args.annotations, args.schedule)
    run_dir, notes = import_seed(
        files, args.out, name=args.name, zone=_zone(args.timezone), skip_bad=args.skip_bad
    )
    for note in notes:
        print(f"twin: {note}", file=sys.stderr)
    print(run_dir)
    return 0
