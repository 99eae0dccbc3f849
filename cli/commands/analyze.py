"""`twin analyze RUN_DIR [RUN_B]`: data quality, event responses, EDA report and plots.

Writes `RUN_DIR/analysis/` (or `-o DIR`) and prints the report in the
terminal (rich tables and plotext charts via `cli.report`, imported only
here, lazily, so `core` never imports Rich). With two runs it also compares
them (as `twin compare`). Exit codes: 0 done, 2 bad input (missing directory,
not a run bundle).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.analysis.pipeline import analyze_run
from core.analysis.result import AnalysisResult


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin analyze",
        description="Analyse a run bundle: data quality, responses to events, EDA and plots.",
    )
    parser.add_argument("run", type=Path, help="run directory")
    parser.add_argument("run_b", type=Path, nargs="?", help="a second run to compare with")
    parser.add_argument(
        "-o", "--out", type=Path, help="output directory (default RUN_DIR/analysis)"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the plot files")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the file paths")
    return parser


def show(result: AnalysisResult, quiet: bool) -> None:
    if quiet:
        for path in result.files:
            print(path)
        return
    try:
        from cli.report import print_analysis
    except ImportError:  # headless install without the TUI extras: plain text
        print(f"analysis of {result.bundle.name}")
        for problem in result.quality.problems:
            print(f"  quality: {problem}")
        for path in result.files:
            print(path)
        return
    print_analysis(result)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.run_b is not None and args.out is not None:
        print("twin: -o applies to one run; analyse the runs one by one", file=sys.stderr)
        return 2
    result = analyze_run(args.run, args.out, with_plots=not args.no_plots)
    show(result, args.quiet)
    if args.run_b is None:
        return 0
    from cli.commands.compare import compare_and_show

    other = analyze_run(args.run_b, None, with_plots=not args.no_plots)
    show(other, args.quiet)
    return compare_and_show(result, other, None, args.quiet)
