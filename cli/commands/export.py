"""`twin export RUN_DIR --format parquet|jsonl|prometheus|influx [-o DIR]`.

Writes the dataset joined with its annotations into `RUN_DIR/export/` (or
`-o DIR`) and prints the path of each file written. Exit codes: 0 done, 2 bad
input (missing directory, not a run bundle, unknown format).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.analysis.bundle import load_run
from core.analysis.export import FORMATS, export_run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin export",
        description="Export a run's dataset joined with its annotations.",
    )
    parser.add_argument("run", type=Path, help="run directory")
    parser.add_argument(
        "-f",
        "--format",
        required=True,
        action="append",
        choices=[*FORMATS, "all"],
        help="output format (repeat for several, or 'all')",
    )
    parser.add_argument("-o", "--out", type=Path, help="output directory (default RUN_DIR/export)")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    formats = list(FORMATS) if "all" in args.format else list(dict.fromkeys(args.format))
    bundle = load_run(args.run)
    if bundle.truncated_last_row:
        print("twin: note: the last line was truncated and is not exported", file=sys.stderr)
    for fmt in formats:
        for path in export_run(bundle, fmt, args.out):
            print(path)
    return 0
