"""The engine runs headless: no `core` module imports Textual or Rich."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

PROBE = """
import importlib, json, pkgutil, sys
import core
names = [m.name for m in pkgutil.walk_packages(core.__path__, "core.") if m.name != "core.__main__"]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "leaked": sorted(
    m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))}))
"""


def test_no_core_module_imports_textual_or_rich() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert "core.runner" in report["modules"] and "core.cli" in report["modules"]
    assert report["leaked"] == []


def test_batch_path_does_not_import_textual() -> None:
    probe = (
        "import sys; from core.commands import batch; from core import cli; "
        "print(any(m.split('.')[0] in ('textual', 'rich') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
