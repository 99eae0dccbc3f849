"""Stressor accuracy, side by side with the peers (stress-ng, fio), same machine, sequentially.

    .venv/bin/python bench/stressors.py [--seconds 10] [--only cpu,system,memory,disk]

Prints one table per part:
- cpu: at 25/50/75% on all cores, the stressor's own share (CPU time of its process group from
  /proc/PID/schedstat over wall × cores) and the machine's total (/proc/stat, psutil's
  definition) against the target, for `twin` and `stress-ng --cpu N --cpu-load P`, alternating,
  in 1 s windows. On a shared machine other work skews both: "clean" figures keep only the
  windows where the rest of the machine used under 3%. An "(idle)" row measures the machine
  with no load between rounds: its system figure is the floor under either tool's system
  error (kernel threads, the VM's agent, steal, and this script's own reads, which touch only
  the few /proc files of the measured group).
- system: `target = "system"` at 75% while another process loads one core (stress-ng cannot do
  this: it only controls its own share; shown for contrast).
- memory: 2 GiB, time from process start until resident, and resident / 2 GiB, vs
  `stress-ng --vm 1 --vm-bytes 2g --vm-keep --vm-populate`.
- disk: bandwidth vs fio on the same filesystem, file size and block size: buffered with one
  fdatasync per pass, fdatasync per block, O_DIRECT.
Installs stress-ng and fio with apt-get when missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.stressors import start_stressor  # noqa: E402
from core.stressors._proc import cpu_times  # noqa: E402

NCPU = os.cpu_count() or 1
GIB = 1 << 30


def ensure_tools() -> None:
    missing = [t for t in ("stress-ng", "fio") if shutil.which(t) is None]
    if missing:
        print(f"installing {' '.join(missing)} ...", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)


def group_pids(pgid: int) -> list[int]:
    """Live members of a process group: one scan of /proc (costly: ~3 ms for 150 processes,
    so the measuring loops below scan only when a member they know of is gone)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                out.append(int(entry))
    return out


class Group:
    """A process group's CPU seconds and RSS, read from the few /proc files of its members:
    the bench must not be a load of its own (a /proc scan per reading, as before, cost the
    machine ~0.16 points of 2 cores per 1 s window, counted against both tools' system figure).
    Members are listed once and again only when one of them is gone or `relist_s` passed."""

    def __init__(self, pgid: int, relist_s: float = 1.0) -> None:
        self.pgid = pgid
        self.relist_s = relist_s
        self.pids: list[int] = []
        self.listed = -1e9
        self.cpu_seen: dict[int, float] = {}  # members that exited still count

    def _members(self) -> list[int]:
        if time.monotonic() - self.listed >= self.relist_s or not self.pids:
            self.pids = group_pids(self.pgid)
            self.listed = time.monotonic()
        return self.pids

    def cpu(self) -> float:
        """CPU seconds of the group, from /proc/PID/schedstat (ns precision)."""
        for pid in self._members():
            try:
                self.cpu_seen[pid] = (
                    int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
                )
            except (OSError, ValueError):
                self.listed = -1e9  # a member is gone: list again next time
        return sum(self.cpu_seen.values())

    def rss(self, largest: bool = False) -> int:
        """Resident bytes of the group (or of its largest member), from /proc/PID/statm."""
        sizes = []
        for pid in self._members():
            try:
                sizes.append(int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE)
            except (OSError, ValueError, IndexError):
                self.listed = -1e9
        return (max(sizes) if largest else sum(sizes)) if sizes else 0


PAGE = os.sysconf("SC_PAGE_SIZE")
Window = tuple[float, float, float]  # own %, system %, steal %
CLEAN = 3.0  # a window is clean when the rest of the machine used under 3%


def measure(pgid: int | None, warmup: float, seconds: float) -> list[Window]:
    """Per-second (own share %, system %, steal %) windows for `seconds` after `warmup`;
    `pgid` None measures the machine with no load of ours (own share 0)."""
    group = Group(pgid, relist_s=5.0) if pgid is not None else None
    time.sleep(warmup)
    own = group.cpu if group is not None else (lambda: 0.0)
    c0, (b0, t0, s0), w0 = own(), cpu_times(), time.monotonic()
    out: list[Window] = []
    for _ in range(int(seconds)):
        time.sleep(1.0)
        c1, (b1, t1, s1), w1 = own(), cpu_times(), time.monotonic()
        out.append(
            (
                100 * (c1 - c0) / ((w1 - w0) * NCPU),
                100 * (b1 - b0) / max(t1 - t0, 1e-9),
                100 * (s1 - s0) / max(t1 - t0, 1e-9),
            )
        )
        c0, b0, t0, s0, w0 = c1, b1, t1, s1, w1
    return out


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """SIGTERM the load's process group, SIGKILL it after `grace_s`; return once every member
    is gone, not just the leader: stress-ng's workers outlive its parent for a moment, and a
    2 GiB worker still freeing its memory made the next tool's fill compete with it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    end = time.monotonic() + grace_s
    while group_pids(proc.pid) and time.monotonic() < end:
        time.sleep(0.01)


def run_twin_cpu(load: int, seconds: float, target: str = "self") -> list[Window]:
    h = start_stressor(
        "cpu", {"load_percent": load, "target": target}, seconds + 3, Path("."), "bench"
    )
    try:
        return measure(h.pid, 2.0, seconds)
    finally:
        h.stop()


def run_stress_ng_cpu(load: int, seconds: float) -> list[Window]:
    proc = subprocess.Popen(
        ["stress-ng", "--cpu", str(NCPU), "--cpu-load", str(load), "--timeout", f"{seconds + 3}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        return measure(proc.pid, 2.0, seconds)
    finally:
        stop_group(proc)


def bench_cpu(seconds: float, rounds: int) -> None:
    print(
        f"\n## CPU on all {NCPU} cores: {rounds} rounds of {seconds:g} s per tool, alternating; "
        f"1 s windows; error = measured - target.\n"
        f"   all: every window. clean: windows where the rest of the machine used < {CLEAN:g}%"
        f" (it is shared: system-wide error only means something there)."
    )
    print(
        f"{'target':>6} {'tool':<10} {'own err all':>11} {'own err clean':>13} "
        f"{'sys err clean':>13} {'clean/all':>9} {'steal %':>8}"
    )
    idle: list[Window] = []
    for load in (25, 50, 75):
        results: dict[str, list[Window]] = {"twin": [], "stress-ng": []}
        for _ in range(rounds):
            results["twin"] += run_twin_cpu(load, seconds)
            results["stress-ng"] += run_stress_ng_cpu(load, seconds)
            idle.extend(measure(None, 1.0, min(seconds, 5.0)))
        for tool, windows in results.items():
            good = [w for w in windows if w[1] - w[0] < CLEAN]
            print(
                f"{load:>6} {tool:<10} {mean([w[0] for w in windows]) - load:>+11.2f} "
                f"{mean([w[0] for w in good]) - load:>+13.2f} "
                f"{mean([w[1] for w in good]) - load:>+13.2f} "
                f"{len(good):>4}/{len(windows):<4} {mean([w[2] for w in windows]):>8.2f}",
                flush=True,
            )
    quiet = [w for w in idle if w[1] < CLEAN]
    print(
        f"{'none':>6} {'(idle)':<10} {'':>11} {'':>13} {mean([w[1] for w in quiet]):>+13.2f} "
        f"{len(quiet):>4}/{len(idle):<4} {mean([w[2] for w in idle]):>8.2f}   <- the machine with "
        "no load: the floor under any tool's system error (the bench's own reads included)",
        flush=True,
    )


def bench_system(seconds: float) -> None:
    print(
        f"\n## target = system on the quiet machine: the machine's total against the target "
        f"({seconds:g} s each; stress-ng has no such mode: its system error is the cpu part's)"
    )
    for load in (25, 50, 75):
        windows = run_twin_cpu(load, seconds, target="system")
        system = mean([w[1] for w in windows])  # every window: the target is the total
        print(
            f"{load:>6} twin       system {system:6.2f}% (error {system - load:+.2f}, worst 1 s "
            f"window {max(abs(w[1] - load) for w in windows):.1f})  own share "
            f"{mean([w[0] for w in windows]):6.2f}%  steal {mean([w[2] for w in windows]):.2f}%",
            flush=True,
        )
    print(f"\n## target = system at 75% while another process loads one core ({seconds:g} s)")
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
    try:
        time.sleep(1.0)
        for tool in ("twin", "stress-ng"):
            if tool == "twin":
                windows = run_twin_cpu(75, seconds, target="system")
            else:
                windows = run_stress_ng_cpu(75, seconds)
            system = mean([w[1] for w in windows])
            own = mean([w[0] for w in windows])
            print(
                f"{tool:<10} system {system:6.2f}% (error {system - 75:+.2f}, worst 1 s window "
                f"{max(abs(w[1] - 75) for w in windows):.1f})  own share "
                f"{own:6.2f}%  steal {mean([w[2] for w in windows]):.2f}%",
                flush=True,
            )
    finally:
        stop_group(hog)


def wait_resident(group: Group, target: int, timeout: float, largest: bool = False) -> float:
    """Seconds until the group (or its largest member) holds `target` bytes resident, polled
    every 5 ms the same cheap way for both tools; NaN on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if group.rss(largest) >= target:
            return time.monotonic() - t0
        time.sleep(0.005)
    return float("nan")


def twin_memory_run() -> tuple[float, str]:
    """Seconds from asking until 2 GiB are resident (whole-process RSS), and a detail line."""
    t0 = time.monotonic()
    h = start_stressor("memory", {"size_mb": 2048}, 14, Path("."), "bench")
    started = time.monotonic() - t0
    took = started + wait_resident(Group(h.pid, relist_s=1e9), 2 * GIB, 12)
    time.sleep(1.2)
    rss = psutil.Process(h.pid).memory_info().rss
    status = h.status()
    resident = h.work()["stress_mem_resident_bytes"]
    h.stop()
    return took, (
        f"fill {status['fill_s']} s, {status['huge_page_bytes'] >> 20} MiB as huge pages, "
        f"stressor resident {resident / (2 * GIB):.5f}, "
        f"whole-process RSS {rss / (2 * GIB):.4f}"
    )


def stress_ng_memory_run() -> tuple[float, str]:
    proc = subprocess.Popen(
        ["stress-ng", "--vm", "1", "--vm-bytes", "2g", "--vm-keep", "--vm-populate",
         "--timeout", "14"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    group = Group(proc.pid, relist_s=0.1)  # its workers fork after start: look again
    took = wait_resident(group, 2 * GIB, 12)
    time.sleep(1.2)
    worker = group.rss(largest=True)
    stop_group(proc)
    return took, f"largest worker RSS {worker / (2 * GIB):.4f}"


def build_fill_floor(into: Path) -> Path | None:
    """`bench/fill_floor.c` compiled into `into`, or None without a C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    exe = into / "fill_floor"
    done = subprocess.run(
        [cc, "-O2", "-pthread", "-o", str(exe), str(ROOT / "bench" / "fill_floor.c")],
        capture_output=True,
        check=False,
    )
    return exe if done.returncode == 0 else None


def floor_run(exe: Path, huge: bool) -> tuple[float, str]:
    """The machine's own floor: C touching 2 GiB from one thread per core, from the exec."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [str(exe), "2048", str(NCPU), "1" if huge else "0"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once resident, before its munmap and exit
    took = time.monotonic() - t0
    if proc.wait() != 0 or not line:
        raise RuntimeError(f"{exe.name} failed with exit code {proc.returncode}")
    return took, f"fill {float(line):.3f} s, {'huge' if huge else '4 KiB'} pages"


def bench_memory(runs: int = 5) -> None:
    print(
        f"\n## memory 2 GiB: seconds from start until resident, {runs} runs per tool, "
        "alternating, each round starting with the next tool (on a VM the host backs fresh guest "
        "memory lazily: a first touch after a "
        "pause costs every tool alike). The floor rows are this machine's own speed: C writing "
        f"one byte per page from {NCPU} threads (bench/fill_floor.c), no tool can beat them"
    )
    tools = [("twin", twin_memory_run), ("stress-ng", stress_ng_memory_run)]
    scratch = Path(tempfile.mkdtemp(prefix="twin-floor-"))
    exe = build_fill_floor(scratch)
    if exe is not None:
        tools += [
            ("floor 4k", lambda: floor_run(exe, huge=False)),
            ("floor thp", lambda: floor_run(exe, huge=True)),
        ]
    else:
        print("floor: no C compiler here (cc/gcc): the machine's own speed is not measured")
    times: dict[str, list[float]] = {tool: [] for tool, _ in tools}
    try:
        for run in range(runs):
            # each round starts with the next tool: none always pays the first fill of a round
            for tool, fn in tools[run % len(tools) :] + tools[: run % len(tools)]:
                took, detail = fn()
                times[tool].append(took)
                print(f"{tool:<9} run {run + 1}: {took:.3f} s from start ({detail})", flush=True)
                time.sleep(1.0)  # the same pause before every fill: the host's lazy backing
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for tool, values in times.items():
        print(
            f"{tool:<9} median {statistics.median(values):.3f} s, worst {max(values):.3f} s, "
            f"runs {', '.join(f'{v:.2f}' for v in values)}"
        )


def fio_bw(directory: Path, seconds: float, file_mb: int, extra: list[str]) -> float:
    out = subprocess.run(
        ["fio", "--name=bench", f"--directory={directory}", "--rw=write", "--bs=1M",
         f"--size={file_mb}M", "--time_based", f"--runtime={seconds:g}", "--ioengine=psync",
         "--output-format=json", "--unlink=1", *extra],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    job = json.loads(out.stdout)["jobs"][0]
    return float(job["write"]["bw_bytes"]) / (1 << 20)


def twin_bw(directory: Path, seconds: float, file_mb: int, params: dict[str, object]) -> float:
    h = start_stressor(
        "disk", {"file_mb": file_mb, "block_kb": 1024, **params}, seconds + 0.5, directory
    )
    rates = []
    t0 = time.monotonic()
    while h.poll() is None and time.monotonic() - t0 < seconds + 5:
        time.sleep(1.0)
        rates.append(h.work().get("stress_disk_write_bytes_per_s", 0.0))
    h.stop()
    steady = rates[1:-1] or rates
    return sum(steady) / len(steady) / (1 << 20)


def bench_disk(seconds: float, rounds: int = 3) -> None:
    file_mb = 512
    blocks = file_mb  # 1 MiB blocks
    scratch = Path(tempfile.mkdtemp(prefix=".bench-disk-", dir=ROOT))
    try:
        print(
            f"\n## disk write, {file_mb} MiB file, 1 MiB blocks, {seconds:g} s runs, twin and fio "
            f"alternating, {rounds} rounds, medians (the device is shared: expect noise), "
            f"on {scratch}"
        )
        modes = [
            ("buffered, fdatasync per pass", {"fsync": False}, [f"--fdatasync={blocks}"]),
            ("fdatasync per block", {"fsync": True}, ["--fdatasync=1"]),
            ("O_DIRECT", {"direct": True, "fsync": False}, ["--direct=1", f"--fdatasync={blocks}"]),
        ]  # fmt: skip
        for label, params, fio_args in modes:
            ours, theirs = [], []
            for _ in range(rounds):
                ours.append(twin_bw(scratch, seconds, file_mb, params))
                theirs.append(fio_bw(scratch, seconds, file_mb, fio_args))
            o, t = statistics.median(ours), statistics.median(theirs)
            print(
                f"{label:<30} twin {o:7.1f} MiB/s  fio {t:7.1f} MiB/s  ratio {o / t:.2f}   "
                f"(twin runs {', '.join(f'{x:.0f}' for x in ours)}; "
                f"fio runs {', '.join(f'{x:.0f}' for x in theirs)})",
                flush=True,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default="cpu,system,memory,disk")
    args = parser.parse_args()
    ensure_tools()
    parts = args.only.split(",")
    print(f"# stressors vs peers on {NCPU} CPUs, {psutil.virtual_memory().total / GIB:.1f} GiB")
    if "cpu" in parts:
        bench_cpu(args.seconds, args.rounds)
    if "system" in parts:
        bench_system(args.seconds)
    if "memory" in parts:
        bench_memory()
    if "disk" in parts:
        bench_disk(min(args.seconds, 6.0))


if __name__ == "__main__":
    main()
