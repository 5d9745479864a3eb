"""Inside the network (key ``i``): filters, one digit's activations and saliency, layer statistics, embedding.

The screen is given plain inputs and never touches the training model:

- ``model``: a zero-argument callable returning the current weights (a state dict, a module,
  anything :func:`mnist_tui.insight.filters.read_weights` takes, or None before the first epoch),
  or a :class:`mnist_tui.model_snapshot.ModelSnapshot` (or any such object) itself;
- the selected digit: ``image`` (28×28 uint8, or float 0–1 for a drawing), its test ``index``
  (None for a drawing) and ``label`` (None when unknown);
- ``layer_stats``: the :class:`~mnist_tui.insight.layer_records.LayerStatsRecord` s so far;
  ``test_images`` (uint8 (N, 28, 28)) and ``test_labels`` for the embedding.

The app then calls, on the UI thread:

- :meth:`ModelViewScreen.update_model` when the weights changed (an epoch ended, a checkpoint
  was replayed): the filters redraw, the selected digit and the embedding are computed again;
- :meth:`ModelViewScreen.set_selected` when another digit is selected (or drawn);
- :meth:`ModelViewScreen.add_layer_stats` with each new epoch's record (a resumed run's
  earlier ones come as ``layer_stats`` when the screen is made).

Activations, saliency and the PCA run in thread workers on a private CPU copy of the weights;
only the newest request's answer is shown. ``poll_seconds`` re-reads ``model`` on a timer (cheap).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from mnist_tui.insight.activations import DigitInsight
from mnist_tui.insight.embedding import SAMPLE, Embedding
from mnist_tui.insight.filters import Weights
from mnist_tui.insight.layer_records import LayerStatsRecord
from mnist_tui.tui.screens.help import HelpScreen, screen_keys
from mnist_tui.tui.screens.model_view_jobs import compute_digit, compute_embedding, model_source, read_model
from mnist_tui.tui.screens.model_view_text import HELP, HELP_TITLE, digit_caption, embedding_status, title_line
from mnist_tui.tui.screens.once import DismissOnce
from mnist_tui.tui.widgets.embedding_plot import EmbeddingPlot, digit_legend
from mnist_tui.tui.widgets.layer_views import HistogramBands, LayerMetricPlot, layer_legend
from mnist_tui.tui.widgets.model_view import ActivationsView, FiltersView, SaliencyView, ScrollPane

TABS = ("mv-filters", "mv-digit", "mv-layers", "mv-embedding")
TAB_NAMES = ("Filters", "Digit", "Layers", "Embedding")
NO_MODEL_YET = "no model yet: it comes with the run's first weights"


class ModelViewScreen(DismissOnce, ModalScreen[None]):
    """Modal, so the dashboard's own keys do not act on the hidden screens meanwhile."""

    CSS_PATH = "model_view.tcss"

    BINDINGS = [
        Binding("escape,q,i", "close", "Back"),
        Binding("tab", "next_tab(1)", "Next tab"),
        Binding("shift+tab", "next_tab(-1)", "Previous tab"),
        # The modal screen keeps the dashboard's digit keys away, so 1-4 are free for the tabs
        # (their numbers are in the tab labels, so the footer leaves them out)
        *(Binding(str(n + 1), f"tab({n})", f"{name} tab", show=False) for n, name in enumerate(TAB_NAMES)),
        Binding("r", "recompute", "Recompute"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(
        self,
        model: Callable[[], Any] | Any = None,
        image: np.ndarray | None = None,
        index: int | None = None,
        label: int | None = None,
        layer_stats: Sequence[LayerStatsRecord] = (),
        test_images: Any = None,
        test_labels: Any = None,
        embed_sample: int | None = SAMPLE,
        poll_seconds: float | None = None,
        no_model: str = "",
    ) -> None:
        super().__init__()
        self.no_model = no_model  # why no weights will come (a failed run, a replay without a model)
        self.model_source = model_source(model)
        self.image = None if image is None else np.asarray(image)
        self.index, self.label = index, label
        self.records: list[LayerStatsRecord] = sorted(layer_stats, key=lambda r: r.epoch)
        self.test_images, self.test_labels = test_images, test_labels
        self.embed_sample = embed_sample
        self.poll_seconds = poll_seconds
        self.weights: Weights | None = None
        self.model_read = False  # until the first read: "reading the model…", not "no model yet"
        self.insight: DigitInsight | None = None
        self.embedding: Embedding | None = None
        self.embedding_timing_ms: float | None = None
        self._digit_generation = 0
        self._embedding_generation = 0
        self._selected_point: np.ndarray | None = None

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="mv-title")
        with TabbedContent(id="mv-tabs", initial="mv-filters"):
            label = {tab: f"{n} {name}" for n, (tab, name) in enumerate(zip(TABS, TAB_NAMES, strict=True), 1)}
            with TabPane(label["mv-filters"], id="mv-filters"), ScrollPane():
                yield FiltersView(id="mv-filters-view", no_model=self.no_model)
            with TabPane(label["mv-digit"], id="mv-digit"), ScrollPane():
                yield SaliencyView(id="mv-saliency")
                yield ActivationsView(id="mv-activations")
            with TabPane(label["mv-layers"], id="mv-layers"), ScrollPane():
                with Horizontal(id="mv-plots"):
                    yield LayerMetricPlot("weight_norm", "weight norm", id="mv-weight-norm")
                    yield LayerMetricPlot("grad_norm", "grad norm", id="mv-grad-norm")
                    yield LayerMetricPlot("update_ratio", "update ratio", log_scale=True, id="mv-update")
                yield Static(layer_legend(), id="mv-layer-legend")
                yield HistogramBands(id="mv-bands")
            with TabPane(label["mv-embedding"], id="mv-embedding"), Vertical(id="mv-embedding-box"):
                yield EmbeddingPlot(id="mv-embedding-plot")
                yield Static(digit_legend(), id="mv-legend")
                yield Static("", id="mv-embedding-status")
        yield Footer()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus_pane()

    def _focus_pane(self) -> None:
        """The active tab's scrolling pane takes the keys (↑↓, PgUp/PgDn, Home/End): the Filters and
        Digit tabs are taller than the terminal, and only the mouse wheel scrolled them."""
        panes = self.query(f"#{self.query_one(TabbedContent).active} ScrollPane")
        if panes:
            panes.first().focus()

    def on_mount(self) -> None:
        self._focus_pane()
        self._show_records()
        self._update_title()
        self._embedding_status()
        self.update_model()
        if self.poll_seconds:
            self.set_interval(self.poll_seconds, self.update_model)

    # -- what the app calls ------------------------------------------------------------------

    def update_model(self, epoch: int | None = None) -> None:
        """Re-read the weights (off the UI thread); ``epoch`` overrides the source's own."""
        self._read_model(epoch, False)

    def set_selected(self, image: np.ndarray | None, index: int | None = None, label: int | None = None) -> None:
        """A newly selected test digit (``index``, ``label``) or a drawing (index None)."""
        self.image = None if image is None else np.asarray(image)
        self.index, self.label = index, label
        self._selected_point = None
        self._update_title()
        self._start_digit()
        self._mark_selected()

    def add_layer_stats(self, record: LayerStatsRecord) -> None:
        """A new epoch's statistics; rows of this epoch or later ones (a resumed run) are replaced."""
        self.records = [r for r in self.records if r.epoch < record.epoch] + [record]
        self._show_records()

    # -- the model -------------------------------------------------------------------------

    @work(thread=True, group="model-view-read", exit_on_error=False)
    def _read_model(self, epoch: int | None, force: bool) -> None:
        self.app.call_from_thread(self._model_ready, *read_model(self.model_source, epoch), force=force)

    def _model_ready(self, weights: Weights | None, error: str | None = None, force: bool = False) -> None:
        """``force`` (key r): compute everything again even when the weights look unchanged."""
        if not self.is_mounted:
            return
        self.model_read = True
        if weights is None:
            if error or force:
                self.notify(error or "no model yet: nothing to recompute", severity="error", timeout=5)
            self.query_one(FiltersView).show(None)  # "no model yet", where it said "reading"
            self._update_title()
            self._start_digit()  # the digit's place says no model (yet), not "select a test digit"
            return
        previous = self.weights
        changed = force or not weights.same_values(previous)
        new_epoch = force or previous is None or weights.epoch != previous.epoch
        self.weights = weights
        self._update_title()
        if force:
            # "during epoch 1" for weights taken mid-epoch: it said "epoch 1"
            self.notify(f"recomputing the filters, the digit and the embedding (weights: {weights.label})", timeout=4)
        if not changed and not new_epoch:
            return
        self.query_one(FiltersView).show(weights)
        self._start_digit()
        if self.test_images is not None and (new_epoch or self.embedding is None):
            self._start_embedding()  # once per epoch (the poll timer's mid-epoch weights redraw the rest)

    def _update_title(self) -> None:
        title = title_line(self.weights, self.image, self.index, self.label, self.no_model, self.model_read)
        self.query_one("#mv-title", Static).update(title)

    # -- the selected digit --------------------------------------------------------------------

    def _start_digit(self) -> None:
        saliency = self.query_one(SaliencyView)
        if self.weights is None and (self.no_model or self.image is not None):  # none will come: say so first
            saliency.show(None, message=f"no model: {self.no_model}" if self.no_model else NO_MODEL_YET)
            return
        if self.image is None:
            saliency.show(None)
            self.query_one(ActivationsView).show(None)
            return
        self._digit_generation += 1
        embedding = self.embedding
        project = embedding is not None and (self.index is None or embedding.position_of(self.index) is None)
        self._compute_digit(self.weights, self.image, self._digit_generation, embedding if project else None)

    @work(thread=True, group="model-view-digit", exit_on_error=False)
    def _compute_digit(self, weights: Weights, image: np.ndarray, generation: int, embedding) -> None:
        self.app.call_from_thread(self._digit_ready, generation, *compute_digit(weights, image, embedding))

    def _digit_ready(self, generation: int, insight, point, error: str | None, ms: float) -> None:
        if generation != self._digit_generation or not self.is_mounted:
            return  # an older request's answer: a newer one is on its way
        self.insight = insight
        self.query_one(SaliencyView).show(insight, digit_caption(self.index, self.label), error, self.label)
        self.query_one(ActivationsView).show(insight)
        if point is not None:
            self._selected_point = point
        self._mark_selected()

    # -- the embedding -------------------------------------------------------------------------

    def _start_embedding(self) -> None:
        if self.weights is None or self.test_images is None or self.test_labels is None:
            return
        self._embedding_generation += 1
        self._embedding_status("projecting the test digits…")
        self._compute_embedding(self.weights, self._embedding_generation, self.index)

    @work(thread=True, group="model-view-embedding", exit_on_error=False)
    def _compute_embedding(self, weights: Weights, generation: int, include: int | None) -> None:
        answer = compute_embedding(weights, self.test_images, self.test_labels, self.embed_sample, include)
        self.app.call_from_thread(self._embedding_ready, generation, *answer)

    def _embedding_ready(self, generation: int, embedding: Embedding | None, error: str | None, ms: float) -> None:
        if generation != self._embedding_generation or not self.is_mounted:
            return
        if embedding is None:
            self._embedding_status(error or "")
            return
        self.embedding, self.embedding_timing_ms = embedding, ms
        self._embedding_status()
        self.query_one(EmbeddingPlot).show(embedding, self._selected_position())
        if self.image is not None and self._selected_position() is None:
            self._start_digit()  # a drawn digit (or one outside the sample): project it too

    def _selected_position(self) -> np.ndarray | None:
        if self.embedding is None or self.image is None:
            return None
        if self.index is not None:
            position = self.embedding.position_of(self.index)
            if position is not None:
                return position
        return self._selected_point

    def _mark_selected(self) -> None:
        if self.embedding is not None:
            self.query_one(EmbeddingPlot).mark(self._selected_position())

    def _embedding_status(self, note: str | None = None) -> None:
        if note is None:
            note = embedding_status(self.embedding, self.embedding_timing_ms, self.test_images, self.no_model)
        self.query_one("#mv-embedding-status", Static).update(note)

    # -- layer statistics ------------------------------------------------------------------------

    def _show_records(self) -> None:
        for plot in self.query(LayerMetricPlot):
            plot.set_records(self.records)
        self.query_one(HistogramBands).set_records(self.records)

    # -- actions ---------------------------------------------------------------------------

    def action_tab(self, number: int) -> None:
        self.query_one(TabbedContent).active = TABS[number]

    def action_next_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        position = TABS.index(tabs.active) if tabs.active in TABS else 0
        tabs.active = TABS[(position + step) % len(TABS)]

    def action_recompute(self) -> None:
        """r: the embedding otherwise follows the weights once an epoch; this takes the newest now."""
        self._read_model(None, True)

    def action_help(self) -> None:
        """This screen's keys and tabs (the app's help would describe the dashboard's panels)."""
        self.app.push_screen(HelpScreen(keys=screen_keys(self), about=HELP, title=HELP_TITLE))

    def action_close(self) -> None:
        self.dismiss(None)
