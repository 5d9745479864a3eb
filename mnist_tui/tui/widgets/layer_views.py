"""The model view's layer statistics: one metric per epoch and layer, and weight histograms as heat bands.

Fed on the UI thread with :class:`LayerStatsRecord` rows (recorded at each epoch end, and in
``layers.jsonl`` for replay and follow). The three metric plots share one legend line
(:func:`layer_legend`), drawn under them: in a plot it would cover its data, and three plots
side by side at 80 columns leave too little width for a legend each.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from mnist_tui.insight.layer_records import LAYERS, LayerStatsRecord
from mnist_tui.insight.layer_stats import histogram_band, series
from mnist_tui.insight.render import heat_band, side_by_side
from mnist_tui.tui.palette import BLUISH_GREEN, ORANGE, REDDISH_PURPLE, SKY_BLUE, rgb
from mnist_tui.tui.widgets.live_plot import LivePlot
from mnist_tui.tui.widgets.model_view import LaidOut, heading, lines, note
from mnist_tui.tui.widgets.plot_legend import legend_line

# Okabe-Ito colours, and a point marker each so the lines are told apart without colour too
LAYER_COLORS = {"conv1": SKY_BLUE, "conv2": BLUISH_GREEN, "fc1": ORANGE, "fc2": REDDISH_PURPLE}
LAYER_POINTS = {"conv1": "●", "conv2": "■", "fc1": "▲", "fc2": "◆"}


def layer_legend() -> Text:
    """``━●━ conv1  ━■━ conv2 …``: the metric plots' lines, one legend for the three."""
    return legend_line((f"━{LAYER_POINTS[layer]}━", layer, LAYER_COLORS[layer]) for layer in LAYERS)


class LayerMetricPlot(LivePlot):
    """One statistic (weight norm, gradient norm, update/weight ratio) per epoch, a line per layer."""

    def __init__(self, field: str, heading: str, log_scale: bool = False, **kwargs) -> None:
        super().__init__(heading, "", **kwargs)
        self.field, self.log_scale = field, log_scale
        self.records: list[LayerStatsRecord] = []

    def set_records(self, records: Sequence[LayerStatsRecord]) -> None:
        self.records = list(records)
        self.redraw()

    def describe_controls(self) -> list[str]:
        return ["log y"] if self.log_y else []

    def legend_text(self) -> Text:
        """The last epoch's value of each layer, by its marker: where two layers' lines meet
        (conv1's weight norm under fc2's, with their markers on the same cells), the numbers
        still tell them apart. Fewer digits, then no epoch, where the plot is narrow, and a column
        free at its end: three plots at 80 columns ran their numbers into each other."""
        if not self.records:
            return super().legend_text()
        latest = self.records[-1]
        values = {layer: series([latest], layer, self.field)[1] for layer in LAYERS}
        text = Text()
        # the last, "6e-3" for 0.006: at 80×24 one digit still cut fc2's ratio to "◆0.…"
        for digits, prefix in ((3, True), (2, True), (2, False), (1, False), (0, False)):
            text = Text(f"ep {latest.epoch} " if prefix else "", style="dim")
            for layer in LAYERS:
                if values[layer]:
                    text.append(LAYER_POINTS[layer], style=rgb(LAYER_COLORS[layer]))
                    text.append(f"{_number(values[layer][0], digits)} ")
            text.rstrip()
            if text.cell_len < self.size.width:
                break
        return text

    def draw(self, plt) -> None:
        curves = [(layer, *series(self.records, layer, self.field)) for layer in LAYERS]
        curves = [(layer, epochs, values) for layer, epochs, values in curves if epochs]
        every = [v for _, _, values in curves for v in values]
        # a log axis only when every value can go on it (an update ratio of 0: a frozen layer)
        self.set_reactive(LivePlot.log_y, self.log_scale and bool(every) and min(every) > 0)
        if not curves:
            return
        first = min(epochs[0] for _, epochs, _ in curves)
        last = max(epochs[-1] for _, epochs, _ in curves)
        self.set_axes((first, max(last, first + 1)), every, log=self.log_y, integer_x=True)  # whole epochs
        for layer, epochs, values in curves:
            self.series(layer, epochs, self.to_y(values), LAYER_COLORS[layer], points=LAYER_POINTS[layer])


class HistogramBands(LaidOut):
    """Each layer's weight histogram per epoch as a heat band (rows = epochs, newest at the bottom,
    columns = weight value on the layer's range over all epochs; each row scaled to its peak)."""

    MAX_ROWS = 12

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.records: list[LayerStatsRecord] = []

    def set_records(self, records: Sequence[LayerStatsRecord]) -> None:
        self.records = list(records)
        self.rebuild()

    def _band(self, layer: str, cell_width: int) -> list[Text]:
        records = self.records[-self.MAX_ROWS :]
        epochs, band, lo, hi = histogram_band(records, layer)
        title = Text.assemble((f"{layer} weights ", "bold"), (f"{lo:+.2f} … {hi:+.2f}", "dim"))
        lines = [title, *heat_band(band, [str(e) for e in epochs], cell_width=cell_width)]
        if len(self.records) > self.MAX_ROWS:
            lines.append(note(f"(last {self.MAX_ROWS} of {len(self.records)} epochs)"))
        return lines

    def build(self, width: int) -> Text:
        if not self.records:
            return note("weight histograms appear at the end of each epoch (replay: from layers.jsonl)")
        label = len(str(self.records[-1].epoch)) + 1
        cell = 2 if width >= 2 * (label + 48) + 4 else 1
        bands = [self._band(layer, cell) for layer in LAYERS]
        band_width = label + 24 * cell
        if width >= 2 * band_width + 4:
            rows = [side_by_side(bands[0:2], gap=4), [Text("")], side_by_side(bands[2:4], gap=4)]
        else:
            rows = [bands[0], [Text("")], bands[1], [Text("")], bands[2], [Text("")], bands[3]]
        return lines(
            heading("weight distributions over epochs (rows: epochs, columns: weight value; bright = many weights)"),
            *rows,
        )


def _number(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits; 0: the shortest of one digit ("6e-3", "0.2", "40")."""
    if digits:
        return f"{value:.{digits}g}"
    plain, mantissa, exponent = f"{value:.1g}", *f"{value:.0e}".split("e")
    short = f"{mantissa}e{int(exponent)}"
    return short if len(short) < len(plain) else plain
