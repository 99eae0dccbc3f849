"""Reading the `[generate]` table into a design (`core.profile.designs`), every problem reported.

A new `[generate]` option: add its key to `RANDOM_KEYS` / `SWEEP_KEYS` (spec.py), read it in
`_read_random` / `_read_sweep` and carry it on the design.
"""

from __future__ import annotations

import math
from typing import Any

from core.profile.check import Checker, is_number, show, type_name
from core.profile.designs import (
    DESIGNS,
    MAX_COUNT,
    Choices,
    Design,
    Fixed,
    NumRange,
    ParamSpec,
    RandomDesign,
    SweepDesign,
)
from core.profile.spec import (
    DEFAULT_RANDOM_COUNT,
    DEFAULT_RANDOM_DURATION,
    DEFAULT_SWEEP_DURATION_S,
    GAP_FROM,
    RANDOM_KEYS,
    SWEEP_KEYS,
    KeyPath,
)
from core.stressors import KINDS, PARAMS, param_problems

_PATH: KeyPath = ("generate",)
_MAX_SEED = 2**63 - 1


def read_design(check: Checker, value: Any, mode: str, run_gap: float) -> Design | None:
    """The design a `[generate]` table asks for, or None (its problems are in `check`)."""
    if not isinstance(value, dict):
        check.add(_PATH, f"must be a table, not {type_name(value)}")
        return None
    design = value.get("design", "random")
    if check.choice((*_PATH, "design"), design, DESIGNS, "design") is None:
        check.table(_PATH, value, (*RANDOM_KEYS, *SWEEP_KEYS))
        return None
    if design == "sweep":
        return _read_sweep(check, value, run_gap)
    return _read_random(check, value, mode, run_gap)


def _range(
    check: Checker, path: KeyPath, value: Any, *, positive: bool | None, hint: str = ""
) -> NumRange | None:
    """`[lo, hi]` (or one number: a fixed value) as a `NumRange`."""
    if is_number(value):
        value = [value, value]
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(is_number(v) and math.isfinite(v) for v in value)
    ):
        check.add(path, f"must be a range [min, max] of two numbers{hint}, not {show(value)}")
        return None
    lo, hi = value
    if lo > hi:
        check.add(path, f"min must be <= max, not [{show(lo)}, {show(hi)}]")
        return None
    if positive is True and lo <= 0:
        check.add(path, f"must be > 0, not {show(lo)}")
        return None
    if positive is False and lo < 0:
        check.add(path, f"must be >= 0, not {show(lo)}")
        return None
    integer = all(isinstance(v, int) for v in value)
    return NumRange(float(lo), float(hi), integer)


def _range_or_choices(
    check: Checker, path: KeyPath, value: Any, *, positive: bool
) -> NumRange | Choices | None:
    """A random design's `duration_s` / `gap_s`: `[lo, hi]`, a number or `{ choices = [...] }`."""
    if not isinstance(value, dict):
        return _range(check, path, value, positive=positive)
    table = check.table(path, value, ("choices",))
    if table is not None and not table and value:
        return None  # only a misspelt key, already reported with its did-you-mean
    choices = (table or {}).get("choices")
    if not isinstance(choices, list) or not choices:
        check.add(path, "must be { choices = [a, b, ...] } with at least one number")
        return None
    where: KeyPath = (*path, "choices")
    above, least = (0.0, None) if positive else (None, 0.0)
    picked = [
        check.number((*where, i), v, 0.0, above=above, least=least) for i, v in enumerate(choices)
    ]
    if any(v is None for v in picked):
        return None
    return Choices(tuple(choices))


def _parallel_only(check: Checker, path: KeyPath, mode: str) -> bool:
    """False (and why) when a setting that overlaps events is used outside parallel mode."""
    if mode == "parallel":
        return True
    check.add(
        path,
        'only used in parallel mode: sequential events never overlap (set [run] mode = "parallel")',
    )
    return False


def _param_spec(
    check: Checker, path: KeyPath, kind: str, name: str, value: Any
) -> ParamSpec | None:
    """One `[generate.params.KIND]` entry: value, `[min, max]` or `{ choices = [...] }`."""
    samples: list[Any]
    spec: ParamSpec
    if isinstance(value, dict):
        table = check.table(path, value, ("choices",))
        choices = (table or {}).get("choices")
        if not isinstance(choices, list) or not choices:
            check.add(path, "must be { choices = [a, b, ...] } with at least one value")
            return None
        samples, spec = list(choices), Choices(tuple(choices))
    elif isinstance(value, list):
        num = _range(check, path, value, positive=None, hint=" (or { choices = [...] })")
        if num is None:
            return None
        lo = int(num.lo) if num.integer else num.lo
        hi = int(num.hi) if num.integer else num.hi
        samples, spec = [lo, hi], num
    else:
        samples, spec = [value], Fixed(value)
    known = PARAMS.get(kind, {})
    if known and name not in known:
        samples = samples[:1]  # an unknown name: say so once
    ok = True
    for sample in samples:
        for param, reason in param_problems(kind, {name: sample}):
            prefix = "" if isinstance(spec, Fixed) or name not in known else f"{show(sample)}: "
            check.add(path if param == name else (*path[:-1], param), prefix + reason)
            ok = False
    return spec if ok else None


def _read_param_ranges(check: Checker, value: Any) -> dict[str, dict[str, ParamSpec]] | None:
    """`[generate.params.KIND]` tables: what each parameter of each stressor is drawn from."""
    path: KeyPath = (*_PATH, "params")
    raw_params = check.table(path, value, KINDS)
    ok = raw_params is not None
    params: dict[str, dict[str, ParamSpec]] = {}
    for kind, specs in (raw_params or {}).items():
        kind_path: KeyPath = (*path, kind)
        if not isinstance(specs, dict):
            check.add(kind_path, f"must be a table of parameters, not {type_name(specs)}")
            ok = False
            continue
        params[kind] = {}
        for name, raw_spec in specs.items():
            spec = _param_spec(check, (*kind_path, name), kind, name, raw_spec)
            if spec is None:
                ok = False
            else:
                params[kind][name] = spec
    return params if ok else None


def _read_random(check: Checker, value: dict[str, Any], mode: str, run_gap: float) -> Design | None:
    table = check.table(_PATH, value, RANDOM_KEYS)
    if table is None:
        return None
    ok = True
    seed: int | None = None
    if "seed" not in table:
        check.add((*_PATH, "seed"), "required for a random design: an integer, e.g. seed = 42")
        ok = False
    else:
        seed = check.integer((*_PATH, "seed"), table["seed"], least=0, most=_MAX_SEED)
    count = check.integer(
        (*_PATH, "count"), table.get("count", DEFAULT_RANDOM_COUNT), least=1, most=MAX_COUNT
    )
    weights: list[tuple[str, float]] = [(kind, 1.0) for kind in KINDS]
    if "weights" in table:
        raw = check.table((*_PATH, "weights"), table["weights"], KINDS)
        if raw is None:
            ok = False
        else:
            weights = []
            for kind in KINDS:
                if kind in raw:
                    weight = check.number((*_PATH, "weights", kind), raw[kind], 0.0, least=0)
                    if weight is None:
                        ok = False
                    elif weight > 0:
                        weights.append((kind, weight))
            if ok and not weights:
                check.add((*_PATH, "weights"), "at least one stressor needs a weight > 0")
                ok = False
    duration = _range_or_choices(
        check,
        (*_PATH, "duration_s"),
        table.get("duration_s", list(DEFAULT_RANDOM_DURATION)),
        positive=True,
    )
    gap = _range_or_choices(check, (*_PATH, "gap_s"), table.get("gap_s", run_gap), positive=False)
    gap_from = check.choice(
        (*_PATH, "gap_from"), table.get("gap_from", "end"), GAP_FROM, "gap_from"
    )
    if gap_from == "start":
        ok = _parallel_only(check, (*_PATH, "gap_from"), mode) and ok
    overlap = check.number((*_PATH, "overlap"), table.get("overlap"), 0.0, least=0, most=1)
    if overlap:
        ok = _parallel_only(check, (*_PATH, "overlap"), mode) and ok
    pair = check.number((*_PATH, "pair"), table.get("pair"), 0.0, least=0, most=1)
    if pair:
        ok = _parallel_only(check, (*_PATH, "pair"), mode) and ok
    params: dict[str, dict[str, ParamSpec]] | None = {}
    if "params" in table:
        params = _read_param_ranges(check, table["params"])
    if not ok or seed is None or count is None or duration is None or gap is None:
        return None
    if overlap is None or params is None or gap_from is None or pair is None:
        return None
    return RandomDesign(
        seed, count, tuple(weights), duration, gap, overlap, params, gap_from=gap_from, pair=pair
    )


def _read_sweep(check: Checker, value: dict[str, Any], run_gap: float) -> Design | None:
    table = check.table(_PATH, value, SWEEP_KEYS)
    if table is None:
        return None
    ok = True
    if "seed" in table:
        ok = check.integer((*_PATH, "seed"), table["seed"], least=0, most=_MAX_SEED) is not None
    kind: str | None = None
    if "stressor" not in table:
        check.add((*_PATH, "stressor"), f"required for a sweep: one of {', '.join(KINDS)}")
    else:
        kind = check.choice((*_PATH, "stressor"), table["stressor"], KINDS, "stressor")
    param = table.get("param")
    if param is None:
        check.add(
            (*_PATH, "param"), 'required for a sweep: the parameter to step, e.g. "load_percent"'
        )
    elif not isinstance(param, str) or not param:
        check.add((*_PATH, "param"), f"must be a parameter name, not {show(param)}")
        param = None
    values = table.get("values")
    if values is None:
        check.add(
            (*_PATH, "values"), "required for a sweep: the values to step through, e.g. [25, 50]"
        )
    elif not isinstance(values, list) or not values:
        check.add((*_PATH, "values"), f"must be a non-empty array of values, not {show(values)}")
        values = None
    elif any(isinstance(v, dict | list) for v in values):
        check.add((*_PATH, "values"), "must hold single values, not tables or arrays")
        values = None
    duration = check.number(
        (*_PATH, "duration_s"), table.get("duration_s"), DEFAULT_SWEEP_DURATION_S, above=0
    )
    rest = check.number((*_PATH, "rest_s"), table.get("rest_s"), run_gap, least=0)
    fixed = check.params((*_PATH, "params"), table.get("params"), kind)
    if kind is not None and isinstance(param, str) and values is not None:
        for index, step in enumerate(values):
            for bad, reason in param_problems(kind, {**(fixed or {}), param: step}):
                where: KeyPath = (
                    (*_PATH, "values", index) if bad == param else (*_PATH, "params", bad)
                )
                check.add(where, f"{show(step)}: {reason}" if bad == param else reason)
                ok = False
    if not ok or kind is None or param is None or values is None or fixed is None:
        return None
    if duration is None or rest is None:
        return None
    return SweepDesign(kind, str(param), tuple(values), duration, rest, fixed)
