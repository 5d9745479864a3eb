"""The selected runs side by side: four overlaid plots, one legend, and the settings that differ.

Each run keeps its colour and marker for as long as it stays selected (a slot handed out
when it is marked, freed when it is unmarked), so unmarking one run does not repaint the
others. The series are built off the UI thread (reading a long batch log takes time);
:meth:`ComparePanel.show_runs` only draws. With no run marked the plots are hidden (the
table takes the room) and the panel is one line saying how to mark runs (the screen's words,
made from its key bindings). The settings are laid out at the panel's width in whole items:
where they would overflow their lines, the shared ones end in "… +N more" rather than be cut.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.reactive import reactive
from textual.widgets import Static

from mnist_tui.errors import one_line
from mnist_tui.tui.widgets.compare_plot import ComparePlot, style_of
from mnist_tui.workspace.compare import METRICS, Series, differing_settings
from mnist_tui.workspace.index import RunSummary

LABELS = {
    "dataset": "data",
    "train_size": "train samples",
    "recipe": "recipe",
    "batch_size": "batch",
    "lr": "lr",
    "schedule": "schedule",
    "conv_dropout": "conv dropout",
    "fc_dropout": "fc dropout",
    "precision": "precision",
    "seed": "seed",
    "world_size": "world",
    "device": "device",
    "tests_per_epoch": "tests/epoch",
    "epochs_length": "epochs",
    "dropout": "dropout",  # both rates, where they are equal run by run (as the table shows them)
}
# the max-heights of #compare-legend and #compare-settings in workspace.tcss, wide and -short
LEGEND_LINES, SHORT_LEGEND_LINES = 3, 1
SETTINGS_LINES, SHORT_SETTINGS_LINES = 4, 2


def _markup(slot: int) -> str:
    (r, g, b), marker = style_of(slot)
    return f"[bold rgb({r},{g},{b})]{marker}[/]"


def _value(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"  # "train samples 60,000", as the table and the headless lines write it
    return format(value, "g") if isinstance(value, float) else str(value)


class ComparePanel(Vertical):
    """``show_runs(runs)`` with ``runs`` = [(summary, {metric: Series})] in marking order."""

    error_view: reactive[bool] = reactive(False, init=False)  # test error % instead of accuracy

    def __init__(self, hint: str = "", **kwargs) -> None:
        """``hint``: the line shown while no run is marked (how to mark one)."""
        super().__init__(**kwargs)
        self.hint = hint
        self.slots: dict[str, int] = {}
        self.runs: list[tuple[RunSummary, dict[str, Series]]] = []
        self.filtered_out: set[str] = set()  # marked runs the table's filter hides

    def compose(self) -> ComposeResult:
        with Grid(id="compare-plots"):
            yield ComparePlot(METRICS["acc"], id="plot-acc")
            yield ComparePlot(METRICS["test_loss"], id="plot-test_loss")
            yield ComparePlot(METRICS["train_loss"], id="plot-train_loss")
            yield ComparePlot(METRICS["batch_loss"], xlabel="epochs", markers=False, id="plot-batch_loss")
        yield Static(id="compare-legend")
        yield Static(id="compare-settings")

    def on_mount(self) -> None:
        self.border_title = "Compare"
        self.add_class("-empty")
        self._show_text()

    def slot_of(self, name: str) -> int:
        if name not in self.slots:
            used = set(self.slots.values())
            self.slots[name] = next(i for i in range(len(used) + 1) if i not in used)
        return self.slots[name]

    def keep_slots(self, names: tuple[str, ...]) -> dict[str, str]:
        """Free the slots of runs no longer marked; hand out slots in marking order. Returns each
        marked run's marker in its colour as Rich markup (the table's mark column shows it)."""
        self.slots = {n: s for n, s in self.slots.items() if n in names}
        for name in names:
            self.slot_of(name)
        return {name: _markup(slot) for name, slot in self.slots.items()}

    def show_filtered_out(self, names: set[str]) -> None:
        """Marked runs the table's filter hides: still compared, and the legend says they are hidden."""
        if names != self.filtered_out:
            self.filtered_out = names
            self._show_text()

    def show_runs(self, runs: list[tuple[RunSummary, dict[str, Series]]]) -> None:
        self.runs = runs
        self.keep_slots(tuple(s.name for s, _ in runs))
        self._draw()

    def watch_error_view(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._show_text()  # the settings are laid out at the width

    def _draw(self) -> None:
        """Hidden while no run is marked: four empty plotext plots cost ~200 ms of the first
        frame with 500 rows on a loaded 2-core machine, and the table gets the room instead."""
        self.set_class(not self.runs, "-empty")
        if not self.runs:
            self._show_text()
            return
        accuracy = "error" if self.error_view else "acc"
        for metric in ("acc", "test_loss", "train_loss", "batch_loss"):
            key = accuracy if metric == "acc" else metric
            series = [(self.slots[s.name], curves[key]) for s, curves in self.runs if key in curves]
            self.query_one(f"#plot-{metric}", ComparePlot).show(series, METRICS[key])
        self._show_text()

    def _show_text(self) -> None:
        self.query_one("#compare-legend", Static).update(self.legend_text(self.content_size.width))
        lines = SHORT_SETTINGS_LINES if self.has_class("-short") else SETTINGS_LINES
        self.query_one("#compare-settings", Static).update(self.settings_text(self.content_size.width, lines))

    def legend_text(self, width: int = 0) -> Text:
        """Each run's marker and name, in whole items at ``width`` (a long sweep's names broke
        between a marker and its name, or inside a name), the rest counted as "… +N more"."""
        if not self.runs:
            return Text(self.hint, style="dim")
        items = []
        for summary, _ in self.runs:
            color, marker = style_of(self.slots[summary.name])
            item = Text(f"{marker} ", end="").append(one_line(summary.name))
            item.stylize(f"bold rgb({color[0]},{color[1]},{color[2]})", 0, len(marker))
            if summary.name in self.filtered_out:
                item.append(" (filtered out)", style="dim")
            if width and item.cell_len > width:
                item.truncate(width, overflow="ellipsis")
            items.append(item)
        lines = SHORT_LEGEND_LINES if self.has_class("-short") else LEGEND_LINES
        return Text("\n").join(_fit(Text(), items, "   ", width, lines))

    def settings_text(self, width: int = 0, lines: int = 0) -> Text:
        """The settings that differ, run by run in the legend's colours, then the shared ones.
        ``width`` and ``lines`` (0: no limit) bound the layout: the differing settings come first,
        and what does not fit ends in "… +N more" (never a setting cut in two)."""
        summaries = [s for s, _ in self.runs]
        if len(summaries) < 2:
            return Text()
        differ, same = (_merge_dropout(part) for part in differing_settings(summaries))
        items = []
        for name, values in differ.items():
            item = Text(f"{LABELS.get(name, name)}")
            for summary, value in zip(summaries, values, strict=True):
                color, _ = style_of(self.slots[summary.name])
                item.append(f" {_value(value)}", style=f"rgb({color[0]},{color[1]},{color[2]})")
            items.append(item)
        if items:
            first = _fit(Text("differ: ", style="bold"), items, "   ", width, lines or len(items))
        else:
            first = [Text("the runs share every setting", style="bold")]
        shared = [Text(f"{LABELS.get(k, k)} {_value(v)}", style="dim") for k, v in same.items()]
        room = lines - len(first) if lines else len(shared)
        rest = _fit(Text("same: ", style="dim"), shared, ", ", width, room) if shared and room > 0 else []
        return Text("\n").join(first + rest)


def _merge_dropout(settings: dict[str, Any]) -> dict[str, Any]:
    """conv and fc dropout as one "dropout" where they are equal (run by run), in conv's place."""
    if settings.get("conv_dropout", 0) != settings.get("fc_dropout", 1):
        return settings
    return {("dropout" if k == "conv_dropout" else k): v for k, v in settings.items() if k != "fc_dropout"}


def _fit(prefix: Text, items: list[Text], sep: str, width: int, lines: int) -> list[Text]:
    """``prefix`` and the items, packed into lines of ``width`` (0: one line), breaking only between
    items; the most items that fit in ``lines``, the rest counted in a "… +N more" tail."""
    for shown in range(len(items), -1, -1):
        tail = [Text(f"… +{len(items) - shown} more", style="italic")] if shown < len(items) else []
        packed = [prefix.copy()]
        for i, item in enumerate(items[:shown] + tail):
            gap = sep if i < shown else " "
            ends = cell_len(gap.rstrip())  # the "," a line ends in when the next item breaks it
            if i and width and packed[-1].cell_len + cell_len(gap) + item.cell_len + ends > width:
                packed[-1].append(gap.rstrip(), style=item.style)  # "world 1," ends the line
                packed.append(item.copy())
            else:
                packed[-1].append_text(Text(gap) if i else Text()).append_text(item)
        if len(packed) <= lines:
            return packed
    return []
