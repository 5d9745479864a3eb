"""Modal screens are dismissed once: a second dismiss is ignored, not a crash.

Textual's ``Screen.dismiss`` calls the result callback and then ``app.pop_screen()``, which pops
whatever screen is on top. Dismissed twice (escape pressed twice before the pop has run, or a
cell chosen while escape is pending), the second call ran the callback again and popped the
dashboard itself: ``ScreenStackError`` ("there must be at least one screen"), and the app died.
"""

from __future__ import annotations

from typing import Any

from textual.await_complete import AwaitComplete


async def _nothing() -> None:
    return None


class DismissOnce:
    """Mixin for a ``ModalScreen``: the first dismiss wins; later ones, or one while another
    screen is on top of this one, do nothing and return an already-finished awaitable."""

    _dismissed = False

    @property
    def dismissed(self) -> bool:
        return self._dismissed

    def dismiss(self, result: Any = None) -> AwaitComplete:
        if self._dismissed or not self.is_attached or self.app.screen is not self:
            return AwaitComplete(_nothing())
        self._dismissed = True
        return super().dismiss(result)
