"""The dashboard's pure parts: bounded plot series, smoothing, run progress, views."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from mnist_tui.tui.progress import RunProgress
from mnist_tui.tui.series import BoundedSeries
from mnist_tui.tui.views import ViewSpec, build_view
from mnist_tui.tui.widgets.predictions import probability_bar


def test_bounded_series_keeps_memory_bounded_and_spans_the_whole_run():
    series = BoundedSeries(capacity=1000)
    for i in range(100_000):
        series.append(float(i), float(i))
    assert len(series) <= 1000
    assert series.xs[0] == 0.0 and series.xs[-1] == 99_999  # the first and the newest points both present
    assert series.xs == sorted(series.xs) and len(series.ys) == len(series.xs) == len(series)
    gaps = np.diff(series.xs[:-1])
    assert gaps.min() == gaps.max() == series.stride  # evenly thinned, the newest point after them


def test_the_newest_point_shows_whatever_the_stride_and_goes_when_a_rerun_drops_it():
    """A 2,814-batch run's plot ended at batch 2,812 (x 2.9989): no tick or label at 3.0."""
    series = BoundedSeries(capacity=1000)
    for batch in range(1, 2815):
        series.append(batch / 938, float(batch))
    assert series.stride == 4 and series.xs[-1] == 3.0 and series.ys[-1] == 2814.0
    series.drop_after(2.5)  # a followed run resumed from its epoch 2.5: what came after is withdrawn
    assert max(series.xs) <= 2.5 and len(series.xs) == len(series.ys)
    series.append(2.6, 1.0)
    assert series.xs[-1] == 2.6 and series.ys[-1] == 1.0


def test_an_epochs_last_batch_is_kept_through_the_thinning_where_a_stop_ends_the_plot():
    """A run stopped in epoch 3 withdraws what follows epoch 2: its plot ended at x 1.9968, a stride
    short, with no tick or label at 2.0 and an earlier batch's loss shown as the last."""
    series = BoundedSeries(capacity=1000)
    for batch in range(1, 2815):
        series.append(batch / 938, float(batch), keep=batch % 938 == 0)
    assert len(series) <= 1000 + 3 + 1 and {1.0, 2.0, 3.0} <= set(series.xs)
    plain = [x for x in series.xs[:-1] if x not in (1.0, 2.0, 3.0)]
    assert plain == sorted(plain) and series.xs == sorted(series.xs)
    series.drop_after(2.0)
    assert series.xs[-1] == 2.0 and series.ys[-1] == 1876.0
    series.append(2.0 + 1 / 938, 5.0)  # the next attempt goes on from there
    assert series.xs[-2:] == [2.0, 2.0 + 1 / 938]


def test_run_progress_eta_and_overall_position():
    progress = RunProgress(epochs=3)
    progress.on_loaded(
        SimpleNamespace(batches_per_epoch=10, train_size=1000, start_epoch=1, epochs=3, settings={}, history=())
    )
    progress.on_batch(SimpleNamespace(epoch=2, batch=5, batches_per_epoch=10, samples_seen=500, samples_per_s=100.0))
    progress.on_epoch(1, 0.9, 0.3)
    assert progress.run_batches == 30 and progress.run_batches_done == 15
    assert progress.eta_seconds() == (500 + 1000) / 100.0  # rest of epoch 2, all of epoch 3
    progress.on_epoch(2, 0.8, 0.4)
    assert progress.best_acc == 0.9 and progress.best_epoch == 1


def test_the_eta_waits_for_a_settled_speed():
    """Sprint's first batch read 371 samples/s (oneDNN's start-up) and an ETA of 8:05 for 8 s."""
    progress = RunProgress(epochs=3)
    progress.on_loaded(
        SimpleNamespace(batches_per_epoch=100, train_size=10_000, start_epoch=1, epochs=3, settings={}, history=())
    )
    batch = lambda epoch, b, rate: SimpleNamespace(  # noqa: E731
        epoch=epoch, batch=b, batches_per_epoch=100, samples_seen=b * 100, samples_per_s=rate
    )
    progress.on_batch(batch(1, 1, 371.0))
    assert progress.eta_seconds() is None  # 1 % of the first epoch: no speed to go by yet
    progress.on_batch(batch(1, 100, 5000.0))
    progress.on_epoch(1, 0.9, 0.3)
    progress.on_batch(batch(2, 1, 400.0))  # the next epoch's first batch: the last epoch's speed
    assert progress.eta_seconds() == (9_900 + 10_000) / 5000.0
    progress.on_batch(batch(2, 10, 4000.0))  # 10 % in: its own
    assert progress.eta_seconds() == (9_000 + 10_000) / 4000.0


def test_run_progress_is_testing_between_an_epochs_last_batch_and_its_row():
    progress = RunProgress(epochs=3)
    progress.on_loaded(
        SimpleNamespace(batches_per_epoch=10, train_size=1000, start_epoch=1, epochs=3, settings={}, history=())
    )
    assert not progress.testing  # loaded, no batch yet
    progress.on_batch(SimpleNamespace(epoch=1, batch=9, batches_per_epoch=10, samples_seen=900, samples_per_s=1.0))
    assert not progress.testing
    progress.on_batch(SimpleNamespace(epoch=1, batch=10, batches_per_epoch=10, samples_seen=1000, samples_per_s=1.0))
    assert progress.testing  # every batch trained, the test set not yet evaluated
    progress.on_epoch(1, 0.9, 0.3)
    assert not progress.testing


def test_views_wrong_only_and_orderings():
    labels = np.array([0, 1, 2, 3])
    probs = np.eye(10, dtype=np.float32)[[0, 2, 2, 1]]  # indices 1 and 3 are wrong
    wrong_only = ViewSpec(wrong_only=True)
    assert list(build_view(ViewSpec(), None, labels).indices) == [0, 1, 2, 3]
    assert list(build_view(wrong_only, probs, labels).indices) == [1, 3]
    assert len(build_view(wrong_only, None, labels).indices) == 0
    hardest = ViewSpec(order="hardest")  # lowest probability on the true class first (stable)
    view = build_view(hardest, probs, labels)
    assert list(view.indices) == [1, 3, 0, 2] and view.title == "hardest first"
    assert len(build_view(hardest, None, labels).indices) == 0  # waits for predictions
    both = build_view(ViewSpec(order="hardest", wrong_only=True), probs, labels, epoch=2)  # filters combine
    assert list(both.indices) == [1, 3] and both.title == "hardest first · wrong only (2)"
    none = build_view(ViewSpec(), None, np.zeros(0, np.int64))  # a replay whose model could not be used
    assert len(none.indices) == 0 and "no test digits loaded" in none.empty_hint  # it said "no digits in this view"


def test_probability_bar_width_and_fill():
    assert probability_bar(0.0) == " " * 8
    assert probability_bar(1.0) == "█" * 8
    assert probability_bar(0.5) == "████    "
    assert len(probability_bar(0.33)) == 8


def test_the_loss_inbox_places_batches_by_their_own_report_not_the_screens_count():
    """A followed run opened from the workspace sent reports before the screen knew its batches
    per epoch (still 0): placed with that, every batch was drawn one epoch further on."""
    from mnist_tui.training.events import BatchEnd
    from mnist_tui.tui.bridge import LossInbox

    inbox = LossInbox()
    inbox.put(BatchEnd(3, 10, 20, (0.5, 0.4), 1000.0, 640, (0.01, 0.02), 1.7e9))
    assert inbox.drain() == [(2 + 9 / 20, 0.5, 0.01), (2 + 10 / 20, 0.4, 0.02)]
    assert inbox.drain() == []


def test_the_loss_inbox_places_a_partial_last_epoch_by_a_whole_epochs_batches():
    """Sprint's half epoch (10 batches where a whole one has 20) spread over a whole epoch's width:
    its last batch sat at x = 3 where 2.5 epochs were trained. The run's DataReady gives the count."""
    from types import SimpleNamespace

    import numpy as np

    from mnist_tui.training.events import BatchEnd, DataReady
    from mnist_tui.tui.bridge import LossInbox, SourceBridge

    inbox = LossInbox()
    bridge = SourceBridge(lambda message: None, inbox, SimpleNamespace())
    no_digits = np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    bridge(DataReady("mnist", "cpu", "fp32", 1280, 0, 20, 21840, None, *no_digits, epochs=3))
    bridge(BatchEnd(2, 20, 20, (0.3,), 1000.0, 1280, (0.01,), 1.7e9))
    bridge(BatchEnd(3, 10, 10, (0.2,), 1000.0, 640, (0.01,), 1.7e9))
    points = [item for item in inbox.drain() if isinstance(item, tuple)]
    assert points == [(2.0, 0.3, 0.01), (2.5, 0.2, 0.01)]


async def test_the_position_before_anything_is_loaded_is_a_dash_not_zeros():
    """A run loading and a follower waiting showed "epoch 0/0   batch 0/0"."""
    from textual.app import App

    from mnist_tui.tui.widgets.stats import StatsPanel

    class StatsApp(App):
        def compose(self):
            yield StatsPanel(id="stats")

    async with StatsApp().run_test(size=(60, 12)) as pilot:
        panel = pilot.app.query_one(StatsPanel)
        panel.show_position(0, 0, 0, 0)
        assert str(panel.query_one("#position-line").content) == "epoch –   batch –"
        panel.show_position(1, 10, 0, 0)
        assert str(panel.query_one("#position-line").content) == "epoch – of 10   batch –"
        panel.show_position(3, 10, 17, 59)
        assert str(panel.query_one("#position-line").content) == "epoch 3/10   batch 17/59"
        panel.show_position(3, 10, 59, 59, testing=True)  # the epoch's row comes after the test set
        assert str(panel.query_one("#position-line").content) == "epoch 3/10   batch 59/59   testing…"


def test_the_narrow_predictions_panel_says_why_it_has_no_guess_within_its_columns():
    """At 80×24, before epoch 1, the verdict column read "no preds", cut short with no word of why."""
    import numpy as np

    from mnist_tui.tui.widgets.predictions import PredictionsPanel

    panel = PredictionsPanel()
    panel.images, panel.labels = np.zeros((3, 28, 28), np.uint8), np.array([7, 2, 1])
    panel.indices, panel.compact = np.arange(3), True
    lines = [line.plain for line in panel._verdict_lines(0)]
    assert lines[:2] == ["#0", "true 7"] and "no guess" in lines
    assert max(len(line) for line in lines) <= 9  # the compact column's width


def test_the_predictions_panel_marks_a_wrong_guess_wrong_and_a_right_one_right():
    """The verdict's ✓/✗ compares the prediction with the true digit, in the wide and the narrow
    panel (a verdict that said ✓ for every guess would hide every mistake)."""
    import numpy as np

    from mnist_tui.tui.widgets.predictions import PredictionsPanel

    probabilities = np.full((2, 10), 0.02, np.float32)
    probabilities[0, 3] = probabilities[1, 2] = 0.82  # #0: a true 7 taken for a 3; #1: a true 2 taken for a 2
    for compact in (False, True):
        panel = PredictionsPanel()
        panel.images, panel.labels = np.zeros((2, 28, 28), np.uint8), np.array([7, 2])
        panel.indices, panel.compact, panel.probabilities = np.arange(2), compact, probabilities
        wrong, right = ([line.plain for line in panel._verdict_lines(i)] for i in (0, 1))
        verdict = 2 if compact else 1  # the narrow panel puts the true digit on a line of its own
        assert wrong[verdict].startswith("pred 3 ") and wrong[verdict].endswith("✗"), (compact, wrong)
        assert right[verdict].startswith("pred 2 ") and right[verdict].endswith("✓"), (compact, right)
        assert "✓" not in "".join(wrong) and "✗" not in "".join(right)


def test_weights_that_cannot_be_drawn_with_are_said_once_and_passed_on():
    """A snapshot that refused the weights was passed over without a word."""
    from mnist_tui.model_snapshot import ModelSnapshot
    from mnist_tui.training.events import ModelWeights
    from mnist_tui.tui import messages as msg
    from mnist_tui.tui.bridge import LossInbox, SourceBridge

    posted: list = []
    bridge = SourceBridge(posted.append, LossInbox(), ModelSnapshot())
    odd = {"conv1.weight": np.zeros((3, 3), dtype=np.float32)}  # not the net's shapes
    bridge(ModelWeights(1, odd))
    bridge(ModelWeights(2, odd))
    notices = [m.event.text for m in posted if isinstance(m, msg.NoticeReported)]
    assert len(notices) == 1 and notices[0].startswith("drawing keeps older weights: ")
    assert sum(isinstance(m, msg.ModelArrived) for m in posted) == 2


def test_a_plots_legend_keeps_the_entries_that_fit_whole():
    """At 80 columns the batch-loss legend's steering entry was cut to "│…"."""
    from mnist_tui.tui.widgets.live_plot import legend_line

    entries = [("⣀⡠", "batch", (1, 2, 3)), ("··", "lr (right)", (1, 2, 3)), ("│", "steered: lr ×2", (1, 2, 3))]
    assert legend_line(entries).plain.rstrip() == "⣀⡠ batch  ·· lr (right)  │ steered: lr ×2"
    fitted = legend_line(entries, width=30).plain.rstrip()
    assert fitted == "⣀⡠ batch  ·· lr (right)"


def test_the_header_line_cuts_the_folders_head_then_the_parts_words_never_the_runs_name():
    from mnist_tui.tui.header_line import fitted_sub_title

    parts, path = ("replay", "MNIST", "CNN 21,840 params", "cpu bf16"), "/tmp/ws/sweep/lr-0.001"
    whole = "replay · MNIST · CNN 21,840 params · cpu bf16 · /tmp/ws/sweep/lr-0.001"
    assert fitted_sub_title(parts, path, len(whole)) == whole
    cut = "replay · MNIST · CNN 21,840 params · cpu bf16 · …/ws/sweep/lr-0.001"
    assert fitted_sub_title(parts, path, len(whole) - 1) == cut
    assert fitted_sub_title(parts, path, 40) == "replay · MNIST · CNN · cpu · …/lr-0.001"
    assert fitted_sub_title(parts, path, 25) == "replay · …/sweep/lr-0.001"
    assert fitted_sub_title(parts, path, 9) == "lr-0.001"
    for room in range(9, len(whole) + 1):
        assert len(fitted_sub_title(parts, path, room)) <= room and "lr-0.001" in fitted_sub_title(parts, path, room)


def test_the_header_line_counts_wide_characters_as_two_cells():
    """Widths were counted in characters: a folder named in Japanese overran the header, which
    cut its end, the run's name, again."""
    from rich.cells import cell_len

    from mnist_tui.tui.header_line import fitted_sub_title

    parts, path = ("replay", "MNIST", "CNN 21,840 params", "cpu"), "/tmp/実験/スイープ/lr-0.001"
    for room in range(9, 70):
        fitted = fitted_sub_title(parts, path, room)
        assert cell_len(fitted) <= room and fitted.endswith("lr-0.001"), (room, fitted)


async def test_a_wrapped_message_in_the_predictions_panel_keeps_off_the_border_on_every_line():
    """ "no mistakes in this view after epoch 3: w shows all, esc clears every filter" wrapped
    to a second line that sat against the border, as did a missing-digits reason."""
    from textual.app import App

    from mnist_tui.tui.widgets.predictions import PredictionsPanel

    class PanelApp(App):
        def compose(self):
            yield PredictionsPanel()

    app = PanelApp()
    async with app.run_test(size=(40, 12)) as pilot:
        panel = app.query_one(PredictionsPanel)
        panel.never_loaded = "MNIST is not in /data/elsewhere (looked for /data/elsewhere/MNIST/raw)"
        panel.refresh()
        await pilot.pause(0.05)
        lines = [line for line in panel.render().plain.splitlines() if line.strip()]
        assert len(lines) > 1 and all(line.startswith(" ") and not line.startswith("  ") for line in lines), lines
        assert " ".join(" ".join(lines).split()) == f"no test digits: {panel.never_loaded}"


def test_the_draw_screens_note_keeps_epoch_and_its_number_on_one_line():
    """At 80×24 the guess column read "the model at epoch" over a lone "3"."""
    import numpy as np

    from mnist_tui.tui.widgets.guess_bars import guess_text

    probabilities = np.full(10, 0.1)
    for width in range(6, 31):
        note = guess_text(probabilities, "the model at epoch 3", width).renderables[-1].plain
        lines = note.splitlines()
        assert all(len(line) <= max(width + 9, 8) for line in lines), (width, lines)
        assert any(line.endswith("epoch\u00a03") for line in lines), (width, lines)
        assert " ".join(note.split()) == "the model at epoch 3"


def test_a_run_folder_holding_an_escape_sequence_is_shown_escaped_in_the_header():
    """The header wrote the folder's name as it is: ``runs/red\\x1b[31m`` coloured the screen."""
    from pathlib import Path

    from mnist_tui.tui.header_line import header_sub_title

    shown = header_sub_title(("replay",), Path("runs/red\x1b[31m"), 120, "mnist-tui")
    assert shown == "replay · runs/red\\x1b[31m"


def test_the_workspace_line_keeps_a_short_path_whole_beside_a_note_that_wraps_anyway():
    """At 120 columns "/tmp/qa/c1" was cut to "…mp/qa/c1" beside a note running over 3 lines."""
    from mnist_tui.tui.header_line import run_line

    long_note = "skipped 1 damaged row of metrics.jsonl (line 2 is not JSON); " * 3
    assert run_line("/tmp/qa/c1", long_note, 0, 118).plain.startswith("/tmp/qa/c1  skipped")
    short = run_line("/very/long/path/to/a/workspace/of/runs/sweep/lr-0.001", "format 1", 2, 80).plain
    assert len(short) <= 80 and short.startswith("…") and "lr-0.001  format 1  · 2 more columns" in short
