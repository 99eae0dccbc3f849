"""`twin export RUN_DIR --format parquet|jsonl|prometheus|influx [-o DIR]`.

Writes the dataset joined with its annotations into `RUN_DIR/export/` (or
`-o DIR`) and prints the path of each file written. Exit codes: 0 done, 2 bad
input (missing directory, not a run bundle, unknown format).

`twin export RUN_DIR --to influx URL --db NAME` (1.x; `--org --bucket --token` for 2.x)
writes the dataset and its events into InfluxDB instead; writing a run twice leaves
every point once. Exit 1 when the server is down, refuses or answers an error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.analysis.export import FORMATS, export_run
from core.errors import BadInput
from core.live.target import InfluxTarget
from core.rundir.read import load_run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin export",
        description="Export a run's dataset joined with its annotations.",
    )
    parser.add_argument("run", type=Path, help="run directory")
    parser.add_argument(
        "-f",
        "--format",
        action="append",
        choices=[*FORMATS, "seed", "all"],
        help="output format (repeat for several, or 'all'); seed: the seed project's CSV files",
    )
    parser.add_argument("-o", "--out", type=Path, help="output directory (default RUN_DIR/export)")
    to = parser.add_argument_group("write into a database instead of files")
    to.add_argument("--to", nargs=2, metavar=("influx", "URL"), help="an InfluxDB server")
    to.add_argument("--db", metavar="NAME", help="InfluxDB 1.x database (created if missing)")
    to.add_argument("--org", metavar="ORG", help="InfluxDB 2.x organization")
    to.add_argument("--bucket", metavar="BUCKET", help="InfluxDB 2.x bucket")
    to.add_argument("--token", metavar="TOKEN", help="InfluxDB 2.x API token")
    return parser


def to_influx(args: argparse.Namespace) -> int:
    """`--to influx URL`: the dataset and events into InfluxDB (a dead server: exit 1)."""
    kind, url = args.to
    if kind != "influx":
        raise BadInput(f"--to {kind}: unknown destination (influx)")
    target = InfluxTarget.parse(url, args.db, args.org, args.bucket, args.token)
    bundle = load_run(args.run)
    from core.live.influx import InfluxClient, export_to_influx

    client = InfluxClient(target)
    try:
        rows, events = export_to_influx(bundle, client)
    finally:
        client.close()
    where = f"{target.org}/{target.bucket}" if target.v2 else target.db
    print(f"{target.url} {where}: {rows} rows, {events} event points")
    return 0


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.to is not None:
        if args.format:
            parser.error("give --format or --to, not both")
        return to_influx(args)
    if not args.format:
        parser.error("give --format FORMAT (files) or --to influx URL (a database)")
    formats = list(FORMATS) if "all" in args.format else list(dict.fromkeys(args.format))
    bundle = load_run(args.run)
    if bundle.truncated_last_row:
        print("twin: note: the last line was truncated and is not exported", file=sys.stderr)
    for fmt in formats:
        if fmt == "seed":  # the seed project's dataset and annotations (core.formats.seed_run)
            from core.formats.seed_run import export_seed

            for path in export_seed(bundle, args.out):
                print(path)
            continue
        for path in export_run(bundle, fmt, args.out):
            print(path)
    return 0
