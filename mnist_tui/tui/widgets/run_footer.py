"""The dashboard's footer: Textual's, leaving out the digit browser's keys at 80 columns.

At 80×24 the keys a run offers (space, q, esc Back from the workspace, x, i, a, p, ?) take 78
columns in the compact footer; with w, o and d as well they took ~100 and the last keys were cut
mid-word under the palette hint. Those three still work and are listed by ``?`` and the palette.
"""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

LEFT_OUT_WHEN_COMPACT = frozenset({"toggle_wrong", "order(1)", "draw"})


class RunFooter(Footer):
    async def recompose(self) -> None:
        await super().recompose()  # the keys are rebuilt whenever the bindings or compact change
        for key in self.query(FooterKey):
            key.display = not (self.compact and key.action in LEFT_OUT_WHEN_COMPACT)
