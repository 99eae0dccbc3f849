"""Profiles: every validation rule (message, line, key path), timing on the run clock,
writing profiles back, and the shipped profiles."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from core.errors import ProfileError
from core.profile import (
    EventSpec,
    KeyLines,
    Problem,
    Profile,
    check_profile_data,
    expand_generate,
    load_profile,
    parse_profile,
    profile_from_data,
    profile_to_data,
    profile_to_toml,
    resolve_schedule,
    validate_profile_data,
)

ROOT = Path(__file__).resolve().parent.parent
PROFILES = sorted((ROOT / "profiles").glob("*.toml"))
P = Path("p.toml")


def problems(text: str) -> list[str]:
    """Every problem `parse_profile` reports for `text` (it must report some)."""
    with pytest.raises(ProfileError) as info:
        parse_profile(textwrap.dedent(text).lstrip("\n"), P)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def one(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def ok(text: str) -> Profile:
    return parse_profile(textwrap.dedent(text).lstrip("\n"), P)


# --- the file as a whole ---------------------------------------------------------


def test_invalid_toml_names_the_line() -> None:
    msg = one('name = "x"\n\n[run\nmode = "parallel"\n')
    assert msg.startswith("p.toml:3: invalid TOML: ")
    assert "(at line" not in msg


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(tmp_path / "missing.toml")
    assert info.value.problems == [
        f"{tmp_path / 'missing.toml'}: cannot read: No such file or directory"
    ]


def test_name_is_required() -> None:
    assert one("[run]\nmode = 'parallel'\n") == (
        'p.toml:1: name: required: a short name for the experiment, e.g. name = "smoke"'
    )


def test_name_must_be_a_string() -> None:
    assert one("name = 3\n") == "p.toml:1: name: must be a string, not an integer (3)"
    assert one('name = "a/b"\n') == "p.toml:1: name: must not contain '/', '\\' or line breaks"
    assert one('name = ""\n') == "p.toml:1: name: must not be empty"


def test_unknown_key_with_did_you_mean() -> None:
    assert one('name = "x"\ndescripton = "y"\n') == (
        'p.toml:2: descripton: unknown key "descripton" (did you mean "description"?)'
    )


def test_unknown_section_without_close_match_lists_the_keys() -> None:
    assert one('name = "x"\n[zzz]\na = 1\n') == (
        'p.toml:2: zzz: unknown key "zzz"; expected one of: '
        "name, description, sampling, run, events, generate, probes, steady_state"
    )


def test_unknown_key_in_a_section() -> None:
    assert one('name = "x"\n[run]\nbaseline = 3\n') == (
        'p.toml:3: run.baseline: unknown key "baseline" (did you mean "baseline_s"?)'
    )


def test_every_problem_at_once_sorted_by_line() -> None:
    found = problems(
        """
        name = "x"
        [sampling]
        interval_s = 0
        [run]
        mode = "paralel"
        baseline_s = -1
        gap_s = "long"
        """
    )
    assert found == [
        "p.toml:3: sampling.interval_s: must be between 0.05 and 60, not 0",
        'p.toml:5: run.mode: unknown mode "paralel" (did you mean "parallel"?)',
        "p.toml:6: run.baseline_s: must be >= 0, not -1",
        'p.toml:7: run.gap_s: must be a number, not a string ("long")',
    ]


def test_sampling_interval_bounds() -> None:
    assert ok('name = "x"\n[sampling]\ninterval_s = 0.05\n').interval_s == 0.05
    assert ok('name = "x"\n[sampling]\ninterval_s = 60\n').interval_s == 60.0
    assert one('name = "x"\n[sampling]\ninterval_s = 61\n') == (
        "p.toml:3: sampling.interval_s: must be between 0.05 and 60, not 61"
    )


def test_numbers_must_be_finite() -> None:
    assert one('name = "x"\n[sampling]\ninterval_s = nan\n') == (
        "p.toml:3: sampling.interval_s: must be a finite number, not nan"
    )


def test_section_must_be_a_table() -> None:
    assert one('name = "x"\nrun = 3\n') == "p.toml:2: run: must be a table, not an integer"


def test_defaults() -> None:
    profile = ok('name = "x"\n[[events]]\nstressor = "cpu"\nduration_s = 2\n')
    assert (profile.interval_s, profile.mode, profile.baseline_s, profile.gap_s) == (
        1.0,
        "sequential",
        5.0,
        5.0,
    )
    assert profile.events == (EventSpec("cpu", 2.0),)
    assert profile.seed is None and profile.generate is None


def test_no_events_needs_a_baseline() -> None:
    assert one('name = "x"\n[run]\nbaseline_s = 0\n') == (
        "p.toml:3: run.baseline_s: must be > 0 when there are no events: nothing to record"
    )


# --- events --------------------------------------------------------------------


def test_event_duration_must_be_positive() -> None:
    msg = one(
        """
        name = "x"
        [[events]]
        stressor = "cpu"
        duration_s = 1
        [[events]]
        stressor = "cpu"
        duration_s = 1
        [[events]]
        stressor = "cpu"
        duration_s = 0
        """
    )
    assert msg == "p.toml:10: events[2].duration_s: must be > 0, not 0"


def test_event_required_keys_point_at_the_header() -> None:
    found = problems('name = "x"\n\n[[events]]\nlabel = "nothing"\n')
    assert found == [
        "p.toml:3: events[0].stressor: required: one of cpu, memory, disk, network",
        "p.toml:3: events[0].duration_s: required: the event's length in seconds, > 0",
    ]


def test_unknown_stressor_with_hint() -> None:
    assert one('name = "x"\n[[events]]\nstressor = "memroy"\nduration_s = 1\n') == (
        'p.toml:3: events[0].stressor: unknown stressor "memroy" (did you mean "memory"?)'
    )


def test_unknown_event_key_with_hint() -> None:
    assert one('name = "x"\n[[events]]\nstressor = "cpu"\nduration_s = 1\nlable = "a"\n') == (
        'p.toml:5: events[0].lable: unknown key "lable" (did you mean "label"?)'
    )


def test_event_wrong_types() -> None:
    found = problems(
        """
        name = "x"
        [[events]]
        stressor = 1
        duration_s = "10"
        label = 5
        params = 50
        """
    )
    assert found == [
        "p.toml:3: events[0].stressor: must be a string, not an integer (1)",
        'p.toml:4: events[0].duration_s: must be a number, not a string ("10")',
        "p.toml:5: events[0].label: must be a string, not an integer (5)",
        "p.toml:6: events[0].params: must be a table such as { load_percent = 50 }, not an integer",
    ]


def test_events_must_be_an_array_of_tables() -> None:
    assert one('name = "x"\nevents = 3\n') == (
        "p.toml:2: events: must be an array of tables: write each event as [[events]]"
    )


def test_negative_start() -> None:
    text = 'name = "x"\n[run]\nmode = "parallel"\n[[events]]\nstressor = "cpu"\n'
    text += "duration_s = 1\nstart_s = -2\n"
    assert one(text) == "p.toml:7: events[0].start_s: must be >= 0, not -2"


def test_sequential_overlap() -> None:
    msg = one(
        """
        name = "x"
        [[events]]
        stressor = "cpu"
        duration_s = 10
        [[events]]
        stressor = "memory"
        duration_s = 5
        start_s = 4
        """
    )
    assert msg == (
        "p.toml:8: events[1].start_s: 4 overlaps events[0], which runs until 10 s after the "
        "baseline: sequential events run one at a time "
        '(use a later start_s, or [run] mode = "parallel")'
    )


def test_unknown_param_with_hint() -> None:
    text = 'name = "x"\n[[events]]\nstressor = "cpu"\nduration_s = 1\n'
    assert one(text + "params = { lod_percent = 50 }\n") == (
        "p.toml:5: events[0].params.lod_percent: unknown parameter 'lod_percent' "
        "(did you mean 'load_percent'?)"
    )


def test_param_out_of_range_and_wrong_type() -> None:
    text = 'name = "x"\n[[events]]\nstressor = "cpu"\nduration_s = 1\n'
    assert one(text + "params = { load_percent = 150 }\n") == (
        "p.toml:5: events[0].params.load_percent: must be between 1 and 100 %"
    )
    assert one(text + 'params = { load_percent = "lots" }\n') == (
        "p.toml:5: events[0].params.load_percent: must be a number, not 'lots'"
    )
    assert one(text + "params = { load_percent = [1, 2] }\n") == (
        "p.toml:5: events[0].params.load_percent: must be a single value, not an array"
    )


def test_params_as_a_subtable_get_their_own_lines() -> None:
    msg = one(
        """
        name = "x"
        [[events]]
        stressor = "disk"
        duration_s = 1
        [events.params]
        mode = "write"
        file_mb = 0
        """
    )
    assert msg == "p.toml:7: events[0].params.file_mb: must be between 1 and 16777216 MiB"


def test_unsafe_memory_target_names_size_mb() -> None:
    msg = one(
        """
        name = "x"
        [[events]]
        stressor = "memory"
        duration_s = 1
        params = { size_mb = 16000000 }
        """
    )
    assert msg.startswith("p.toml:5: events[0].params.size_mb: needs ")
    assert "more than" in msg


def test_unsafe_disk_target_names_file_mb(tmp_path: Path) -> None:
    text = 'name = "x"\n[[events]]\nstressor = "disk"\nduration_s = 1\n'
    text += "params = { file_mb = 16000000 }\n"
    with pytest.raises(ProfileError) as info:
        parse_profile(text, P, scratch_dir=tmp_path)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith("p.toml:5: events[0].params.file_mb: needs ")
    assert str(tmp_path) in info.value.problems[0]


def test_overlapping_memory_events_are_summed() -> None:
    # each alone fits in the memory available now; the two together do not
    size_mb = int(psutil.virtual_memory().available / 2**20 * 0.6)
    text = 'name = "x"\n[run]\nmode = "parallel"\n'
    for start in (0, 1):
        text += f"[[events]]\nstressor = 'memory'\nduration_s = 5\nstart_s = {start}\n"
        text += f"params = {{ size_mb = {size_mb} }}\n"
    msg = one(text)
    assert msg.startswith("p.toml:13: events[1].params.size_mb: needs ")
    assert "with 1 overlapping event(s)" in msg


def test_events_and_generate_together() -> None:
    found = problems(
        """
        name = "x"
        [[events]]
        stressor = "cpu"
        duration_s = 1
        [generate]
        design = "sweep"
        stressor = "cpu"
        param = "load_percent"
        values = [50]
        """
    )
    assert found == ["p.toml:5: generate: give either [[events]] or a [generate] table, not both"]


# --- [generate] ------------------------------------------------------------------


def test_random_design_problems_all_at_once() -> None:
    found = problems(
        """
        name = "x"
        [generate]
        count = 0
        weights = { cpu = 1, gpu = 2 }
        duration_s = [10, 5]
        gap_s = "x"
        overlap = 0.5
        [generate.params.memory]
        sise_mb = 3
        [generate.params.cpu]
        load_percent = [1, 2, 3]
        workers = { choices = [] }
        """
    )
    assert found == [
        "p.toml:2: generate.seed: required for a random design: an integer, e.g. seed = 42",
        "p.toml:3: generate.count: must be between 1 and 1000, not 0",
        'p.toml:4: generate.weights.gpu: unknown key "gpu" (did you mean "cpu"?)',
        "p.toml:5: generate.duration_s: min must be <= max, not [10, 5]",
        'p.toml:6: generate.gap_s: must be a range [min, max] of two numbers, not "x"',
        "p.toml:7: generate.overlap: only used in parallel mode: sequential events never "
        'overlap (set [run] mode = "parallel")',
        "p.toml:9: generate.params.memory.sise_mb: unknown parameter 'sise_mb' "
        "(did you mean 'size_mb'?)",
        "p.toml:11: generate.params.cpu.load_percent: must be a range [min, max] of two "
        "numbers (or { choices = [...] }), not [1, 2, 3]",
        "p.toml:12: generate.params.cpu.workers: must be { choices = [a, b, ...] } with at "
        "least one value",
    ]


def test_random_design_param_range_checked_at_both_ends() -> None:
    msg = one(
        """
        name = "x"
        [generate]
        seed = 1
        [generate.params.cpu]
        load_percent = [50, 150]
        """
    )
    assert msg == "p.toml:5: generate.params.cpu.load_percent: 150: must be between 1 and 100 %"


def test_random_design_weights_need_one_positive() -> None:
    msg = one('name = "x"\n[generate]\nseed = 1\nweights = { cpu = 0 }\n')
    assert msg == "p.toml:4: generate.weights: at least one stressor needs a weight > 0"


def test_unknown_design() -> None:
    assert one('name = "x"\n[generate]\ndesign = "randum"\n') == (
        'p.toml:3: generate.design: unknown design "randum" (did you mean "random"?)'
    )


def test_sweep_problems() -> None:
    found = problems('name = "x"\n[generate]\ndesign = "sweep"\nduration_s = 0\nrest = 1\n')
    assert found == [
        "p.toml:2: generate.stressor: required for a sweep: one of cpu, memory, disk, network",
        "p.toml:2: generate.param: required for a sweep: the parameter to step, "
        'e.g. "load_percent"',
        "p.toml:2: generate.values: required for a sweep: the values to step through, "
        "e.g. [25, 50]",
        "p.toml:4: generate.duration_s: must be > 0, not 0",
        'p.toml:5: generate.rest: unknown key "rest" (did you mean "rest_s"?)',
    ]


def test_sweep_values_are_checked_by_the_stressor() -> None:
    found = problems(
        """
        name = "x"
        [generate]
        design = "sweep"
        stressor = "cpu"
        param = "load_percent"
        values = [50, 0, 100]
        """
    )
    assert found == ["p.toml:6: generate.values[1]: 0: must be between 1 and 100 %"]


def test_unsafe_generated_event() -> None:
    found = problems(
        """
        name = "x"
        [generate]
        design = "sweep"
        stressor = "memory"
        param = "size_mb"
        values = [64, 16000000]
        """
    )
    assert len(found) == 1
    assert found[0].startswith(
        "p.toml:2: generate.params.memory.size_mb: generated event e02 (memory): size_mb: needs "
    )


# --- without a file (the TUI) ----------------------------------------------------------


def test_validate_profile_data_without_text() -> None:
    data = {"name": "x", "events": [{"stressor": "cpu", "duration_s": -1}]}
    assert validate_profile_data(data, "mine.toml") == [
        "mine.toml: events[0].duration_s: must be > 0, not -1"
    ]
    assert check_profile_data(data) == [Problem("events[0].duration_s", "must be > 0, not -1")]
    assert validate_profile_data({"name": "x"}, None) == []


def test_profile_from_data() -> None:
    data = {
        "name": "x",
        "run": {"mode": "parallel"},
        "events": [{"stressor": "cpu", "duration_s": 2}],
    }
    profile = profile_from_data(data)
    assert profile.mode == "parallel" and profile.events == (EventSpec("cpu", 2.0),)
    with pytest.raises(ProfileError) as info:
        profile_from_data({"name": 1}, Path("t.toml"))
    assert info.value.problems == ["t.toml: name: must be a string, not an integer (1)"]


# --- where keys are -------------------------------------------------------------------


def test_key_lines() -> None:
    text = textwrap.dedent(
        '''
        name = "x"
        description = """
        [run]
        mode = 3
        """
        run.mode = "parallel"

        [[events]]   # first
        stressor = "cpu"
        params = { load_percent = 50, "workers" = 2 }

        [[events]]
        "duration_s" = 1
        [events.params]
        size_mb = 64
        '''
    ).lstrip("\n")
    lines = KeyLines(text)
    assert lines.line_of(("name",)) == 1
    assert lines.line_of(("run", "mode")) == 6
    assert lines.line_of(("events", 0)) == 8
    assert lines.line_of(("events", 0, "params", "load_percent")) == 10
    assert lines.line_of(("events", 0, "params", "missing")) == 10
    assert lines.line_of(("events", 0, "duration_s")) == 8
    assert lines.line_of(("events", 1, "duration_s")) == 13
    assert lines.line_of(("events", 1, "params", "size_mb")) == 15
    assert lines.line_of(("nowhere",)) == 1


# --- the run clock ------------------------------------------------------------------


def test_sequential_timing() -> None:
    profile = ok(
        """
        name = "seq"
        [run]
        baseline_s = 5
        gap_s = 2
        [[events]]
        stressor = "cpu"
        duration_s = 3
        start_s = 0
        [[events]]
        stressor = "memory"
        duration_s = 4
        [[events]]
        stressor = "cpu"
        duration_s = 1
        start_s = 20
        """
    )
    schedule = resolve_schedule(profile)
    assert [(e.id, e.start_s, e.end_s) for e in schedule.events] == [
        ("e01", 5.0, 8.0),
        ("e02", 10.0, 14.0),
        ("e03", 25.0, 26.0),
    ]
    assert schedule.total_s == 31.0
    assert (schedule.mode, schedule.baseline_s, schedule.seed) == ("sequential", 5.0, None)


def test_parallel_timing() -> None:
    profile = ok(
        """
        name = "par"
        [run]
        mode = "parallel"
        baseline_s = 10
        [[events]]
        stressor = "cpu"
        duration_s = 30
        [[events]]
        stressor = "memory"
        duration_s = 5
        start_s = 2.5
        """
    )
    schedule = resolve_schedule(profile)
    assert [(e.start_s, e.end_s) for e in schedule.events] == [(10.0, 40.0), (12.5, 17.5)]
    assert schedule.total_s == 50.0
    assert [e.id for e in schedule.active_at(13)] == ["e01", "e02"]


def test_no_events_records_the_baseline_once() -> None:
    schedule = resolve_schedule(ok('name = "b"\n[run]\nbaseline_s = 7\n'))
    assert schedule.events == () and schedule.total_s == 7.0


def test_resolve_rejects_an_overlap_built_in_code() -> None:
    profile = Profile("x", events=(EventSpec("cpu", 10), EventSpec("cpu", 1, start_s=3)))
    with pytest.raises(ProfileError) as info:
        resolve_schedule(profile)
    assert info.value.problems[0].startswith("<profile>: events[1].start_s: 3 overlaps events[0]")


def test_a_design_with_no_run_gap_runs_back_to_back() -> None:
    """`[run] gap_s = 0` is the design's default gap: what is checked is what runs."""
    profile = ok(
        """
        name = "tight"
        [run]
        gap_s = 0
        [generate]
        seed = 3
        count = 3
        duration_s = [1, 2]
        """
    )
    events = resolve_schedule(profile).events
    assert [b.start_s for b in events[1:]] == [a.end_s for a in events[:-1]]
    written_out = parse_profile(profile_to_toml(expand_generate(profile)), P)
    assert resolve_schedule(written_out).events == events


def test_a_changed_copy_of_a_checked_profile_is_placed_again() -> None:
    profile = ok(
        'name = "x"\n[run]\nbaseline_s = 2\n[[events]]\nstressor = "cpu"\nduration_s = 1\n'
    )
    assert resolve_schedule(profile).events[0].start_s == 2.0
    later = replace(profile, baseline_s=10.0)
    assert later == Profile(
        "x", baseline_s=10.0, events=(EventSpec("cpu", 1.0),), source=P, text=profile.text
    )
    schedule = resolve_schedule(later)
    assert (schedule.events[0].start_s, schedule.total_s) == (10.0, 21.0)


# --- writing profiles back ------------------------------------------------------------


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_round_trip_of_shipped_profiles(path: Path) -> None:
    profile = load_profile(path)
    again = parse_profile(profile_to_toml(profile), path)
    assert profile_to_data(again) == profile_to_data(profile)
    assert resolve_schedule(again).dumps() == resolve_schedule(profile).dumps()


def test_profile_built_in_code_saves_to_a_runnable_file(tmp_path: Path) -> None:
    profile = Profile(
        name="edited",
        description='with "quotes"\nand a second line',
        mode="parallel",
        baseline_s=2,
        events=(
            EventSpec("cpu", 3, {"load_percent": 50}, 0, "half"),
            EventSpec("disk", 2.5, {"mode": "write", "file_mb": 16, "fsync": False}, 1.5),
        ),
    )
    path = tmp_path / "edited.toml"
    path.write_text(profile_to_toml(profile))
    loaded = load_profile(path)
    assert loaded.events == profile.events
    assert loaded.description == profile.description
    assert resolve_schedule(loaded) == resolve_schedule(profile)


def test_expand_generate_writes_the_design_out() -> None:
    profile = load_profile(ROOT / "profiles" / "random-design.toml")
    expanded = expand_generate(profile)
    assert expanded.generate is None and len(expanded.events) == 10
    reloaded = parse_profile(profile_to_toml(expanded), P)
    assert resolve_schedule(reloaded).events == resolve_schedule(profile).events


# --- shipped profiles ---------------------------------------------------------------


def test_profiles_are_shipped() -> None:
    names = {p.stem for p in PROFILES}
    assert {
        "baseline",
        "smoke",
        "cpu-sweep",
        "memory-ramp",
        "mixed-parallel",
        "random-design",
    } <= names


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_every_shipped_profile_loads_and_resolves(path: Path) -> None:
    profile = load_profile(path)
    schedule = resolve_schedule(profile)
    assert schedule.name == profile.name == path.stem
    if path.stem != "seed-design":  # the seed project's design as it was: hours, on purpose
        assert schedule.total_s <= 300, "shipped profiles finish in a few minutes"


def test_smoke_profile_is_quick() -> None:
    schedule = resolve_schedule(load_profile(ROOT / "profiles" / "smoke.toml"))
    assert schedule.total_s < 30
    assert [(e.stressor, e.duration_s, e.params) for e in schedule.events] == [
        ("cpu", 3.0, {"load_percent": 50}),
        ("memory", 2.0, {"size_mb": 64}),
    ]


def test_mixed_parallel_overlaps_every_kind() -> None:
    schedule = resolve_schedule(load_profile(ROOT / "profiles" / "mixed-parallel.toml"))
    assert schedule.mode == "parallel"
    busiest = max((schedule.active_at(e.start_s) for e in schedule.events), key=len)
    assert sorted(e.stressor for e in busiest) == ["cpu", "disk", "memory", "network"]


def test_absurd_durations_are_a_profile_problem(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text('name = "huge"\n[[events]]\nstressor = "cpu"\nduration_s = 1e308\n')
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert err.value.problems == [
        f"{path}:4: events[0].duration_s: must be at most 31536000 s (a year), not 1e+308"
    ]
