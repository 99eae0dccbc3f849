"""The timeline editor: the profile's events as a table and a bar, checked as you type.

Every change goes to the app's `Draft` (followed through the app's `draft` reactive) and is
announced with a `DraftEdited` message; the problems shown are the engine's own
(`Draft.check`), each pinned to the event row it is about.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Select, Static

from core.profile import EventSpec
from core.schedule import MODES
from tui.data.draft import Draft, event_index
from tui.data.forms import summary
from tui.data.prediction import Forecast, NoForecast, forecast_draft
from tui.data.units import fmt_number
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.event_form import EventDialog
from tui.dialogs.generate import GenerateDialog
from tui.dialogs.prediction import PredictionDialog
from tui.dialogs.probes import ProbesDialog
from tui.messages import DraftEdited, EventChanged
from tui.screens.editor_files import EditorFiles
from tui.session import Session
from tui.widgets.event_strip import STRESSOR_STYLE
from tui.widgets.fitted_footer import FittedFooter
from tui.widgets.status_bar import StatusBar
from tui.widgets.timeline_bar import TimelineBar

SETTINGS = ("name", "baseline_s", "gap_s", "interval_s")


class EditorScreen(EditorFiles):
    """Edit the loaded profile; `r` (everywhere) runs it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add"),
        Binding("enter", "edit", "Edit", show=False),
        Binding("c", "duplicate", "Dup"),
        Binding("delete,x", "delete", "Del"),
        Binding("shift+up,K", "move(-1)", "Up", show=False),
        Binding("shift+down,J", "move(1)", "Down", show=False),
        Binding("m", "toggle_mode", "Mode", show=False),
        Binding("g", "generate", "Generate"),
        Binding("t", "probes", "Probes", tooltip="Probes and steady-state tolerances"),
        Binding("p", "predict", "Predict"),
        Binding("X", "expand", "Expand", show=False),
        Binding("ctrl+s", "save", "Save"),
        Binding("S", "save_as", "Save as", show=False),
        Binding("escape", "app.show('dashboard')", "Dashboard"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(id="editor")
        self.session = session
        self.draft = Draft()
        """The app's draft (followed through its `draft` reactive), edited in place."""
        self._loading = False

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="settings"):
            yield Label("name", classes="set-label")
            yield Input(id="set-name", compact=True, classes="set-input -wide")
            yield Label("mode", classes="set-label")
            yield Select([(m, m) for m in MODES], id="set-mode", allow_blank=False, compact=True)
            for key, label in (
                ("baseline_s", "baseline"),
                ("gap_s", "gap"),
                ("interval_s", "every"),
            ):
                yield Label(label, classes="set-label")
                yield Input(id=f"set-{key}", compact=True, classes="set-input", type="number")
        yield TimelineBar(id="timeline")
        yield Label("", id="gen-info")
        table: DataTable[str | Text] = DataTable(id="events", cursor_type="row", zebra_stripes=True)
        yield table
        with VerticalScroll(id="problems-box"):
            yield Static("", id="problems")
        yield FittedFooter()

    def on_mount(self) -> None:
        table = self.query_one("#events", DataTable)
        for key in ("n", "id", "stressor", "start", "dur", "params", "label"):
            table.add_column("#" if key == "n" else key, key=key)
        self.watch(self.app, "draft", self._draft_replaced)  # init: loads the draft now
        self.session.subscribe(self)
        table.focus()

    def on_unmount(self) -> None:
        self.session.unsubscribe(self)

    def _draft_replaced(self, draft: Draft) -> None:
        self.draft = draft
        self.load_draft()

    def on_screen_resume(self) -> None:
        self.load_draft()

    # ---- showing the draft ------------------------------------------------------------
    def load_draft(self) -> None:
        """Fill every field from the app's draft."""
        draft = self.draft
        self._loading = True
        try:
            values = {
                "name": draft.name,
                "baseline_s": fmt_number(draft.baseline_s),
                "gap_s": fmt_number(draft.gap_s),
                "interval_s": fmt_number(draft.interval_s),
            }
            for name, value in values.items():
                field = self.query_one(f"#set-{name}", Input)
                if field.value != value:
                    field.value = value
            mode = self.query_one("#set-mode", Select)
            if mode.value != draft.mode:
                mode.value = draft.mode
        finally:
            self.call_after_refresh(self._done_loading)
        self.show_events()

    def _done_loading(self) -> None:
        self._loading = False

    def show_events(self, select: int | None = None) -> None:
        draft = self.draft
        table = self.query_one("#events", DataTable)
        cursor = table.cursor_row if select is None else select
        checked = draft.check(self.session.out_parent)
        events, schedule, problems = list(checked.events), checked.schedule, checked.problems
        bad_rows = {i for p in problems if (i := event_index(p)) is not None}
        running = self._running_ids()
        table.clear()
        for index, spec in enumerate(events):
            eid = schedule.events[index].id if schedule is not None else f"e{index + 1:02d}"
            start = (
                fmt_number(schedule.events[index].start_s)
                if schedule is not None
                else fmt_number(spec.start_s)
            )
            mark = "▶" if eid in running else ("!" if index in bad_rows else " ")
            style = "bold red" if index in bad_rows else ""
            table.add_row(
                Text(f"{mark}{index + 1}", style="bold green" if eid in running else style),
                eid,
                Text(spec.stressor, style=STRESSOR_STYLE.get(spec.stressor, "")),
                start,
                fmt_number(spec.duration_s),
                summary(spec.stressor, spec.params),
                spec.label,
                key=str(index),
            )
        if events:
            table.move_cursor(row=min(max(cursor, 0), len(events) - 1))
        bar = self.query_one(TimelineBar)
        bar.schedule = schedule
        bar.selected = table.cursor_row if events else None
        bar.running = frozenset(running)
        self._show_generate_info(schedule is not None)
        text = Text()
        if problems:
            where = draft.source or "<unsaved profile>"
            for problem in problems:
                text.append("✗ ", "bold red")
                text.append(problem.format(where) + "\n")
        else:
            total = fmt_number(schedule.total_s) if schedule is not None else "?"
            text.append("✓ ", "bold green")
            text.append(f"valid: {len(events)} event(s), {total} s in all", "green")
            if draft.probes or draft.tolerances:
                n, k = len(draft.probes), len(draft.tolerances)
                text.append(f"; {n} probe(s), {k} tolerance(s) (t)", "green")
            if draft.dirty:
                text.append("  (unsaved: ctrl+s saves)", "yellow")
        self.query_one("#problems", Static).update(text)
        self.query_one("#problems-box").set_class(bool(problems), "-bad")

    def _show_generate_info(self, ok: bool) -> None:
        info = self.query_one("#gen-info", Label)
        generate = self.draft.generate
        info.display = generate is not None
        if generate is not None:
            design = generate.get("design", "random")
            seed = generate.get("seed")
            extra = f" seed {seed}" if seed is not None else ""
            info.update(
                f"generated from [generate] ({design}{extra}): g changes it, "
                "X writes it out as editable events"
            )

    def _running_ids(self) -> set[str]:
        """The recorded run's planned events running now (ad-hoc ones are not the plan's)."""
        return {s.event.id for s in self.session.active_events() if not s.adhoc}

    def on_event_changed(self, message: EventChanged) -> None:
        if self.is_current and message.serial == self.session.serial:
            self.show_events()

    # ---- settings --------------------------------------------------------------------------
    @on(Input.Changed, ".set-input")
    def _setting_changed(self, event: Input.Changed) -> None:
        if self._loading:
            return
        name = (event.input.id or "").removeprefix("set-")
        draft = self.draft
        if name == "name":
            if event.value == draft.name:
                return
            draft.name = event.value
        else:
            try:
                value = float(event.value)
            except ValueError:
                return
            if getattr(draft, name) == value:
                return
            setattr(draft, name, value)
        draft.touch()
        self._changed()

    @on(Select.Changed, "#set-mode")
    def _mode_changed(self, event: Select.Changed) -> None:
        if self._loading or event.value == self.draft.mode or event.value is Select.NULL:
            return
        self.draft.mode = str(event.value)
        self.draft.touch()
        self._changed()

    @on(DataTable.RowHighlighted, "#events")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one(TimelineBar).selected = event.cursor_row

    @on(DataTable.RowSelected, "#events")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    # ---- editing ----------------------------------------------------------------------------
    def _cursor(self) -> int | None:
        table = self.query_one("#events", DataTable)
        return table.cursor_row if table.row_count else None

    def _editable(self) -> bool:
        if self.draft.generate is not None:
            self.notify(
                "these events are generated from [generate]: press X to write them out "
                "as events you can edit, or g to change the design",
                severity="warning",
            )
            return False
        return True

    def _changed(self, select: int | None = None) -> None:
        """The draft was edited: tell the app (its name on the status bar), show the verdict."""
        self.post_message(DraftEdited())
        self.show_events(select)

    def action_add(self) -> None:
        if not self._editable():
            return
        at = self._cursor()
        base = self.draft.events[at] if at is not None else None
        self.app.push_screen(
            EventDialog(base, "Add an event", self.draft.mode, self._profile_dir()),
            lambda spec: self._added(spec, at),
        )

    def _added(self, spec: EventSpec | None, at: int | None) -> None:
        if spec is not None:
            index = self.draft.add(spec, None if at is None else at + 1)
            self._changed(index)

    def action_edit(self) -> None:
        at = self._cursor()
        if at is None or not self._editable():
            return
        self.app.push_screen(
            EventDialog(
                self.draft.events[at], f"Edit event {at + 1}", self.draft.mode, self._profile_dir()
            ),
            lambda spec: self._edited(spec, at),
        )

    def _edited(self, spec: EventSpec | None, at: int) -> None:
        if spec is not None:
            self.draft.replace_event(at, spec)
            self._changed(at)

    def action_duplicate(self) -> None:
        at = self._cursor()
        if at is not None and self._editable():
            self._changed(self.draft.duplicate(at))

    def action_delete(self) -> None:
        at = self._cursor()
        if at is not None and self._editable():
            self.draft.delete(at)
            self._changed(at)

    def action_move(self, delta: int) -> None:
        at = self._cursor()
        if at is not None and self._editable():
            self._changed(self.draft.move(at, delta))

    def action_toggle_mode(self) -> None:
        self.draft.mode = "parallel" if self.draft.mode == "sequential" else "sequential"
        self.draft.touch()
        self.post_message(DraftEdited())
        self.load_draft()

    def action_generate(self) -> None:
        self.app.push_screen(GenerateDialog(self.draft.generate), self._generated)

    def _generated(self, table: dict[str, Any] | None) -> None:
        if table is None:
            return
        if self.draft.events and self.draft.generate is None:
            self.app.push_screen(
                ConfirmDialog("Replace the events with a generated design?", "Replace", "Keep"),
                lambda yes: self._apply_generate(table) if yes else None,
            )
            return
        self._apply_generate(table)

    def _apply_generate(self, table: dict[str, Any]) -> None:
        self.draft.generate = table
        self.draft.events = []
        self.draft.touch()
        self._changed(0)

    def action_expand(self) -> None:
        if self.draft.generate is None:
            self.notify("nothing to expand: the events are already written out")
            return
        self.draft.expand()
        self._changed(0)

    def _profile_dir(self) -> Path | None:
        """Where the profile's relative paths (shape traces) are read from."""
        return self.draft.source.parent if self.draft.source is not None else None

    def action_probes(self) -> None:
        self.app.push_screen(ProbesDialog(self.draft, self.session.out_parent))

    # ---- prediction ---------------------------------------------------------------------
    def action_predict(self) -> None:
        draft = self.draft
        if not draft.events and draft.generate is None:
            self.notify("nothing to predict: add events first", severity="warning")
            return
        # a copy: the worker resolves it while the editor may go on changing the draft
        snapshot = replace(draft, events=list(draft.events))
        if draft.generate is not None:
            snapshot.generate = dict(draft.generate)
        self.notify("predicting…", timeout=2)
        self._predict(snapshot, self.session.out_parent)

    @work(thread=True, exclusive=True, exit_on_error=False, group="predict")
    def _predict(self, draft: Draft, scratch: Path) -> None:
        try:
            result = forecast_draft(draft, scratch)
        except NoForecast as why:
            self.app.call_from_thread(
                self.notify, why.text, severity=why.severity, timeout=why.timeout
            )
            return
        self.app.call_from_thread(self._show_forecast, result)

    def _show_forecast(self, result: Forecast) -> None:
        self.app.push_screen(PredictionDialog(result))
