"""`twin import sar`: a real sysstat file recorded by sadc during a real CPU event, imported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, TWIN, check_run, run_twin

SADC = Path("/usr/lib/sysstat/sadc")
needs_sysstat = pytest.mark.skipif(
    not SADC.is_file() or shutil.which("sadf") is None,
    reason="sysstat (sadc, sadf) is not installed: apt-get install sysstat",
)


@needs_sysstat
def test_a_sar_file_recorded_during_a_cpu_event_becomes_a_run(tmp_path: Path) -> None:
    sa_file = tmp_path / "sa-test"
    sadc = subprocess.Popen([str(SADC), "-S", "XALL", "1", "7", str(sa_file)])
    try:
        time.sleep(2.5)  # two quiet intervals first
        stress = run_twin("stress", "cpu", "--duration", "3", timeout=60)
        assert stress.returncode == 0, stress.stderr
        assert sadc.wait(timeout=30) == 0
    finally:
        if sadc.poll() is None:
            sadc.kill()
            sadc.wait()
    done = run_twin("import", "sar", str(sa_file), "-o", str(tmp_path / "runs"))
    assert done.returncode == 0, done.stderr
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    checked = check_run(run_dir)
    assert checked.returncode == 0, checked.stdout
    data = pd.read_csv(run_dir / "system_metrics_dataset.csv")
    assert len(data) == 6  # 7 samples, 6 intervals
    cores = [c for c in data.columns if c.startswith("cpu") and c[3:-8].isdigit()]
    assert cores and data[cores].notna().all().all()
    for col in ("mem_used_bytes", "disk_write_bytes_per_s", "net_recv_bytes_per_s", "load_1m"):
        assert data[col].notna().all(), col
    assert data["process_count"].isna().all()  # sysstat counts threads: left absent
    total = data["mem_total_bytes"].iloc[0]
    meminfo = Path("/proc/meminfo").read_text().split()
    assert total == int(meminfo[meminfo.index("MemTotal:") + 1]) * 1024
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["source"]["format"] == "sar" and manifest["source"]["file"] == str(sa_file)
    analyzed = run_twin("analyze", str(run_dir), "--no-plots", "-q")
    assert analyzed.returncode == 0, analyzed.stderr
    cpu = data["cpu_percent"]
    assert cpu.between(0, 100).all()
    if cpu.iloc[0] > 85:  # last: everything above holds on a busy machine too
        pytest.skip(
            f"other load held the CPU at {cpu.iloc[0]:.0f}% before the event: no rise to see"
        )
    # our workers fill every core: some sample is (nearly) all busy, well above the one before
    assert cpu.max() >= 95 and cpu.max() > cpu.iloc[0] + 10


def test_without_sadf_the_message_says_what_to_install(tmp_path: Path) -> None:
    sa_file = tmp_path / "sa01"
    sa_file.write_bytes(b"\0" * 64)
    done = subprocess.run(
        [*TWIN, "import", "sar", str(sa_file), "-o", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={"PATH": str(tmp_path), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("twin: sadf not found") and "sysstat" in done.stderr
    assert not (tmp_path / "runs").exists()
    assert sys.executable  # the twin above ran from this interpreter, PATH did not matter
