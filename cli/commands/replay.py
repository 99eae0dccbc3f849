"""`twin replay SOURCE -o PROFILE.toml [--kinds ...]`: reproduce a recorded load on this machine.

SOURCE is a run directory or a dataset CSV (`elapsed_s` plus any of `cpu_percent`,
`mem_used_bytes`, the disk and network byte rates). Writes a profile of `trace`-shaped events and
its trace CSV beside it (`PROFILE-trace.csv`), so that a run of the profile makes this machine's
system-wide CPU, memory in use above its idle, disk and network rates follow the source's, on the
source's clock (`core.replay`). Prints the files written, the profile last.

Exit codes: 0 written; 2 bad input (one line, nothing written).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import EXIT_OK, BadInput
from core.replay import REPLAY_KINDS, write_replay


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin replay",
        description="Write a profile of shaped events that makes this machine follow a recorded "
        "run's system-wide load on its clock. Exit 0 written, 2 bad input.",
    )
    parser.add_argument("source", type=Path, help="a run directory or a dataset CSV")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="PROFILE.toml", help="profile to write"
    )
    parser.add_argument(
        "--kinds",
        default=",".join(REPLAY_KINDS),
        help=f"stressor kinds to replay, comma-separated (default: {','.join(REPLAY_KINDS)})",
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    kinds = [k.strip() for k in str(args.kinds).split(",") if k.strip()]
    if not kinds:
        raise BadInput("--kinds: give at least one of " + ", ".join(REPLAY_KINDS))
    if not args.output.parent.is_dir():
        raise BadInput(f"{args.output.parent}: no such directory for the profile")
    profile, trace = write_replay(args.source, args.output, kinds)
    print(trace)
    print(profile)
    return EXIT_OK
