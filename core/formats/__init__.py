"""Other tools' formats in and out: the seed project's files and sysstat (`sar`) data files.

- `core.formats.imported`: the one writer of an imported run bundle (dataset columns from the
  data dictionary, annotations, schedule, run.json with its `source`).
- `core.formats.lines`: `FILE:LINE: reason` problems, fatal or skipped with a count.
- `core.formats.seed`: the seed project's dataset, read and written.
- `core.formats.seed_events`: its annotations (both row forms) and schedule.json.
- `core.formats.sar`: a sysstat data file read through `sadf -j`.
"""
