"""The predictions browser: a test digit and the model's verdict, browsed through a view.

It owns what it shows: the test digits, the latest predictions, the view (an order and its
filters, see :mod:`mnist_tui.tui.views`) and the digit selected. The dashboard forwards keys
to it; the title says which order and filters are on, and an emptied view says how to leave it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.reactive import reactive

from mnist_tui.tui.views import ORDER_STEPS, View, ViewSpec, build_view, next_order, no_digits_text
from mnist_tui.tui.widgets.predictions import PredictionsPanel

if TYPE_CHECKING:
    import numpy as np


class PredictionsBrowser(PredictionsPanel):
    spec: reactive[ViewSpec] = reactive(ViewSpec(), init=False)
    why_none = ""  # why no test digit was loaded (the run's note), shown in their place

    def watch_spec(self, old: ViewSpec, new: ViewSpec) -> None:
        self.rebuild(from_start=True)

    def set_data(self, images: np.ndarray, labels: np.ndarray, why_none: str = "") -> None:
        self.why_none = why_none
        super().set_data(images, labels)
        self.rebuild()

    def no_digits(self) -> str:
        """Why no test digit was loaded (so no confusion matrix will come); empty where some were,
        or none yet."""
        if self.labels is None or len(self.labels):
            return ""
        return no_digits_text(self.why_none)

    def set_predictions(self, probabilities: np.ndarray, epoch: int) -> None:
        self.probabilities, self.epoch = probabilities, epoch
        self.rebuild()

    def rebuild(self, from_start: bool = False) -> View | None:
        """Rebuild the view (after new predictions, or a new order or filter, which starts at its first digit)."""
        if self.labels is None:
            return None
        view = build_view(self.spec, self.probabilities, self.labels, self.epoch, self.why_none)
        self.set_view(view.indices, view.title, view.empty_hint)
        if from_start and len(view.indices):
            self.move_to(0)
        return view

    @property
    def view_size(self) -> int:
        return len(self.indices)

    # -- what the keys do ----------------------------------------------------------------------

    def toggle_wrong(self) -> None:
        self.spec = ViewSpec(self.spec.order, self.spec.digit, not self.spec.wrong_only, self.spec.cell)

    def step_order(self, step: int) -> None:
        """The next (or previous) order; a confusion-cell filter gives way to the order."""
        if self.spec.cell is None:
            order, digit = next_order(self.spec.order, self.spec.digit, step)
        else:  # leaving a cell: the first order going forward, the last going back
            order, digit = ORDER_STEPS[0 if step > 0 else -1]
        self.spec = ViewSpec(order, digit, self.spec.wrong_only, None)

    def show_digit(self, digit: int) -> None:
        self.spec = ViewSpec("digit", digit, self.spec.wrong_only, None)

    def show_cell(self, cell: tuple[int, int]) -> None:
        self.spec = ViewSpec(self.spec.order, self.spec.digit, False, cell)

    def clear_filters(self) -> bool:
        """Back to all digits by index; False when there was nothing to clear."""
        if not self.spec.filtered:
            return False
        self.spec = ViewSpec()
        return True

    @property
    def selected(self) -> tuple[int, np.ndarray, int] | None:
        """(test index, image, true label) of the digit on show."""
        index = self.current_index
        if index is None or self.images is None:
            return None
        return index, self.images[index], int(self.labels[index])
