"""The screens a dashboard opened, and the run's news for them.

The confusion, drawing and inside screens are imported when first opened: with them (and
textual-canvas) the app's modules took 65 ms longer to import before the first frame (AMD EPYC,
Zen 3). A screen listed here was imported by then, so the imports inside the loops below cost a
dictionary lookup.
"""

from __future__ import annotations

from textual.screen import Screen

from mnist_tui.insight.layer_records import LayerStatsRecord


class OpenedScreens:
    """The screens one dashboard opened that are still open. Another dashboard on the stack (a
    run opened from the workspace) keeps its own: its predictions are not this run's."""

    def __init__(self) -> None:
        self._screens: list[Screen] = []

    def add(self, screen: Screen) -> Screen:
        self._screens.append(screen)
        return screen

    def shown(self, stack: list[Screen]) -> list[Screen]:
        self._screens = [screen for screen in self._screens if screen in stack]
        return self._screens

    def confusion_arrived(self, stack: list[Screen], matrix, epoch: int) -> None:
        for screen in self.shown(stack):
            from mnist_tui.tui.screens.confusion import ConfusionScreen

            if isinstance(screen, ConfusionScreen):
                screen.set_confusion(matrix, epoch)

    def model_arrived(self, stack: list[Screen], epoch: int) -> None:
        for screen in self.shown(stack):
            from mnist_tui.tui.screens.draw import DrawScreen
            from mnist_tui.tui.screens.model_view import ModelViewScreen

            if isinstance(screen, DrawScreen):
                screen.refresh_guess()
            elif isinstance(screen, ModelViewScreen):
                screen.update_model(epoch)

    def layer_stats_arrived(self, stack: list[Screen], stats: LayerStatsRecord) -> None:
        for screen in self.shown(stack):
            from mnist_tui.tui.screens.model_view import ModelViewScreen

            if isinstance(screen, ModelViewScreen):
                screen.add_layer_stats(stats)
