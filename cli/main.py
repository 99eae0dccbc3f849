"""The `twin` command: one entry point, subcommands in `cli.commands.*`.

`twin` or `twin PROFILE.toml` opens the TUI (imported lazily, so the headless
paths never import Textual); `twin --batch PROFILE.toml` runs headless;
`twin <command> ...` runs a subcommand. Exit codes: 0 done, 1 the run failed or
was stopped, 2 bad input, 3 the steady-state hypothesis deviated (1 wins over 3).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core import __version__
from core.errors import EXIT_BAD_INPUT, BadInput, ProfileError, TwinError

if TYPE_CHECKING:
    from core.live.outputs import LiveOptions

# name -> (module, one-line help). Each module has `main(argv: list[str]) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("cli.commands.plan", "resolve a profile into its schedule without running it"),
    "stress": ("cli.commands.stress", "run one stressor in the foreground"),
    "analyze": ("cli.commands.analyze", "event-aligned responses, EDA report and plots"),
    "compare": ("cli.commands.compare", "compare the responses of two runs"),
    "export": ("cli.commands.export", "export a run to parquet, jsonl, prometheus or influx"),
    "model": ("cli.commands.model", "fit a predictive model from recorded runs"),
    "predict": ("cli.commands.predict", "predict a profile's metrics before running it"),
    "capacity": ("cli.commands.capacity", "how much more of each kind this node can take"),
    "import": ("cli.commands.import_", "import the seed project's files or a sar file as a run"),
    "recover": ("cli.commands.recover", "repair runs left behind by a killed twin"),
    "columns": ("cli.commands.columns", "describe every dataset column (data dictionary)"),
    "fleet": ("cli.commands.fleet", "run one profile on many hosts with Ansible, and compare"),
    "replay": ("cli.commands.replay", "a profile that makes this machine follow a recorded load"),
}


def _top_parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:<9} {text}" for name, (_, text) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="twin",
        description="server-twin: controlled experiments on this node, recorded as datasets.",
        epilog=f"commands (twin COMMAND --help):\n{lines}\n\n"
        "exit codes: 0 done, 1 run failed or stopped, 2 bad input, "
        "3 steady-state hypothesis deviated (1 wins over 3)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "profile", nargs="?", type=Path, help="profile to open in the TUI, or a run dir to replay"
    )
    parser.add_argument("--batch", metavar="PROFILE", type=Path, help="run PROFILE headless")
    parser.add_argument(
        "--out", metavar="DIR", type=Path, default=None, help="parent directory for runs"
    )
    parser.add_argument(
        "--allow-commands",
        action="store_true",
        help="let the profile's command probes run their programs (refused without it)",
    )
    parser.add_argument("--version", action="version", version=f"twin {__version__}")
    add_live_flags(parser)
    return parser


def add_live_flags(parser: argparse.ArgumentParser) -> None:
    """`--metrics-port` and `--influx`: the run, live in Prometheus and InfluxDB (core.live)."""
    live = parser.add_argument_group("live outputs (--batch and the TUI)")
    live.add_argument("--metrics-port", metavar="PORT", type=int, help="serve /metrics on PORT")
    live.add_argument(
        "--metrics-host", metavar="HOST", default="127.0.0.1", help="address to serve on"
    )
    live.add_argument("--influx", metavar="URL", help="stream rows to InfluxDB at URL")
    live.add_argument("--influx-db", metavar="NAME", help="InfluxDB 1.x database")
    live.add_argument("--influx-org", metavar="ORG", help="InfluxDB 2.x organization")
    live.add_argument("--influx-bucket", metavar="BUCKET", help="InfluxDB 2.x bucket")
    live.add_argument("--influx-token", metavar="TOKEN", help="InfluxDB 2.x token")


def live_options(args: argparse.Namespace) -> LiveOptions:
    """The live outputs asked for; a malformed URL is bad input (exit 2)."""
    from core.live.outputs import LiveOptions
    from core.live.target import InfluxTarget

    influx = None
    if args.influx is not None:
        influx = InfluxTarget.parse(
            args.influx,
            args.influx_db,
            args.influx_org,
            args.influx_bucket,
            args.influx_token,
            flag="--influx",
        )
    elif args.influx_db or args.influx_bucket:
        raise BadInput("--influx-db/--influx-bucket need --influx URL")
    return LiveOptions(args.metrics_port, args.metrics_host, influx)


def run_guarded(func: Callable[[], int]) -> int:
    """Run a command body; a `TwinError` becomes one line on stderr and its exit code."""
    try:
        return func()
    except ProfileError as exc:  # FILE:LINE: key: reason, bare, as compilers print them
        for line in exc.problems:
            print(line, file=sys.stderr)
        return exc.exit_code
    except TwinError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"twin: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("twin: interrupted", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `twin columns | head`: the reader left; Python's own advice
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # (or the exit's flush fails again)
        return 1


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    if args_list and args_list[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[args_list[0]][0])
        code: int = run_guarded(lambda: module.main(args_list[1:]))
        return code
    parser = _top_parser()
    args = parser.parse_args(args_list)
    if args.batch is not None:
        if args.profile is not None:
            parser.error("give the profile either positionally (TUI) or with --batch, not both")
        from cli.commands import batch

        return run_guarded(
            lambda: batch.run_batch(
                args.batch, args.out, live_options(args), allow_commands=args.allow_commands
            )
        )
    replay = args.profile if args.profile is not None and args.profile.is_dir() else None
    if replay is not None:  # `twin RUN_DIR`: the run replayed in the TUI (not a run: exit 2)
        args.profile = None
    elif args.profile is not None and not args.profile.is_file():
        print(f"twin: {args.profile}: no such profile file or run directory", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        from tui.app import run_app
    except ImportError as exc:  # the TUI is optional for headless installs
        print(f"twin: the TUI is not available ({exc})", file=sys.stderr)
        return EXIT_BAD_INPUT
    return run_guarded(
        lambda: run_app(args.profile, args.out, live=live_options(args), replay=replay)
    )


if __name__ == "__main__":
    sys.exit(main())
