"""Snapshot tests (pytest-textual-snapshot) of the dashboard and the editor at 80x24.

Deterministic: no engine runs (`live=False`); a fixed set of fake samples on a
fixed clock goes in through the session's listener methods, as the engine's callbacks do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_kit import fake_samples

from core.runner import EventState
from core.schedule import Event
from tui.app import TwinApp, make_app

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "profiles" / "smoke.toml"
EVENTS = {k: ("e01",) for k in range(30, 45)} | {k: ("e02",) for k in range(52, 60)}


def snapshot_app(tmp_path: Path) -> TwinApp:
    return make_app(SMOKE, tmp_path / "runs", live=False, recover=False)


async def feed(pilot: Any) -> None:
    app: TwinApp = pilot.app
    for eid, kind, start in (("e01", "cpu", 30.0), ("e02", "memory", 52.0)):
        event = Event(eid, kind, {}, start, 10.0)
        app.session.on_event(EventState(event, status="completed"))
    for sample in fake_samples(70, EVENTS):
        app.session.on_sample(sample)
    await pilot.pause()
    await pilot.pause()


def test_dashboard_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24), run_before=feed)


def test_editor_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        snapshot_app(tmp_path), terminal_size=(80, 24), press=["e"], run_before=feed
    )
