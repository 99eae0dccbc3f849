"""Snapshot tests (pytest-textual-snapshot) of the dashboard (80x24, 120x40) and the editor.

Deterministic: no engine runs (`live=False`); a fixed set of fake samples on a
fixed clock goes in through the session's listener methods, as the engine's callbacks do.
The dashboard is caught while a CPU event (e01) and a memory event (e02) run, overlapping
(e02 started last), after an earlier disk event: the strip colours each by its stressor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tui_kit import fake_samples

from core.runner import EventState
from core.schedule import Event
from tui.app import TwinApp, make_app

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "profiles" / "smoke.toml"
EVENTS = (
    {k: ("e00",) for k in range(10, 20)}
    | {k: ("e01",) for k in range(40, 71)}
    | {k: ("e01", "e02") for k in range(55, 71)}
)


def snapshot_app(tmp_path: Path) -> TwinApp:
    return make_app(SMOKE, tmp_path / "runs", live=False, recover=False)


async def feed(pilot: Any) -> None:
    app: TwinApp = pilot.app
    for eid, kind, start in (("e00", "disk", 10.0), ("e01", "cpu", 40.0), ("e02", "memory", 55.0)):
        event = Event(eid, kind, {}, start, 60.0)
        app.session.on_event(EventState(event, status="running"))
    for sample in fake_samples(70, EVENTS):
        app.session.on_sample(sample)
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_dashboard_snapshot(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=size, run_before=feed)


def test_editor_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        snapshot_app(tmp_path), terminal_size=(80, 24), press=["e"], run_before=feed
    )
