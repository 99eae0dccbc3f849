"""The run directory: the one home of its layout, its writer and its reader.

- `core.rundir.layout`: file names, the annotation columns, default runs/models directories.
- `core.rundir.write`: atomic writes, the owner lock, `RunDirectoryWriter` (a recorded run's files).
- `core.rundir.read`: `load_run(path) -> RunBundle`, the one reader (pandas is loaded only there).

Nothing is imported here: the runner, recovery and the reader each pay only for what they use.
"""
