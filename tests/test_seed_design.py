"""The seed project's schedule design as a profile (issue 17 part 4): `{ choices }` durations and
gaps, `gap_from = "start"`, `pair`, and `profiles/seed-design.toml` checked with `twin plan`."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from core.errors import ProfileError
from core.profile import load_profile, parse_profile, profile_to_toml, resolve_schedule
from core.profile.designs import Choices, NumRange, RandomDesign
from core.schedule import Schedule

from conftest import ROOT, run_twin

SEED_DESIGN = ROOT / "profiles" / "seed-design.toml"
P = Path("p.toml")

# Recorded with the code before gap_from/pair existed: a design that sets neither must keep
# drawing exactly these events (same random numbers in the same order).
PINNED_RANDOM_DESIGN = [
    ("e01", "memory", 10.0, 4.0, {"size_mb": 204}),
    ("e02", "cpu", 16.0, 6.0, {"load_percent": 33, "workers": 1}),
    ("e03", "cpu", 28.0, 7.0, {"load_percent": 49, "workers": 1}),
    ("e04", "cpu", 37.0, 11.0, {"load_percent": 95, "workers": 2}),
    ("e05", "disk", 51.0, 6.0, {"file_mb": 121, "fsync": False, "mode": "read", "rate_mb_s": 50}),
    ("e06", "cpu", 61.0, 9.0, {"load_percent": 33, "workers": 1}),
    ("e07", "disk", 72.0, 8.0, {"file_mb": 37, "fsync": False, "mode": "mixed", "rate_mb_s": 50}),
    ("e08", "network", 86.0, 10.0, {"rate_mbit_s": 90}),
    ("e09", "network", 86.7, 9.0, {"rate_mbit_s": 345}),
    ("e10", "memory", 98.0, 8.0, {"size_mb": 104}),
]
SEQUENTIAL = """
name = "pin"
[run]
baseline_s = 5
[generate]
seed = 7
count = 8
weights = { cpu = 2, memory = 1, disk = 1 }
duration_s = [2, 9]
gap_s = [1, 5]
[generate.params.cpu]
load_percent = [20, 80]
"""
PINNED_SEQUENTIAL = [
    ("e01", "cpu", 5.0, 4.0, {"load_percent": 45}),
    ("e02", "memory", 14.0, 3.0, {}),
    ("e03", "cpu", 22.0, 2.0, {"load_percent": 78}),
    ("e04", "cpu", 28.0, 3.0, {"load_percent": 47}),
    ("e05", "cpu", 35.0, 3.0, {"load_percent": 55}),
    ("e06", "cpu", 40.0, 3.0, {"load_percent": 80}),
    ("e07", "memory", 48.0, 2.0, {}),
    ("e08", "memory", 52.0, 2.0, {}),
]


def rows(schedule: Schedule) -> list[tuple[str, str, float, float, dict[str, object]]]:
    return [(e.id, e.stressor, e.start_s, e.duration_s, e.params) for e in schedule.events]


def test_existing_designs_keep_their_schedules() -> None:
    shipped = resolve_schedule(load_profile(ROOT / "profiles" / "random-design.toml"))
    assert rows(shipped) == PINNED_RANDOM_DESIGN
    assert shipped.total_s == 116.0
    sequential = resolve_schedule(parse_profile(SEQUENTIAL, P))
    assert rows(sequential) == PINNED_SEQUENTIAL
    assert sequential.total_s == 59.0


def design(**kw: object) -> RandomDesign:
    settings: dict[str, object] = {
        "seed": 3,
        "count": 6,
        "weights": (("cpu", 1.0),),
        "duration_s": Choices((100,)),
        "gap_s": Choices((10,)),
    }
    return RandomDesign(**{**settings, **kw})  # type: ignore[arg-type]


def test_gap_from_start_measures_from_the_previous_start() -> None:
    from_start = [d.start_s for d in design(gap_from="start").drafts("parallel")]
    assert from_start == [0, 10, 20, 30, 40, 50]
    from_end = [d.start_s for d in design().drafts("parallel")]
    assert from_end == [0, 110, 220, 330, 440, 550]


def test_choices_draw_only_listed_values() -> None:
    drafts = design(
        count=200,
        duration_s=Choices((180, 300, 600)),
        gap_s=Choices((0, 60, 120)),
        gap_from="start",
    ).drafts("parallel")
    assert {d.duration_s for d in drafts} == {180, 300, 600}
    steps = {round(b.start_s - a.start_s, 6) for a, b in pairwise(drafts)}
    assert steps == {0, 60, 120}


def test_pair_one_makes_pairs_never_triples() -> None:
    starts = [d.start_s for d in design(pair=1.0, gap_from="start").drafts("parallel")]
    assert starts == [0, 0, 10, 10, 20, 20]


def test_pair_is_ignored_outside_parallel_mode() -> None:
    """The reader refuses pair in sequential mode; the design itself never pairs there either."""
    assert [d.start_s for d in design(pair=1.0).drafts("sequential")] == [
        0,
        110,
        220,
        330,
        440,
        550,
    ]


def test_overlap_after_a_start_lands_inside_the_previous_event() -> None:
    drafts = design(count=50, overlap=1.0, gap_from="start", duration_s=NumRange(5, 50)).drafts(
        "parallel"
    )
    for prev, draft in pairwise(drafts):
        assert prev.start_s <= draft.start_s < prev.end_s


def test_seed_design_profile_plans_the_seed_schedule() -> None:
    plan = run_twin("plan", str(SEED_DESIGN))
    assert plan.returncode == 0, plan.stderr
    assert "66 events" in plan.stdout
    out = run_twin("plan", str(SEED_DESIGN), "-o", "-")
    assert out.returncode == 0, out.stderr
    assert run_twin("plan", str(SEED_DESIGN), "-o", "-").stdout == out.stdout  # reproducible
    schedule = json.loads(out.stdout)
    events = schedule["events"]
    assert schedule["mode"] == "parallel" and len(events) == 66
    assert {e["stressor"] for e in events} == {"cpu", "memory", "disk"}
    assert {e["duration_s"] for e in events} <= {180, 300, 600, 900, 1200}
    gaps = set(range(0, 1801, 60))
    paired = overlapped = 0
    for prev, event in pairwise(events):
        step = round(event["start_s"] - prev["start_s"], 6)
        if step == 0:
            paired += 1
        elif step < prev["duration_s"] and step not in gaps:
            overlapped += 1  # a fraction of the previous duration
        else:
            assert step in gaps, (prev["id"], event["id"], step)
    assert paired > 0 and overlapped > 0


def test_seed_design_round_trips_through_toml() -> None:
    profile = load_profile(SEED_DESIGN)
    text = profile_to_toml(profile)
    assert 'gap_from = "start"' in text and "pair = 0.25" in text
    assert "duration_s = { choices = [180, 300, 600, 900, 1200] }" in text
    again = parse_profile(text, P)
    assert replace(again, source=profile.source, text=profile.text) == profile
    assert resolve_schedule(again).dumps() == resolve_schedule(profile).dumps()


BAD = """\
name = "bad"
[run]
mode = "{mode}"
[generate]
seed = 1
{line}
"""


@pytest.mark.parametrize(
    ("mode", "line", "message"),
    [
        (
            "parallel",
            "duration_s = { choices = [] }",
            "generate.duration_s: must be { choices = [a, b, ...] } with at least one number",
        ),
        (
            "parallel",
            'duration_s = { choices = [60, "long"] }',
            'generate.duration_s.choices[1]: must be a number, not a string ("long")',
        ),
        (
            "parallel",
            "duration_s = { choices = [0, 60] }",
            "generate.duration_s.choices[0]: must be > 0, not 0",
        ),
        (
            "parallel",
            "gap_s = { choices = [60, -60] }",
            "generate.gap_s.choices[1]: must be >= 0, not -60",
        ),
        (
            "parallel",
            "gap_s = { choises = [60] }",
            'generate.gap_s.choises: unknown key "choises" (did you mean "choices"?)',
        ),
        (
            "parallel",
            'gap_from = "middle"',
            'generate.gap_from: unknown gap_from "middle"; expected one of: end, start',
        ),
        ("parallel", "pair = 1.5", "generate.pair: must be between 0 and 1, not 1.5"),
        (
            "sequential",
            "pair = 0.25",
            "generate.pair: only used in parallel mode: sequential events never overlap "
            '(set [run] mode = "parallel")',
        ),
        (
            "sequential",
            'gap_from = "start"',
            "generate.gap_from: only used in parallel mode: sequential events never overlap "
            '(set [run] mode = "parallel")',
        ),
    ],
)
def test_bad_settings_are_one_line_each_exit_2(
    write_profile: Callable[[str, str], Path], mode: str, line: str, message: str
) -> None:
    path = write_profile(BAD.format(mode=mode, line=line), "bad.toml")
    result = run_twin("plan", str(path), "-o", str(path.with_name("schedule.json")))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"{path}:6: {message}", f"twin plan: 1 problem in {path}"]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not path.with_name("schedule.json").exists()


def test_bad_settings_are_all_reported_at_once() -> None:
    text = textwrap.dedent(
        """\
        name = "bad"
        [generate]
        seed = 1
        duration_s = { choices = [] }
        gap_from = "start"
        pair = 2
        """
    )
    with pytest.raises(ProfileError) as info:
        parse_profile(text, P)
    assert str(info.value).splitlines() == [
        "p.toml:4: generate.duration_s: must be { choices = [a, b, ...] } with at least one number",
        "p.toml:5: generate.gap_from: only used in parallel mode: sequential events never "
        'overlap (set [run] mode = "parallel")',
        "p.toml:6: generate.pair: must be between 0 and 1, not 2",
    ]
