"""The model view screen in a tiny standalone app (not the dashboard), at 80×24 and 120×40."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from textual.app import App
from waiting import pilot_wait as wait_for

from mnist_tui.insight.layer_stats import epoch_layer_stats, weights_copy
from mnist_tui.model import Net
from mnist_tui.model_snapshot import ModelSnapshot
from mnist_tui.tui.screens import model_view_jobs
from mnist_tui.tui.screens.model_view import ModelViewScreen
from mnist_tui.tui.widgets.embedding_plot import DIGIT_COLORS, EmbeddingPlot
from mnist_tui.tui.widgets.layer_views import HistogramBands, LayerMetricPlot
from mnist_tui.tui.widgets.model_view import ActivationsView, FiltersView, SaliencyView

SIZES = [(80, 24), (120, 40)]


@pytest.fixture(scope="module")
def digits():
    from mnist_tui.synthetic import synthetic_digits

    data = synthetic_digits(seed=0, train_size=10, test_size=300)
    return data.test_images, data.test_labels


def snapshot_of(seed: int, epoch: int) -> ModelSnapshot:
    torch.manual_seed(seed)
    snapshot = ModelSnapshot()
    snapshot.update(Net().state_dict(), epoch)
    return snapshot


class ViewApp(App):
    def __init__(self, screen: ModelViewScreen) -> None:
        super().__init__()
        self.view = screen

    def on_mount(self) -> None:
        self.push_screen(self.view)


def screen_text(app: App) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def _opened(pilot, screen: ModelViewScreen) -> ModelViewScreen:
    await wait_for(pilot, lambda: pilot.app.screen is screen and screen.is_mounted, "the screen")
    return screen


@pytest.mark.parametrize("size", SIZES)
async def test_opens_and_shows_the_filters_then_the_selected_digit(size, digits):
    images, labels = digits
    snapshot = snapshot_of(0, epoch=1)
    screen = ModelViewScreen(lambda: snapshot, test_images=images, test_labels=labels)
    async with ViewApp(screen).run_test(size=size) as pilot:
        await _opened(pilot, screen)
        filters = screen.query_one(FiltersView)
        await wait_for(pilot, lambda: filters.weights is not None, "the filters")
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "conv1 · 10 kernels" in text and "epoch 1" in text
        assert sum(line.count("▀") for line in text.splitlines()) >= 5 * 10 * min(6, size[0] // 12)
        assert filters.region.width <= size[0]
        # no digit yet: the digit tab says so
        assert screen.query_one(SaliencyView).insight is None
        image, index, label = images[7].numpy(), 7, int(labels[7])
        screen.set_selected(image, index, label)
        activations = screen.query_one(ActivationsView)
        await wait_for(pilot, lambda: activations.insight is not None, "the activations")
        assert activations.insight.conv1.shape == (10, 24, 24) and activations.insight.conv2.shape == (20, 8, 8)
        await pilot.press("tab")
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "predicted" in text and f"#{index} label {label}" in text
        assert "▀" * 28 in text  # the digit, 28 cells wide
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is not screen, "the screen to close")


async def test_heavy_work_runs_off_the_ui_thread_and_only_the_newest_answer_shows(monkeypatch, digits):
    images, labels = digits
    threads, real = [], model_view_jobs.inspect_digit

    def recording(weights, image):
        threads.append(threading.current_thread())
        return real(weights, image)

    monkeypatch.setattr(model_view_jobs, "inspect_digit", recording)
    snapshot = snapshot_of(0, epoch=1)
    screen = ModelViewScreen(lambda: snapshot, images[0].numpy(), 0, int(labels[0]))
    async with ViewApp(screen).run_test(size=(120, 40)) as pilot:
        await _opened(pilot, screen)
        await wait_for(pilot, lambda: screen.insight is not None, "the first digit")
        for i in (1, 2, 3):
            screen.set_selected(images[i].numpy(), i, int(labels[i]))
        await wait_for(pilot, lambda: screen.insight is not None and screen.index == 3 and threads, "digit 3")
        await wait_for(pilot, lambda: np.array_equal(screen.insight.image * 255, images[3].numpy()), "digit 3 shown")
        assert threads and all(t is not threading.main_thread() for t in threads)


async def test_a_new_model_redraws_the_filters_and_recomputes(digits):
    images, labels = digits
    holder = {"snapshot": None}
    screen = ModelViewScreen(lambda: holder["snapshot"], images[5].numpy(), 5, int(labels[5]))
    async with ViewApp(screen).run_test(size=(80, 24)) as pilot:
        await _opened(pilot, screen)
        await pilot.pause(0.2)
        assert screen.weights is None
        assert "no model yet" in screen_text(pilot.app)
        holder["snapshot"] = snapshot_of(1, epoch=1)
        screen.update_model()
        await wait_for(pilot, lambda: screen.weights is not None and screen.insight is not None, "epoch 1")
        first = screen.insight
        holder["snapshot"] = snapshot_of(2, epoch=2)
        screen.update_model()
        await wait_for(pilot, lambda: screen.insight is not first and screen.insight.epoch == 2, "epoch 2")
        assert screen.query_one(FiltersView).weights.epoch == 2
        assert "epoch 2" in screen_text(pilot.app)


async def test_layer_statistics_fill_the_plots_and_the_bands():
    torch.manual_seed(0)
    net = Net()
    records = []
    for epoch in (1, 2, 3):
        start = weights_copy(net)
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(1.1)
        records.append(epoch_layer_stats(epoch, net, start))
    screen = ModelViewScreen(None, layer_stats=records[:1])
    async with ViewApp(screen).run_test(size=(120, 40)) as pilot:
        await _opened(pilot, screen)
        screen.add_layer_stats(records[1])
        screen.add_layer_stats(records[2])
        screen.add_layer_stats(records[1])  # a resumed run re-does epoch 2: epoch 3 goes
        assert [r.epoch for r in screen.records] == [1, 2]
        assert all(plot.records == screen.records for plot in screen.query(LayerMetricPlot))
        await pilot.press("tab", "tab")
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "weight norm" in text and "conv1 weights" in text and "fc2 weights" in text
        bands = screen.query_one(HistogramBands).build(120).plain
        assert bands.count("\n1 ") + bands.startswith("1 ") >= 1 and "\n2 " in bands


async def test_embedding_has_one_point_per_test_digit_coloured_by_label_and_marks_the_selected(digits):
    images, labels = digits
    snapshot = snapshot_of(0, epoch=1)
    screen = ModelViewScreen(lambda: snapshot, images[11].numpy(), 11, int(labels[11]), (), images, labels)
    async with ViewApp(screen).run_test(size=(120, 40)) as pilot:
        await _opened(pilot, screen)
        await wait_for(pilot, lambda: screen.embedding is not None, "the embedding")
        plot = screen.query_one(EmbeddingPlot)
        await pilot.press("shift+tab")  # a plot lays out its points only when it is on screen
        await wait_for(pilot, lambda: plot.points_by_digit, "the scatter on its tab")
        embedding = screen.embedding
        assert len(embedding.labels) == len(labels)  # 300 < the sample size: every digit
        assert sum(len(xs) for xs, _ in plot.points_by_digit.values()) == len(labels)
        for digit, (xs, ys) in plot.points_by_digit.items():
            where = embedding.labels == digit
            np.testing.assert_allclose(xs, embedding.coords[where, 0])
            np.testing.assert_allclose(ys, embedding.coords[where, 1])
        assert len(set(DIGIT_COLORS)) == 10
        np.testing.assert_array_equal(plot.selected, embedding.position_of(11))
        # a drawn digit (no index) is projected into the same picture
        drawn = np.zeros((28, 28), dtype=np.float32)
        drawn[5:23, 13:15] = 1.0
        screen.set_selected(drawn, None, None)
        await wait_for(pilot, lambda: plot.selected is not None and screen.index is None and screen.insight, "drawn")
        await wait_for(pilot, lambda: screen._selected_point is not None, "the drawn digit's point")
        np.testing.assert_array_equal(plot.selected, screen._selected_point)
        await pilot.pause()  # still on the embedding tab
        text = screen_text(pilot.app)
        assert "PC1" in text and "selected digit" in text and f"{len(labels):,} test digits" in text


async def test_the_poll_timer_picks_up_new_weights_without_being_told(digits):
    images, labels = digits
    holder = {"snapshot": snapshot_of(1, epoch=3)}
    screen = ModelViewScreen(lambda: holder["snapshot"], poll_seconds=0.05)
    async with ViewApp(screen).run_test(size=(80, 24)) as pilot:
        await _opened(pilot, screen)
        filters = screen.query_one(FiltersView)
        await wait_for(pilot, lambda: filters.weights is not None, "the first weights")
        first = filters.weights
        holder["snapshot"] = snapshot_of(2, epoch=3)  # mid-epoch: new weights, same epoch
        await wait_for(pilot, lambda: filters.weights is not first, "the timer to redraw the filters")
        assert not filters.weights.same_values(first)


async def test_switching_tabs_builds_no_panel_again(digits, monkeypatch):
    """Each measure and render built the panel's text anew: the filters' 44 ms, several times a
    tab switch, froze the UI for 0.4-0.5 s (1 s and more beside a training run)."""
    images, labels = digits
    builds: list[str] = []
    for view in (FiltersView, SaliencyView, ActivationsView, HistogramBands):
        original = view.build
        monkeypatch.setattr(
            view, "build", lambda self, width, _b=original: builds.append(type(self).__name__) or _b(self, width)
        )
    snapshot = snapshot_of(1, epoch=1)
    screen = ModelViewScreen(lambda: snapshot, images[5].numpy(), 5, int(labels[5]))
    async with ViewApp(screen).run_test(size=(80, 24)) as pilot:
        await _opened(pilot, screen)
        await wait_for(pilot, lambda: screen.weights is not None and screen.insight is not None, "the model")
        for key in "1234":
            await pilot.press(key)
        await pilot.pause()
        builds.clear()
        for key in "12341234":
            await pilot.press(key)
            await pilot.pause()
        assert builds == []  # nothing changed: every panel kept its text
        screen.query_one(FiltersView).show(screen.weights)  # new weights: built again, once
        await pilot.press("1")
        await pilot.pause()
        assert builds.count("FiltersView") == 1


async def test_until_its_model_is_read_the_screen_says_it_is_reading_it_not_that_there_is_none(digits):
    """A finished run's `i` said "no model yet: the filters appear with the run's first weights"
    for the second its weights took to read."""
    images, labels = digits
    snapshot, release = snapshot_of(0, epoch=6), threading.Event()

    def slow_model():
        release.wait(30)
        return snapshot

    screen = ModelViewScreen(slow_model, images[0].numpy(), 0, int(labels[0]))
    async with ViewApp(screen).run_test(size=(120, 40)) as pilot:
        await _opened(pilot, screen)
        await wait_for(pilot, lambda: "reading the model" in screen_text(pilot.app), "the reading line")
        assert "no model yet" not in screen_text(pilot.app)
        release.set()
        await wait_for(pilot, lambda: "epoch 6" in screen_text(pilot.app), "the model's epoch")
        assert "reading the model" not in screen_text(pilot.app)
    empty = ModelViewScreen(lambda: None, images[0].numpy(), 0, int(labels[0]))
    async with ViewApp(empty).run_test(size=(120, 40)) as pilot:
        await _opened(pilot, empty)
        await wait_for(pilot, lambda: "no model yet" in screen_text(pilot.app), "no model yet, once read")
        assert "reading the model" not in screen_text(pilot.app)
