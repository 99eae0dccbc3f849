"""The stressor table (`core.stressors.params`) is the one place stressor kinds and defaults live.

Every product module is parsed: a literal list of the four kinds, or a per-kind table of
parameter values, anywhere else is a second copy that can drift from the table.
"""

from __future__ import annotations

import ast
from pathlib import Path

from core.stressors import KINDS, PARAMS
from core.stressors.params import default, resolve_params

from conftest import ROOT

TABLE = ROOT / "core" / "stressors" / "params.py"


def _strings(nodes: list[ast.expr | None]) -> set[str] | None:
    values = [n.value for n in nodes if isinstance(n, ast.Constant)]
    if len(values) != len(nodes) or not all(isinstance(v, str) for v in values):
        return None
    return set(values)


def copies_of_the_table(path: Path) -> list[tuple[int, str]]:
    """`(line, what)` for each literal that restates the kinds or per-kind parameter values."""
    found = []
    kinds = set(KINDS)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and _strings(list(node.elts)) == kinds:
            found.append((node.lineno, "the stressor kinds"))
        elif (
            isinstance(node, ast.Dict)
            and _strings(list(node.keys)) == kinds
            and all(isinstance(v, ast.Dict) for v in node.values)
        ):
            found.append((node.lineno, "per-kind parameter values"))
    return found


def test_kinds_and_defaults_are_defined_once() -> None:
    copies = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for package in ("core", "cli", "tui")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != TABLE
        for line, what in copies_of_the_table(path)
    ]
    assert copies == []


def test_the_scan_finds_a_copy(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text(
        'KINDS = ("disk", "cpu", "memory", "network")\n'
        'DEFAULTS = {"cpu": {}, "memory": {"size_mb": 256}, "disk": {}, "network": {}}\n'
        'LABELS = {"cpu": "CPU", "memory": "Memory", "disk": "Disk", "network": "Network"}\n'
    )
    assert copies_of_the_table(sample) == [
        (1, "the stressor kinds"),
        (2, "per-kind parameter values"),
    ]


def test_defaults_come_from_the_table() -> None:
    assert set(PARAMS) == set(KINDS)
    assert default("memory", "size_mb") == PARAMS["memory"]["size_mb"].default
    assert default("memory", "no_such_param") is None
    resolved = resolve_params("cpu", {"load_percent": 40}, cpus=3)
    assert resolved == {"load_percent": 40.0, "workers": 3, "target": "self"}
