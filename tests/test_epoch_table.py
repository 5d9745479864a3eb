"""The epoch table shows its newest rows: a replay's or a resumed run's whole history arrives at once."""

from __future__ import annotations

from test_tui_snapshots import _history
from textual.app import App, ComposeResult

from mnist_tui.tui.widgets.epoch_table import EpochTable


class TableApp(App):
    CSS = "EpochTable { height: 8; }"  # room for 5 rows under the border and header

    def compose(self) -> ComposeResult:
        yield EpochTable()


async def test_a_whole_history_at_once_is_shown_scrolled_to_its_last_epoch():
    app = TableApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(EpochTable)
        for record in _history(12):
            table.add_epoch(record)
        table.flush()
        await pilot.pause()
        assert table.row_count == 12
        assert table.max_scroll_y > 0, "the test needs more rows than fit"
        assert table.scroll_y == table.max_scroll_y, (table.scroll_y, table.max_scroll_y)
        table.add_epoch(_history(13)[-1])  # one more later: still at the end
        table.flush()
        await pilot.pause()
        assert table.scroll_y == table.max_scroll_y
        table.styles.height = 6  # the layout gives the table less room (as the dashboard's panels settle)
        await pilot.pause()
        await pilot.pause()
        assert table.scroll_y == table.max_scroll_y, (table.scroll_y, table.max_scroll_y)
