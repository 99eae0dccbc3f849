"""Benchmark: analyse a synthetic 24 h run at 1 s (86,400 rows, ~40 columns, 100 events).

Usage: .venv/bin/python bench/analysis.py [--cpus N] [--events N] [--keep DIR]
Prints the time of each stage; the target is under 3 s for the analysis
(load, quality, responses, EDA, CSVs and report), plots reported separately.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.analysis.pipeline import compute, write
from core.rundir.read import load_run
from tests.synthetic import many_events, write_bundle

DAY_S = 86_400.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cpus", type=int, default=16, help="per-core columns (default 16)")
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="write the bundle here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.keep or Path(tmp) / "day"
        t0 = time.perf_counter()
        events = many_events(DAY_S, args.events)
        write_bundle(run, events, duration_s=DAY_S, noise=0.5, n_cpus=args.cpus)
        size = (run / "system_metrics_dataset.csv").stat().st_size
        print(f"generated {run} in {time.perf_counter() - t0:.1f} s ({size / 1e6:.1f} MB)")

        t0 = time.perf_counter()
        bundle = load_run(run)
        load_s = time.perf_counter() - t0
        rows, cols = bundle.dataset.shape
        result = compute(bundle)
        write(result, run / "analysis", with_plots=False)
        analysis_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        write(result, run / "analysis", with_plots=True)
        plots_s = time.perf_counter() - t1
        print(f"rows {rows}, columns {cols}, events {len(bundle.events)}")
        print(f"load           {load_s:6.2f} s")
        for stage, secs in result.timings.items():
            if stage != "plots":
                print(f"{stage:<14} {secs:6.2f} s")
        print(f"ANALYSIS TOTAL {analysis_s:6.2f} s (target < 3 s)")
        print(f"plots+report   {plots_s:6.2f} s (matplotlib PNG + plotext text)")
    return 0 if analysis_s < 3.0 else 1


if __name__ == "__main__":
    sys.exit(main())
