"""Textual's footer, fitted to narrow terminals: compact, without the palette hint, and without
the keys a screen names as the first to leave (they still work; ``?`` and the palette list them).

At 80×24 the dashboard's keys (space, q, esc Back from the workspace, x, i, a, p, ?) take 78
columns in the compact footer; with w, o and d as well they took ~100 and the last keys were cut
mid-word under the palette hint.

It also shows its first keys while the app has no focus: Textual's footer skips binding changes
then (to keep the focused widget's keys while the window is away), and its first keys waited for
one, so a served page whose terminal never had the browser's focus (headless Chromium here)
showed an empty footer until a key came.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class FittedFooter(Footer):
    def __init__(self, left_out_when_narrow: Iterable[str] = (), **kwargs) -> None:
        """``left_out_when_narrow``: actions whose keys leave the footer in :meth:`fit` ``(True)``."""
        super().__init__(**kwargs)
        self.left_out_when_narrow = frozenset(left_out_when_narrow)

    def fit(self, narrow: bool) -> None:
        self.compact = narrow
        self.show_command_palette = not narrow  # ctrl+p still opens it

    def bindings_changed(self, screen) -> None:
        super().bindings_changed(screen)  # blurred, Textual's keeps the keys it shows
        if not self.app.app_focus and not self.query(FooterKey) and self.is_attached and screen is self.screen:
            self.call_after_refresh(self.recompose)  # its first keys, the app never focused

    async def recompose(self) -> None:
        await super().recompose()  # the keys are rebuilt whenever the bindings or compact change
        for key in self.query(FooterKey):
            key.display = not (self.compact and key.action in self.left_out_when_narrow)
