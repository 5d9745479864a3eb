"""The model view's keys, help and labels as a user meets them: numbered tabs and 1-4, r, its own
help, axis names, whole-epoch ticks, legends outside the plots, a title that fits 80 columns."""

from __future__ import annotations

import pytest
import torch
from test_insight_screen import ViewApp, _opened, digits, screen_text, snapshot_of  # noqa: F401 - digits: the fixture
from waiting import pilot_wait as wait_for

from mnist_tui.insight.layer_stats import epoch_layer_stats, weights_copy
from mnist_tui.model import Net
from mnist_tui.tui.screens.help import HelpScreen
from mnist_tui.tui.screens.model_view import ModelViewScreen
from mnist_tui.tui.widgets.embedding_plot import EmbeddingPlot
from mnist_tui.tui.widgets.layer_views import LAYER_POINTS, LayerMetricPlot
from mnist_tui.tui.widgets.model_view import FiltersView, even_rows


def layer_records(epochs: int, lr: float) -> list:
    """Layer statistics of ``epochs`` epochs: one SGD step at ``lr`` each on random digits."""
    torch.manual_seed(0)
    net, records = Net(), []
    optimiser = torch.optim.SGD(net.parameters(), lr=lr)
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    for epoch in range(1, epochs + 1):
        start = weights_copy(net)
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimiser.step()
        records.append(epoch_layer_stats(epoch, net, start))
    return records


@pytest.fixture(scope="module")
def ten_epochs():
    """Ten epochs' layer statistics, gradients kept."""
    return layer_records(10, lr=0.5)


def _notices(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_number_keys_pick_the_numbered_tabs():
    screen = ModelViewScreen(None)
    async with ViewApp(screen).run_test(size=(80, 24)) as pilot:
        await _opened(pilot, screen)
        tabs = screen.query_one("#mv-tabs")
        for key, tab in (("3", "mv-layers"), ("4", "mv-embedding"), ("2", "mv-digit"), ("1", "mv-filters")):
            await pilot.press(key)
            await wait_for(pilot, lambda tab=tab: tabs.active == tab, f"key {key} to show {tab}")
        await pilot.pause(0.05)
        assert "1 Filters  2 Digit  3 Layers  4 Embedding" in screen_text(pilot.app)


async def test_the_keyboard_scrolls_a_tab_taller_than_the_terminal(digits):  # noqa: F811
    """At 80×24 the Filters tab shows conv1 and the top of conv2: only the mouse wheel scrolled it."""
    from textual.containers import VerticalScroll

    screen = ModelViewScreen(snapshot_of(0, 1), test_images=digits[0], test_labels=digits[1])
    async with ViewApp(screen).run_test(size=(80, 24)) as pilot:
        await _opened(pilot, screen)
        pane = screen.query_one("#mv-filters VerticalScroll", VerticalScroll)
        await wait_for(pilot, lambda: pane.max_scroll_y > 0, "the filters to be taller than the screen")
        keys = (("down", 1), ("end", pane.max_scroll_y), ("home", 0), ("j", 1), ("k", 0), ("pagedown", None))
        for key, where in keys:  # j and k as the README's key map says: they did nothing here
            await pilot.press(key)
            await wait_for(
                pilot,
                lambda where=where: pane.scroll_y == where if where is not None else pane.scroll_y > 1,
                f"{key} to scroll the filters",
            )
        await pilot.press("2")  # another tab: its pane takes the keys
        digit = screen.query_one("#mv-digit VerticalScroll", VerticalScroll)
        await wait_for(pilot, lambda: digit.has_focus, "the Digit tab's pane to take the keys")


async def test_r_recomputes_the_digit_and_the_embedding_and_says_so(digits):  # noqa: F811
    images, labels = digits
    snapshot = snapshot_of(0, epoch=2)
    screen = ModelViewScreen(lambda: snapshot, images[3].numpy(), 3, int(labels[3]), (), images, labels)
    async with ViewApp(screen).run_test(size=(120, 40)) as pilot:
        await _opened(pilot, screen)
        await wait_for(pilot, lambda: screen.embedding is not None and screen.insight is not None, "the first answers")
        embedding, insight = screen.embedding, screen.insight
        await pilot.press("r")  # the same weights: nothing would be computed again without r
        await wait_for(pilot, lambda: screen.embedding is not embedding, "a new embedding")
        await wait_for(pilot, lambda: screen.insight is not insight, "the digit computed again")
        assert any("recomputing" in notice and "epoch 2" in notice for notice in _notices(pilot.app))
        assert "r Recompute" in screen_text(pilot.app)  # the footer offers it


async def test_r_without_a_model_says_there_is_nothing_to_recompute():
    screen = ModelViewScreen(None)
    async with ViewApp(screen).run_test(size=(80, 24)) as pilot:
        await _opened(pilot, screen)
        await pilot.press("r")
        await wait_for(pilot, lambda: any("nothing to recompute" in n for n in _notices(pilot.app)), "the notice")


async def test_help_describes_this_screen_not_the_dashboard():
    screen = ModelViewScreen(None)
    async with ViewApp(screen).run_test(size=(80, 24)) as pilot:
        await _opened(pilot, screen)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "the help screen")
        help_screen = pilot.app.screen
        keys = dict(help_screen.keys)
        assert keys["1"] == "Filters tab" and keys["4"] == "Embedding tab" and keys["r"] == "Recompute"
        assert "Copy selected text" not in keys.values()  # Textual's own, on every screen
        about = "\n".join(help_screen.about)
        assert all(f"{n} {tab}:" in about for n, tab in enumerate(("Filters", "Digit", "Layers", "Embedding"), 1))
        assert "Batch loss" not in about and "Predictions" not in about
        await pilot.pause(0.05)
        text = screen_text(pilot.app)
        assert "Inside the network" in text and "Batch loss" not in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "back on the model view")


def test_another_screens_help_does_not_describe_the_dashboard():
    assert HelpScreen(keys=[("esc", "Back")]).about == ()
    assert any("Batch loss" in line for line in HelpScreen(["a setting"]).about)  # the dashboard's, unchanged


async def test_the_embedding_names_its_axes_pc1_and_pc2(digits):  # noqa: F811
    images, labels = digits
    snapshot = snapshot_of(0, epoch=1)
    screen = ModelViewScreen(lambda: snapshot, images[1].numpy(), 1, int(labels[1]), (), images, labels)
    async with ViewApp(screen).run_test(size=(120, 40)) as pilot:
        await _opened(pilot, screen)
        plot = screen.query_one(EmbeddingPlot)
        await pilot.press("4")
        await wait_for(pilot, lambda: plot.points_by_digit, "the scatter")
        await pilot.pause(0.05)
        text = screen_text(pilot.app)
        assert "x: PC1 (" in text and "y: PC2 (" in text
        assert "linear y" not in text and "x: epoch" not in text


async def _layer_plots(pilot, screen: ModelViewScreen) -> list[LayerMetricPlot]:
    """The Layers tab (key 3) opened and its plots laid out."""
    await _opened(pilot, screen)
    plots = list(screen.query(LayerMetricPlot))
    await pilot.press("3")
    await wait_for(pilot, lambda: all(p.x_axis is not None for p in plots), "the plots laid out")
    await pilot.pause(0.05)
    return plots


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_layer_plots_tick_whole_epochs_and_keep_their_legend_off_the_data(size, ten_epochs):
    screen = ModelViewScreen(None, layer_stats=ten_epochs)
    async with ViewApp(screen).run_test(size=size) as pilot:
        for plot in await _layer_plots(pilot, screen):
            assert plot.x_axis.labels and all(label.isdigit() for label in plot.x_axis.labels), plot.x_axis.labels
            assert set(plot.drawn) == {"conv1", "conv2", "fc1", "fc2"}
            figure = plot.render().plain.splitlines()[1:-1]  # under the heading, above the x axis's name
            assert len(figure) >= 8 and "┌" in figure[0]
            assert not any(layer in line for line in figure for layer in plot.drawn), "a legend on the data"
            shown = {layer for layer, point in LAYER_POINTS.items() if any(point in line for line in figure)}
            # the markers tell the lines apart (80×24 had none; conv1's "●" hid under fc2's "◆" in weight norm)
            assert shown == set(LAYER_POINTS), (size, plot.field, shown)
            # under it, each layer's last value by its marker: conv1's weight-norm line lay under fc2's
            values = plot.render().plain.splitlines()[-1]
            assert len(values) < plot.size.width, (size, values)  # a column free: 80×24 ran them together
            last = ten_epochs[-1]
            digits = (3,) if size[0] >= 120 else (2, 1)  # as many as fit
            for layer in ("conv1", "conv2") if size[0] < 120 else LAYER_POINTS:
                value = getattr(last.layer(layer), plot.field)
                shown = [f"{LAYER_POINTS[layer]}{value:.{d}g}" in values for d in digits]
                assert any(shown), (size, plot.field, values)
        assert "update ratio · log y" in screen_text(pilot.app)
        legend = str(screen.query_one("#mv-layer-legend").render())
        assert all(layer in legend for layer in ("conv1", "conv2", "fc1", "fc2"))
        assert "linear y" not in screen_text(pilot.app)


@pytest.mark.parametrize(("size", "rows"), [((120, 40), [10]), ((80, 24), [5, 5])])
async def test_conv1_kernels_fill_even_rows(size, rows):
    snapshot = snapshot_of(0, epoch=1)
    screen = ModelViewScreen(lambda: snapshot)
    async with ViewApp(screen).run_test(size=size) as pilot:
        await _opened(pilot, screen)
        filters = screen.query_one(FiltersView)
        await wait_for(pilot, lambda: filters.weights is not None, "the filters")
        # the scroll bar appears once the filters are in (2 columns fewer), and they are laid out again
        await wait_for(pilot, lambda: filters.content_size.width <= size[0] - 4, "the scroll bar")

        def label_rows() -> list[int]:
            text = screen_text(pilot.app)
            conv1 = text[text.index("conv1 ·") : text.index("conv2 ·")]
            return [len(line.split()) for line in conv1.splitlines() if line.strip() and line.split()[0].isdigit()]

        await wait_for(pilot, lambda: label_rows() == rows, f"conv1's kernels in rows of {rows}")
        assert label_rows() == rows


def test_even_rows_prefers_one_row_then_rows_of_equal_length():
    assert even_rows(10, 10, 116) == (116, 1)  # all ten, a one-column gap
    assert even_rows(10, 10, 76) == (58, 2)  # two rows of five
    assert even_rows(10, 10, 30) == (22, 2)  # five rows of two
    assert even_rows(10, 10, 8) == (8, 2)  # narrower than a tile: one a row


@pytest.mark.parametrize("width", [80, 120])
async def test_the_title_fits_without_being_cut(width, digits):  # noqa: F811
    images, labels = digits
    snapshot = snapshot_of(0, epoch=12)
    screen = ModelViewScreen(lambda: snapshot, images[1234 % 300].numpy(), 1234, 7)
    async with ViewApp(screen).run_test(size=(width, 24)) as pilot:
        await _opened(pilot, screen)
        await wait_for(pilot, lambda: screen.weights is not None, "the model")
        await pilot.pause(0.05)
        title = screen_text(pilot.app).splitlines()[0].rstrip()
        assert title.endswith("test digit #1,234 (label 7)") and "epoch 12" in title  # as the browser writes it


async def test_a_title_too_long_for_the_screen_ends_in_an_ellipsis():
    screen = ModelViewScreen(None, None)
    async with ViewApp(screen).run_test(size=(40, 24)) as pilot:
        await _opened(pilot, screen)
        await pilot.pause(0.05)
        assert screen_text(pilot.app).splitlines()[0].rstrip().endswith("…")


async def test_small_update_ratios_keep_every_layers_value_at_80x24():
    """Ratios of a few thousandths ran the update-ratio plot's values out of room: "◆0.…"."""
    screen = ModelViewScreen(None, layer_stats=layer_records(3, lr=0.002))
    async with ViewApp(screen).run_test(size=(80, 24)) as pilot:
        for plot in await _layer_plots(pilot, screen):
            values = plot.render().plain.splitlines()[-1]
            assert "…" not in values and all(point in values for point in LAYER_POINTS.values()), values
