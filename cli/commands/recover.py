"""`twin recover [DIR]`: repair runs a killed twin left behind (also done at every start)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import BadInput
from core.recovery import recover_runs
from core.rundir.layout import DEFAULT_RUNS_DIR


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="twin recover", description=__doc__)
    parser.add_argument("runs_dir", nargs="?", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.runs_dir is None:  # the default runs directory may not exist yet: nothing to repair
        args.runs_dir = DEFAULT_RUNS_DIR
    elif not args.runs_dir.is_dir():  # a path the user typed that is not a directory
        what = "not a directory" if args.runs_dir.exists() else "no such directory"
        raise BadInput(f"{args.runs_dir}: {what} (give the parent directory of the runs)")
    repaired = recover_runs(args.runs_dir)
    for run_dir, notes in repaired.items():
        print(f"{run_dir}: {'; '.join(notes)}")
    if not repaired:
        print(f"{args.runs_dir}: nothing to repair")
    return 0
