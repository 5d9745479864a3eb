"""Every finished epoch as a row (a resumed run's earlier epochs included)."""

from __future__ import annotations

from textual.widgets import DataTable

COLUMNS = ("ep", "train loss", "train acc", "test loss", "test acc")  # fits the 48-column side panel


class EpochTable(DataTable):
    can_focus = False  # the dashboard's keys act on the run and the browser; no hidden focus here

    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.zebra_stripes = True
        self.add_columns(*COLUMNS)
        self.border_title = "Epochs"

    def add_epoch(self, row) -> None:
        """``row`` is a history dict or an EpochEnd (both have these names)."""
        get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
        key = str(get("epoch"))
        if key in self.rows:
            self.remove_row(key)
        self.add_row(
            key,
            f"{get('train_loss'):.4f}",
            f"{get('train_acc'):.2%}",
            f"{get('test_loss'):.4f}",
            f"{get('test_acc'):.2%}",
            key=key,
        )
        self.move_cursor(row=self.row_count - 1)
        self.scroll_end(animate=False)
