"""At 80 columns the dashboard's footer fits: the browser's keys leave it but still act."""

from __future__ import annotations

import pytest
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


async def test_a_footer_shown_before_the_app_had_focus_lists_its_keys():
    """A served page whose terminal never had the browser's focus showed an empty footer until a
    key came: Textual's footer skips binding changes while the app is blurred, and its first
    compose waits for one. Ours lists its screen's keys either way."""
    from textual.app import App
    from textual.screen import Screen

    class Keyed(Screen):
        BINDINGS = [("z", "zap", "Zap")]

        def compose(self):
            yield FittedFooter()

    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        app.app_focus = False  # as a served page that opened without the browser's focus
        await app.push_screen(Keyed())
        footer = app.screen.query_one(FittedFooter)
        await wait_for(pilot, lambda: "zap" in {k.action for k in footer.query(FooterKey)}, "the footer's keys", 10)


@pytest.mark.parametrize("width", [110, 119])
async def test_between_80_and_120_columns_the_footer_keeps_every_key_whole(resumed_app, width):  # noqa: F811
    """From 100 to 118 columns the full footer ran under the palette hint: "a Train 5 mo▏^p
    palette", and "? Help" was gone. It is compact wherever its full form does not fit."""
    app, feed = resumed_app
    async with app.run_test(size=(width, 40)) as pilot:
        await feed(pilot)
        await wait_for(pilot, lambda: "help" in {k.action for k in shown_keys(app)}, "the footer's keys")
        await wait_for(pilot, lambda: all(k.region.width for k in shown_keys(app)), "the footer laid out")
        keys = shown_keys(app)
        hint = [k for k in keys if k.has_class("-command-palette")]
        room = hint[0].region.x if hint else width
        assert all(k.region.right <= room for k in keys if k not in hint), [(k.key, k.region) for k in keys]


async def test_keys_that_fit_again_bring_back_the_palette_hint(resumed_app):  # noqa: F811
    """At 110 columns a training run's keys need the compact footer; at its end they fit in the
    full one, which came back without its "^p palette" hint."""
    app, feed = resumed_app
    async with app.run_test(size=(110, 40)) as pilot:
        await feed(pilot)
        dashboard, footer = app.dashboard, app.dashboard.query_one(FittedFooter)
        dashboard.started = True
        dashboard.show_state("training")
        await wait_for(pilot, lambda: footer.compact and "pause" in {k.action for k in shown_keys(app)}, "compact")
        dashboard.show_state("finished")
        await wait_for(pilot, lambda: not footer.compact, "the full footer")
        await wait_for(pilot, lambda: [k for k in shown_keys(app) if k.has_class("-command-palette")], "the hint")


async def test_a_blurred_dashboards_footer_follows_its_runs_state(resumed_app):  # noqa: F811
    """A served page left without the browser's focus kept "space Pause" and no "a Train 5 more"
    after its run finished, until a key came: Textual's footer waits for the focus."""
    app, feed = resumed_app
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(pilot)
        dashboard = app.dashboard
        dashboard.started = True
        dashboard.show_state("training")
        await wait_for(pilot, lambda: "pause" in {k.action for k in shown_keys(app)}, "space Pause")
        app.app_focus = False  # the browser's focus went elsewhere
        await pilot.pause(0.05)
        dashboard.show_state("finished")
        await wait_for(pilot, lambda: "pause" not in {k.action for k in shown_keys(app)}, "no Pause once finished")
