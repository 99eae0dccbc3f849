"""Experiment profiles (TOML): read and check them, place their events, write them back.

The profile keys are a contract (README, "Profiles"): users' files, the TUI's
timeline editor and `twin --batch` all rely on them. Validation reports every
problem at once, each as `FILE:LINE: key.path: reason`, where LINE is the line
of the TOML that holds the key. `ProfileError` carries the list; the CLI prints
one per line and exits 2.

The package, by concern:
- `spec`: the types (`Profile`, `EventSpec`, `Problem`), keys and defaults;
- `toml_lines`: `KeyLines`, which line of the text writes a key;
- `check`: `Checker`, one check per value, every message worded once;
- `read`: the readers (`load_profile`, `parse_profile`, `profile_from_data`,
  `check_profile_data`, `validate_profile_data`), one per top-level table;
- `read_generate` and `designs`: the `[generate]` table and the seeded designs it makes;
- `placement`: events on the run clock, the one schedule builder (`resolve_schedule`);
- `toml_write`: `profile_to_data`, `profile_to_toml`.

Stressor kinds, parameters and safety come from the stressor table (`core.stressors`).
"""

from __future__ import annotations

from core.profile.placement import (
    build_schedule,
    event_ids,
    event_specs,
    expand_generate,
    resolve_schedule,
)
from core.profile.read import (
    check_profile_data,
    load_profile,
    parse_profile,
    profile_from_data,
    validate_profile_data,
)
from core.profile.spec import (
    DEFAULT_BASELINE_S,
    DEFAULT_GAP_S,
    DEFAULT_INTERVAL_S,
    DEFAULT_RANDOM_COUNT,
    DEFAULT_RANDOM_DURATION,
    DEFAULT_SCRATCH_DIR,
    DEFAULT_SWEEP_DURATION_S,
    EVENT_KEYS,
    INTERVAL_RANGE,
    MAX_SECONDS,
    RANDOM_KEYS,
    RUN_KEYS,
    SAMPLING_KEYS,
    SWEEP_KEYS,
    TOP_KEYS,
    EventSpec,
    KeyPath,
    Placed,
    Problem,
    Profile,
    format_key,
)
from core.profile.toml_lines import KeyLines
from core.profile.toml_write import profile_to_data, profile_to_toml

__all__ = [
    "DEFAULT_BASELINE_S",
    "DEFAULT_GAP_S",
    "DEFAULT_INTERVAL_S",
    "DEFAULT_RANDOM_COUNT",
    "DEFAULT_RANDOM_DURATION",
    "DEFAULT_SCRATCH_DIR",
    "DEFAULT_SWEEP_DURATION_S",
    "EVENT_KEYS",
    "INTERVAL_RANGE",
    "MAX_SECONDS",
    "RANDOM_KEYS",
    "RUN_KEYS",
    "SAMPLING_KEYS",
    "SWEEP_KEYS",
    "TOP_KEYS",
    "EventSpec",
    "KeyLines",
    "KeyPath",
    "Placed",
    "Problem",
    "Profile",
    "build_schedule",
    "check_profile_data",
    "event_ids",
    "event_specs",
    "expand_generate",
    "format_key",
    "load_profile",
    "parse_profile",
    "profile_from_data",
    "profile_to_data",
    "profile_to_toml",
    "resolve_schedule",
    "validate_profile_data",
]
