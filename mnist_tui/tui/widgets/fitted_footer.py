"""Textual's footer, fitted to narrow terminals: compact, without the palette hint, and without
the keys a screen names as the first to leave (they still work; ``?`` and the palette list them).

At 80×24 the dashboard's keys (space, q, esc Back from the workspace, x, i, a, p, ?) take 78
columns in the compact footer; with w, o and d as well they took ~100 and the last keys were cut
mid-word under the palette hint. The footer is also compact wherever its full form would not fit:
from 100 to 118 columns a run's keys were cut mid-word ("a Train 5 mo▏^p palette") and "? Help"
was gone.

It also shows its first keys while the app has no focus: Textual's footer skips binding changes
then (to keep the focused widget's keys while the window is away), and its first keys waited for
one, so a served page whose terminal never had the browser's focus (headless Chromium here)
showed an empty footer until a key came.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# The cells Textual's full footer adds to its keys: one before the first, and "▏^p palette" (11)
# on the right (measured at 130 columns: the keys end at 109, the hint takes 119-129).
FRAME_CELLS = 12


class FittedFooter(Footer):
    def __init__(self, left_out_when_narrow: Iterable[str] = (), **kwargs) -> None:
        """``left_out_when_narrow``: actions whose keys leave the footer in :meth:`fit` ``(True)``."""
        super().__init__(**kwargs)
        self.left_out_when_narrow = frozenset(left_out_when_narrow)
        self.fitted_width, self.narrow = 0, False  # 0: not fitted yet

    def fit(self, width: int, narrow: bool) -> None:
        """Compact where the screen says it is ``narrow``, and where the full footer's keys pass ``width``."""
        self.fitted_width, self.narrow = width, narrow
        self._refit()

    def full_width(self) -> int:
        """Cells Textual's full footer takes for the keys it holds: " key " and "description " each."""
        keys = [key for key in self.query(FooterKey) if not key.has_class("-command-palette")]
        described = sum(cell_len(key.description) + 1 for key in keys if key.description)
        return sum(cell_len(key.key_display) + 2 for key in keys) + described + FRAME_CELLS

    def _refit(self) -> bool:
        """Whether compact changed."""
        compact = self.narrow or 0 < self.fitted_width < self.full_width()
        changed = compact != self.compact
        self.compact = compact
        self.show_command_palette = not compact  # ctrl+p still opens it
        return changed

    def bindings_changed(self, screen) -> None:
        super().bindings_changed(screen)  # blurred, Textual's keeps the keys it shows
        if not self.app.app_focus and not self.query(FooterKey) and self.is_attached and screen is self.screen:
            # its first keys, the app never focused: after the refresh, once they are mounted (a
            # call_later recomposed before, found no keys again and looped, drawing nothing else)
            self.call_after_refresh(self.recompose)

    def keys_changed(self) -> None:
        """The screen's keys changed with its run's state: shown even while the app is blurred.
        Textual's footer waits for the focus there (a blur drops the focused widget's keys), and a
        served page left unfocused offered a finished run's "space Pause" and no "a Train 5 more"."""
        if not self.app.app_focus and self.is_attached:
            self.call_later(self.recompose)  # on the footer's own queue: compose binds to it

    async def recompose(self) -> None:
        await super().recompose()  # the keys are rebuilt whenever the bindings or compact change
        if self._refit():  # new keys need more room, or less ("Start" → "Pause", "a Train 5 more"):
            await super().recompose()  # the palette hint comes or goes (at a run's end it was missing)
        for key in self.query(FooterKey):
            key.display = not (self.compact and key.action in self.left_out_when_narrow)
