"""`twin recover [DIR]`: repair runs a killed twin left behind (also done at every start)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.recovery import recover_runs
from core.rundir.layout import DEFAULT_RUNS_DIR


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="twin recover", description=__doc__)
    parser.add_argument("runs_dir", nargs="?", type=Path, default=DEFAULT_RUNS_DIR)
    args = parser.parse_args(argv)
    repaired = recover_runs(args.runs_dir)
    for run_dir, notes in repaired.items():
        print(f"{run_dir}: {'; '.join(notes)}")
    if not repaired:
        print(f"{args.runs_dir}: nothing to repair")
    return 0
