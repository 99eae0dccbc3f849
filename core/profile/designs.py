"""Seeded schedule designs: what a profile's `[generate]` table turns into.

Two designs, both pure functions of their settings (and of the seed):

- `RandomDesign`: `count` events, each a stressor drawn by weight, a duration
  and every parameter drawn from its range, separated by a drawn gap (after the
  end of everything so far, or with `gap_from = "start"` after the previous
  start); in parallel mode an event may instead start while the previous one
  still runs (chance `overlap`) or at the same start as it (chance `pair`).
- `SweepDesign`: one stressor, one parameter stepped through `values`, each
  step `duration_s` long with `rest_s` of quiet between steps.

Randomness comes only from `random.Random(seed)`, drawn in a fixed order, and
every drawn number is rounded, so the same design and seed always give the same
events and so byte-identical `schedule.json` files. Offsets (`Draft.start_s`)
are seconds from the end of the baseline, as a profile's `start_s`.

Reading and checking the TOML table lives in `core.profile.read_generate` (one schema, one set
of messages); this module only builds events from already checked designs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

DESIGNS = ("random", "sweep")
MAX_COUNT = 1000


@dataclass(frozen=True)
class NumRange:
    """A closed range `[lo, hi]`: integers when both ends are integers."""

    lo: float
    hi: float
    integer: bool = False

    def draw(self, rng: random.Random, digits: int = 2) -> float | int:
        if self.integer:
            return rng.randint(int(self.lo), int(self.hi))
        return round(rng.uniform(self.lo, self.hi), digits)


@dataclass(frozen=True)
class Choices:
    """Pick one of `values` (equal chances)."""

    values: tuple[Any, ...]

    def draw(self, rng: random.Random, digits: int = 2) -> Any:
        return self.values[rng.randrange(len(self.values))]


@dataclass(frozen=True)
class Fixed:
    """Always `value`; draws nothing from the generator."""

    value: Any

    def draw(self, rng: random.Random, digits: int = 2) -> Any:
        return self.value


ParamSpec = NumRange | Choices | Fixed


@dataclass(frozen=True)
class Draft:
    """A generated event, `start_s` seconds after the end of the baseline."""

    stressor: str
    duration_s: float
    params: dict[str, Any]
    start_s: float
    label: str = ""

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class RandomDesign:
    seed: int
    count: int
    weights: tuple[tuple[str, float], ...]
    duration_s: NumRange | Choices
    gap_s: NumRange | Choices
    overlap: float = 0.0
    params: dict[str, dict[str, ParamSpec]] = field(default_factory=dict)
    gap_from: str = "end"
    pair: float = 0.0

    def drafts(self, mode: str) -> list[Draft]:
        """The events, drawn in a fixed order; `pair` draws only when set (old seeds unchanged)."""
        rng = random.Random(self.seed)
        kinds = [kind for kind, _ in self.weights]
        weights = [weight for _, weight in self.weights]
        out: list[Draft] = []
        horizon = 0.0  # latest end so far
        paired = False  # the previous event is the second of a pair: never a third
        for i in range(self.count):
            kind = rng.choices(kinds, weights=weights)[0]
            duration = float(self.duration_s.draw(rng, digits=1))
            specs = self.params.get(kind, {})
            params = {name: specs[name].draw(rng) for name in sorted(specs)}
            parallel = mode == "parallel"
            pairs_now = parallel and self.pair > 0 and bool(out) and not paired
            paired = pairs_now and rng.random() < self.pair
            if not out:
                start = 0.0
            elif paired:
                start = out[-1].start_s
            elif parallel and self.overlap > 0 and rng.random() < self.overlap:
                prev = out[-1]
                start = round(prev.start_s + rng.random() * prev.duration_s, 1)
                if start >= prev.end_s:
                    start = prev.start_s
            else:
                after = out[-1].start_s if self.gap_from == "start" else horizon
                start = round(after + float(self.gap_s.draw(rng, digits=1)), 3)
            draft = Draft(kind, duration, params, start, f"random {i + 1}/{self.count}")
            out.append(draft)
            horizon = max(horizon, draft.end_s)
        return out


@dataclass(frozen=True)
class SweepDesign:
    stressor: str
    param: str
    values: tuple[Any, ...]
    duration_s: float
    rest_s: float
    params: dict[str, Any] = field(default_factory=dict)

    def drafts(self, mode: str) -> list[Draft]:
        out: list[Draft] = []
        t = 0.0
        for value in self.values:
            params = {**self.params, self.param: value}
            out.append(Draft(self.stressor, self.duration_s, params, t, f"{self.param}={value}"))
            t = round(t + self.duration_s + self.rest_s, 6)
        return out


Design = RandomDesign | SweepDesign
