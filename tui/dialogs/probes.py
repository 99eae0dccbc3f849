"""The profile's `[[probes]]` and `[steady_state]`, edited from the timeline editor (`t`).

`ProbesDialog` lists the probes and the tolerances and edits the app's draft in place (each
change announced with `DraftEdited`, like the editor's own edits); the engine's problems about
probes and the hypothesis show under the lists. `ProbeDialog` and `ToleranceDialog` are the
forms of one entry, checked by the engine as they are submitted (`tui.data.probe_forms`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Input, Label, Select, Static

from core.probes import KINDS, ProbeSpec, Tolerance
from core.probes.spec import TARGET_KEY
from core.profile.read_probes import machine_metric_columns
from tui.data.draft import Draft, probes_problem
from tui.data.probe_forms import (
    KIND_HELP,
    TARGET_HELP,
    parse_probe,
    parse_tolerance,
    probe_texts,
    tolerance_texts,
)
from tui.dialogs.form import FormDialog, form_buttons, form_row
from tui.messages import DraftEdited
from tui.widgets.fitted_footer import FittedFooter


class ProbeDialog(FormDialog[ProbeSpec]):
    """One probe: name, kind, its target (url, address or argv), every_s, timeout_s."""

    PROBLEM_ID = "probe-problem"

    def __init__(self, probe: ProbeSpec | None, title: str) -> None:
        super().__init__(classes="dialog-screen")
        self.probe = probe or ProbeSpec("api", "http", url="http://127.0.0.1:8080/health")
        self.title_text = title

    def compose(self) -> ComposeResult:
        texts = probe_texts(self.probe)
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-question")
            yield from form_row("name", Input(texts["name"], id="p-name"), "[a-z][a-z0-9_]*")
            kinds = Select([(k, k) for k in KINDS], value=self.probe.kind, allow_blank=False)
            kinds.id = "p-kind"
            yield from form_row("kind", kinds, KIND_HELP[self.probe.kind], help_id="p-kind-help")
            with Horizontal(classes="form-row", id="p-target-row"):
                yield Label("url", classes="form-label", id="p-target-label")
                yield Input(texts["target"], id="p-target", compact=True, classes="-wide")
            yield Label("", id="p-target-help", classes="form-help target-help")
            yield from form_row("every_s", Input(texts["every_s"], id="p-every_s"), "0.01 to 60 s")
            yield from form_row("timeout_s", Input(texts["timeout_s"], id="p-timeout_s"), "seconds")
            expect = Input(texts["expect_status"], id="p-expect_status", placeholder="2xx/3xx")
            yield from form_row("expect_status", expect, "http only: the one status that succeeds")
            yield Label("", id="probe-problem")
            yield from form_buttons()

    def on_mount(self) -> None:
        self._show_kind(self.probe.kind)
        self.query_one("#p-name", Input).focus()

    @on(Select.Changed, "#p-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self._show_kind(str(event.value))

    def _show_kind(self, kind: str) -> None:
        key = TARGET_KEY.get(kind)
        self.query_one("#p-target-row").display = key is not None
        help_ = self.query_one("#p-target-help", Label)
        help_.display = key is not None
        if key is not None:
            self.query_one("#p-target-label", Label).update(key)
            help_.update(TARGET_HELP[key])
        self.query_one("#p-kind-help", Label).update(KIND_HELP[kind])
        self.query_one("#p-expect_status").parent.display = kind == "http"  # type: ignore[union-attr]

    def collect(self) -> tuple[ProbeSpec | None, str]:
        kind = str(self.query_one("#p-kind", Select).value)
        texts = {
            name: self.query_one(f"#p-{name}", Input).value
            for name in ("name", "target", "every_s", "timeout_s", "expect_status")
        }
        probe, problems = parse_probe(kind, texts)
        return probe, "\n".join(problems)


class ToleranceDialog(FormDialog[Tolerance]):
    """One tolerance: a dataset column and its max and/or min."""

    PROBLEM_ID = "tolerance-problem"

    def __init__(self, tolerance: Tolerance | None, probes: list[ProbeSpec]) -> None:
        super().__init__(classes="dialog-screen")
        self.tolerance = tolerance
        self.probes = probes

    def compose(self) -> ComposeResult:
        texts = tolerance_texts(self.tolerance)
        columns = [c.name for p in self.probes for c in p.columns] + list(machine_metric_columns())
        title = "Edit the tolerance" if self.tolerance else "Add a tolerance"
        with Vertical(classes="dialog"):
            yield Label(title, classes="dialog-question")
            column = Input(
                texts["column"],
                id="t-column",
                suggester=SuggestFromList(columns),
                placeholder=columns[0] if columns else "cpu_percent",
            )
            yield from form_row("column", column, "a dataset column (→ completes)")
            yield from form_row("max", Input(texts["max"], id="t-max"), "a deviation: above it")
            yield from form_row("min", Input(texts["min"], id="t-min"), "a deviation: below it")
            yield Label("", id="tolerance-problem")
            yield from form_buttons()

    def on_mount(self) -> None:
        self.query_one("#t-column", Input).focus()

    def collect(self) -> tuple[Tolerance | None, str]:
        texts = {k: self.query_one(f"#t-{k}", Input).value for k in ("column", "max", "min")}
        tolerance, problems = parse_tolerance(texts, self.probes)
        return tolerance, "\n".join(problems)


class ProbesDialog(ModalScreen[None]):
    """The draft's probes and steady-state hypothesis; edits go to the draft at once."""

    DEFAULT_CSS = """
    ProbesDialog .probes-dialog { height: 90%; }
    ProbesDialog DataTable { height: auto; max-height: 7; margin-bottom: 1; }
    ProbesDialog #probe-issues { height: auto; max-height: 5; }
    ProbesDialog .section { color: $text-muted; }
    ProbeDialog #p-target { width: 1fr; }
    ProbeDialog .target-help { margin-bottom: 1; padding-left: 18; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit", tooltip="Edit the row (enter too)"),
        Binding("delete,x", "delete", "Del"),
        Binding("b", "toggle_abort", "Abort"),
        Binding("tab", "app.focus_next", "Probes/tolerances"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, draft: Draft, scratch_dir: Path | None) -> None:
        super().__init__(classes="dialog-screen")
        self.draft = draft
        self.scratch_dir = scratch_dir

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog probes-dialog"):
            yield Label("Probes and steady state", classes="dialog-question")
            yield Label("probes (how well the node serves)", classes="section")
            yield DataTable(id="probe-list", cursor_type="row")
            yield Label("tolerances (a sample outside is a deviation)", classes="section")
            yield DataTable(id="tolerance-list", cursor_type="row")
            yield Label("", id="abort")
            yield Static("", id="probe-issues")
        yield FittedFooter()

    def on_mount(self) -> None:
        probes = self.query_one("#probe-list", DataTable)
        for key in ("name", "kind", "target", "every", "timeout"):
            probes.add_column(key, key=key)
        tolerances = self.query_one("#tolerance-list", DataTable)
        for key in ("column", "min", "max"):
            tolerances.add_column(key, key=key)
        self.show()
        probes.focus()

    def show(self) -> None:
        draft = self.draft
        probes = self.query_one("#probe-list", DataTable)
        keep = probes.cursor_row
        probes.clear()
        for p in draft.probes:
            target = p.target() if p.kind in TARGET_KEY else "-"
            probes.add_row(p.name, p.kind, target, f"{p.every_s:g}", f"{p.timeout_s:g}")
        if draft.probes:
            probes.move_cursor(row=min(keep, len(draft.probes) - 1))
        tolerances = self.query_one("#tolerance-list", DataTable)
        keep = tolerances.cursor_row
        tolerances.clear()
        for t in draft.tolerances:
            low = "-" if t.min is None else f"{t.min:g}"
            high = "-" if t.max is None else f"{t.max:g}"
            tolerances.add_row(t.column, low, high, key=t.column)
        if draft.tolerances:
            tolerances.move_cursor(row=min(keep, len(draft.tolerances) - 1))
        abort = draft.steady_state is not None and draft.steady_state.abort
        self.query_one("#abort", Label).update(
            "abort = true: the first deviation stops the run (b toggles)"
            if abort
            else "abort = false: the run goes on after a deviation (b toggles)"
        )
        problems = [p for p in draft.problems(self.scratch_dir) if probes_problem(p)]
        text = Text()
        for problem in problems:
            text.append("✗ ", "bold red")
            text.append(problem.format(draft.source or "<unsaved profile>") + "\n")
        self.query_one("#probe-issues", Static).update(text)

    def _changed(self) -> None:
        self.post_message(DraftEdited())
        self.show()

    def _on_tolerances(self) -> bool:
        return self.focused is self.query_one("#tolerance-list")

    def _row(self, table_id: str, count: int) -> int | None:
        table = self.query_one(table_id, DataTable)
        return table.cursor_row if count and 0 <= table.cursor_row < count else None

    def action_add(self) -> None:
        if self._on_tolerances():
            self._edit_tolerance(None)
            return
        self.app.push_screen(ProbeDialog(None, "Add a probe"), lambda p: self._set_probe(None, p))

    def action_edit(self) -> None:
        if self._on_tolerances():
            at = self._row("#tolerance-list", len(self.draft.tolerances))
            if at is not None:
                self._edit_tolerance(self.draft.tolerances[at])
            return
        at = self._row("#probe-list", len(self.draft.probes))
        if at is not None:
            probe = self.draft.probes[at]
            dialog = ProbeDialog(probe, f"Edit probe {probe.name}")
            self.app.push_screen(dialog, lambda p: self._set_probe(at, p))

    def _set_probe(self, at: int | None, probe: ProbeSpec | None) -> None:
        if probe is not None:
            self.draft.set_probe(at, probe)
            self._changed()

    def _edit_tolerance(self, old: Tolerance | None) -> None:
        def done(tolerance: Tolerance | None) -> None:
            if tolerance is not None:
                self.draft.set_tolerance(old.column if old else None, tolerance)
                self._changed()

        self.app.push_screen(ToleranceDialog(old, list(self.draft.probes)), done)

    def action_delete(self) -> None:
        if self._on_tolerances():
            at = self._row("#tolerance-list", len(self.draft.tolerances))
            if at is not None:
                self.draft.delete_tolerance(self.draft.tolerances[at].column)
                self._changed()
            return
        at = self._row("#probe-list", len(self.draft.probes))
        if at is not None:
            self.draft.delete_probe(at)
            self._changed()

    def action_toggle_abort(self) -> None:
        spec = self.draft.steady_state
        self.draft.set_abort(not (spec is not None and spec.abort))
        self._changed()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def action_close(self) -> None:
        self.dismiss(None)
