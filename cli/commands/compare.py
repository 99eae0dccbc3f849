"""`twin compare RUN_A RUN_B`: what changed in the responses between two runs.

Both runs are analysed (their `analysis/` folders are refreshed) and the
comparison is written to `RUN_B/analysis/compare-<RUN_A>.csv` (or `-o FILE`).
Exit codes: 0 done, 2 bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.analysis.compare import Comparison, compare_results
from core.analysis.pipeline import analyze_run
from core.analysis.result import AnalysisResult


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin compare",
        description="Compare the event responses of two runs of the same profile.",
    )
    parser.add_argument("run_a", type=Path, help="the reference run")
    parser.add_argument("run_b", type=Path, help="the run to compare with it")
    parser.add_argument("-o", "--out", type=Path, help="CSV file for the comparison")
    parser.add_argument("--no-plots", action="store_true", help="skip the plot files")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the file paths")
    return parser


def write_comparison(comparison: Comparison, path: Path) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    comparison.per_event.to_csv(path, index=False, lineterminator="\n")
    by_param = path.with_name(path.stem + "_by_param.csv")
    comparison.per_param.to_csv(by_param, index=False, lineterminator="\n")
    return [path, by_param]


def compare_and_show(a: AnalysisResult, b: AnalysisResult, out: Path | None, quiet: bool) -> int:
    comparison = compare_results(a, b)
    target = out or b.bundle.path / "analysis" / f"compare-{a.bundle.name}.csv"
    files = write_comparison(comparison, target)
    if not quiet:
        try:
            from cli.report import print_comparison
        except ImportError:
            print(f"{len(comparison.changed)} response(s) changed")
            for note in comparison.notes:
                print(f"note: {note}")
        else:
            print_comparison(comparison)
    for path in files:
        print(path)
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    a = analyze_run(args.run_a, None, with_plots=not args.no_plots)
    b = analyze_run(args.run_b, None, with_plots=not args.no_plots)
    return compare_and_show(a, b, args.out, args.quiet)
