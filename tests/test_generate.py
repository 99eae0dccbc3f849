"""`[generate]` designs: seeded random and sweep, reproducible to the byte."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from core.profile import parse_profile, resolve_schedule
from core.profile.designs import Choices, Draft, Fixed, NumRange, RandomDesign, SweepDesign

ROOT = Path(__file__).resolve().parent.parent
P = Path("p.toml")

RANDOM = """
name = "rnd"
[run]
mode = "{mode}"
baseline_s = 5
[generate]
seed = {seed}
count = 30
weights = {{ cpu = 2, memory = 1, disk = 0, network = 1 }}
duration_s = [2, 8]
gap_s = [1.5, 4]
{overlap}
[generate.params.cpu]
load_percent = [20, 80]
workers = {{ choices = [1, 2] }}
[generate.params.memory]
size_mb = [16, 64]
ramp_s = 1
[generate.params.network]
rate_mbit_s = [10.0, 100.0]
"""


def random_json(seed: int = 42, mode: str = "sequential", overlap: str = "") -> str:
    text = RANDOM.format(seed=seed, mode=mode, overlap=overlap)
    return resolve_schedule(parse_profile(text, P)).dumps()


def test_same_seed_same_bytes() -> None:
    assert random_json(42) == random_json(42)
    assert random_json(42, "parallel", "overlap = 0.5") == random_json(
        42, "parallel", "overlap = 0.5"
    )


def test_different_seed_different_schedule() -> None:
    assert random_json(42) != random_json(43)


def test_same_bytes_across_processes() -> None:
    """No dependence on hash order or process state: two fresh processes agree."""
    outputs = []
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        cmd = [sys.executable, "-m", "cli", "plan", "profiles/random-design.toml", "-o", "-"]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert '"seed": 42' in outputs[0]


def test_random_design_respects_its_settings() -> None:
    profile = parse_profile(RANDOM.format(seed=5, mode="sequential", overlap=""), P)
    schedule = resolve_schedule(profile)
    assert schedule.seed == 5 and len(schedule.events) == 30
    kinds = {e.stressor for e in schedule.events}
    assert "disk" not in kinds and kinds <= {"cpu", "memory", "network"}
    previous_end = schedule.baseline_s
    for i, event in enumerate(schedule.events):
        assert 2 <= event.duration_s <= 8 and event.duration_s == round(event.duration_s, 1)
        gap = event.start_s - previous_end
        assert (gap == 0) if i == 0 else (1.5 - 1e-9 <= gap <= 4 + 1e-9)
        previous_end = event.end_s
        if event.stressor == "cpu":
            assert isinstance(event.params["load_percent"], int)
            assert 20 <= event.params["load_percent"] <= 80
            assert event.params["workers"] in (1, 2)
        if event.stressor == "memory":
            assert 16 <= event.params["size_mb"] <= 64 and event.params["ramp_s"] == 1
        if event.stressor == "network":
            assert isinstance(event.params["rate_mbit_s"], float)
    assert schedule.total_s == schedule.events[-1].end_s + 5


def test_random_overlap_in_parallel_mode() -> None:
    def overlaps(overlap: str) -> int:
        text = RANDOM.format(seed=3, mode="parallel", overlap=overlap)
        events = resolve_schedule(parse_profile(text, P)).events
        return sum(1 for a, b in itertools.pairwise(events) if b.start_s < a.end_s)

    assert overlaps("overlap = 0") == 0
    assert overlaps("overlap = 1") == 29
    assert 0 < overlaps("overlap = 0.5") < 29


def test_random_design_golden() -> None:
    """The algorithm itself is part of reproducibility: a change here changes old designs."""
    design = RandomDesign(
        seed=7,
        count=4,
        weights=(("cpu", 1.0), ("memory", 1.0)),
        duration_s=NumRange(2, 6, integer=True),
        gap_s=NumRange(1, 3, integer=True),
        overlap=0.5,
        params={
            "cpu": {"load_percent": NumRange(10, 90, integer=True)},
            "memory": {"size_mb": Choices((32, 64))},
        },
    )
    assert design.drafts("parallel") == [
        Draft("cpu", 3.0, {"load_percent": 60}, 0.0, "random 1/4"),
        Draft("memory", 2.0, {"size_mb": 32}, 0.2, "random 2/4"),
        Draft("memory", 2.0, {"size_mb": 32}, 0.3, "random 3/4"),
        Draft("cpu", 5.0, {"load_percent": 17}, 4.0, "random 4/4"),
    ]


def test_fixed_params_draw_nothing() -> None:
    base = RandomDesign(1, 5, (("cpu", 1.0),), NumRange(1, 2), NumRange(1, 1))
    fixed = RandomDesign(
        1, 5, (("cpu", 1.0),), NumRange(1, 2), NumRange(1, 1), params={"cpu": {"workers": Fixed(1)}}
    )
    assert [d.duration_s for d in base.drafts("sequential")] == [
        d.duration_s for d in fixed.drafts("sequential")
    ]


def test_sweep_output() -> None:
    text = textwrap.dedent(
        """
        name = "sweep"
        [run]
        baseline_s = 10
        gap_s = 99
        [generate]
        design = "sweep"
        stressor = "cpu"
        param = "load_percent"
        values = [25, 50, 75, 100]
        duration_s = 15
        rest_s = 5
        params = { workers = 1 }
        """
    )
    schedule = resolve_schedule(parse_profile(text, P))
    assert [(e.id, e.start_s, e.end_s, e.params, e.label) for e in schedule.events] == [
        ("e01", 10.0, 25.0, {"workers": 1, "load_percent": 25}, "load_percent=25"),
        ("e02", 30.0, 45.0, {"workers": 1, "load_percent": 50}, "load_percent=50"),
        ("e03", 50.0, 65.0, {"workers": 1, "load_percent": 75}, "load_percent=75"),
        ("e04", 70.0, 85.0, {"workers": 1, "load_percent": 100}, "load_percent=100"),
    ]
    assert schedule.total_s == 95.0
    assert schedule.seed is None


def test_sweep_rest_defaults_to_the_run_gap_and_works_in_parallel() -> None:
    text = 'name = "s"\n[run]\nmode = "parallel"\nbaseline_s = 1\ngap_s = 2\n[generate]\n'
    text += 'design = "sweep"\nstressor = "memory"\nparam = "size_mb"\nvalues = [16, 32]\n'
    text += "duration_s = 3\n"
    events = resolve_schedule(parse_profile(text, P)).events
    assert [(e.start_s, e.end_s) for e in events] == [(1.0, 4.0), (6.0, 9.0)]


def test_sweep_design_directly() -> None:
    sweep = SweepDesign("disk", "file_mb", (16, 32), 2.0, 1.0, {"mode": "read"})
    assert [(d.start_s, d.params) for d in sweep.drafts("sequential")] == [
        (0.0, {"mode": "read", "file_mb": 16}),
        (3.0, {"mode": "read", "file_mb": 32}),
    ]
