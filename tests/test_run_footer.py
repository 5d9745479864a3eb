"""At 80 columns the dashboard's footer fits: the browser's keys leave it but still act."""

from __future__ import annotations

from test_tui_snapshots import resumed_app  # noqa: F401 - the fixture
from textual.widgets._footer import FooterKey
from waiting import pilot_wait as wait_for

from mnist_tui.tui.screens.dashboard_keys import LEFT_OUT_OF_NARROW_FOOTER
from mnist_tui.tui.widgets.fitted_footer import FittedFooter


def shown_keys(app) -> list[FooterKey]:
    return [k for k in app.dashboard.query_one(FittedFooter).query(FooterKey) if k.display]


async def test_the_small_terminals_footer_fits_and_w_still_filters(resumed_app):  # noqa: F811
    app, feed = resumed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(pilot)
        dashboard = app.dashboard
        dashboard.started = True
        dashboard.show_state("training")  # the most keys a local run offers: space, a, p …
        await wait_for(pilot, lambda: "pause" in {k.action for k in shown_keys(app)}, "the footer's keys")
        await wait_for(pilot, lambda: all(k.region.width for k in shown_keys(app)), "the footer laid out")
        keys = shown_keys(app)
        actions = {k.action for k in keys}
        assert {"pause", "app.quit", "confusion", "inside", "add_epochs(5)", "side_panel", "help"} <= actions, actions
        assert not actions & LEFT_OUT_OF_NARROW_FOOTER
        width = sum(k.region.width for k in keys) + len(keys) - 1
        assert width <= 80, [(k.key, k.description, k.region.width) for k in keys]
        assert all(k.region.right <= 80 for k in keys)
        before = dashboard.browser.spec.wrong_only
        await pilot.press("w")
        assert dashboard.browser.spec.wrong_only != before  # left out of the footer, not unbound


async def test_the_wide_footer_keeps_every_key(resumed_app):  # noqa: F811
    app, feed = resumed_app
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot)
        actions = {k.action for k in shown_keys(app)}
        assert actions >= LEFT_OUT_OF_NARROW_FOOTER, actions
