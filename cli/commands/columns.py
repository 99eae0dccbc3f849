"""`twin columns [--markdown]`: the data dictionary of this machine's dataset."""

from __future__ import annotations

import argparse

from core.telemetry import columns as C
from core.telemetry.sampler import SystemSampler


def dataset_columns() -> list[C.Column]:
    """Every column a run on this machine writes, in file order."""
    sampler = SystemSampler(output_dir=None)
    try:
        return sampler.columns + C.OUTPUT_FS + C.QUALITY + C.STRESS_WORK
    finally:
        sampler.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="twin columns", description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    cols = dataset_columns()
    if args.markdown:
        print(C.to_markdown(cols))
    else:
        width = max(len(c.name) for c in cols)
        for c in cols:
            print(f"{c.name:<{width}}  {c.unit:<12}  {c.description}")
    return 0
