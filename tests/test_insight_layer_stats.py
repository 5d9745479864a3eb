"""Per-layer statistics: the values, the JSON row and its validation, and layers.jsonl."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mnist_tui.insight.layer_records import BINS, LAYERS, LayerStatsError, LayerStatsRecord
from mnist_tui.insight.layer_stats import (
    epoch_layer_stats,
    histogram_band,
    rebin,
    series,
    weights_copy,
)
from mnist_tui.model import Net
from mnist_tui.runfolder.layers_log import (
    LAYERS_NAME,
    append_layer_stats,
    read_layer_stats,
    truncate_layer_stats,
)


def trained_one_step() -> tuple[Net, dict]:
    torch.manual_seed(0)
    net = Net()
    start = weights_copy(net)
    optimiser = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    optimiser.zero_grad()
    F.cross_entropy(net(x), y).backward()
    optimiser.step()
    return net, start


def test_statistics_are_the_norms_ratio_and_histogram_of_each_weight():
    net, start = trained_one_step()
    record = epoch_layer_stats(3, net, start)
    assert record.epoch == 3 and record.names == LAYERS
    for name in LAYERS:
        w = getattr(net, name).weight.detach().double()
        stats = record.layer(name)
        assert stats.weight_norm == pytest.approx(float(w.norm()), rel=1e-9)
        assert stats.grad_norm == pytest.approx(float(getattr(net, name).weight.grad.double().norm()), rel=1e-6)
        moved = float((w - start[name].double()).norm())
        assert stats.update_ratio == pytest.approx(moved / float(w.norm()), rel=1e-6)
        assert stats.update_ratio > 0
        assert len(stats.hist_counts) == BINS and sum(stats.hist_counts) == w.numel()
        assert stats.hist_min == pytest.approx(float(w.min())) and stats.hist_max == pytest.approx(float(w.max()))
        expected, _ = np.histogram(w.numpy(), bins=BINS, range=(stats.hist_min, stats.hist_max))
        assert list(stats.hist_counts) == expected.tolist()


def test_missing_gradient_and_start_copy_are_none_and_weights_copy_is_a_copy():
    net = Net()
    copy = weights_copy(net)
    assert set(copy) == set(LAYERS)
    with torch.no_grad():
        net.fc2.weight.add_(1.0)
    assert not torch.equal(copy["fc2"], net.fc2.weight)
    record = epoch_layer_stats(1, net)
    assert all(s.grad_norm is None and s.update_ratio is None for s in record.layers)


def test_non_finite_weights_are_recorded_as_none_never_nan():
    net = Net()
    with torch.no_grad():
        net.fc2.weight[0, 0] = float("nan")
    record = epoch_layer_stats(1, net, weights_copy(net))
    stats = record.layer("fc2")
    assert stats.weight_norm is None and stats.update_ratio is None
    assert sum(stats.hist_counts) == net.fc2.weight.numel() - 1
    assert LayerStatsRecord.from_json(record.to_json()) == record


def test_json_round_trip_is_exact():
    net, start = trained_one_step()
    record = epoch_layer_stats(2, net, start)
    line = record.to_json()
    assert "\n" not in line
    assert LayerStatsRecord.from_json(line) == record
    assert LayerStatsRecord.from_json(line.encode()) == record


def _row() -> dict:
    net, start = trained_one_step()
    return json.loads(epoch_layer_stats(2, net, start).to_json())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.update(epoch="2"), "epoch"),
        (lambda r: r.update(epoch=True), "epoch"),
        (lambda r: r.update(epoch=-1), "epoch"),
        (lambda r: r.pop("layers"), "layers"),
        (lambda r: r.update(layers={}), "layers"),
        (lambda r: r["layers"].update(conv1=[1]), "layers.conv1"),
        (lambda r: r["layers"]["fc1"].update(weight_norm="big"), "layers.fc1.weight_norm"),
        (lambda r: r["layers"]["fc1"].update(grad_norm=-1.0), "layers.fc1.grad_norm"),
        (lambda r: r["layers"]["fc2"].update(update_ratio=[0.1]), "layers.fc2.update_ratio"),
        (lambda r: r["layers"]["conv2"].pop("hist"), "layers.conv2.hist"),
        (lambda r: r["layers"]["conv2"]["hist"].update(min=None), "layers.conv2.hist.min"),
        (lambda r: r["layers"]["conv2"]["hist"].update(max=-5.0), "layers.conv2.hist.max"),
        (lambda r: r["layers"]["conv2"]["hist"].update(counts=[1, -2]), "layers.conv2.hist.counts"),
        (lambda r: r["layers"]["conv2"]["hist"].update(counts=[]), "layers.conv2.hist.counts"),
        (lambda r: r["layers"]["conv2"]["hist"].update(counts=[1.5]), "layers.conv2.hist.counts"),
        # too big for a float: math.isfinite raised OverflowError, not the row's error
        (lambda r: r["layers"]["fc1"].update(weight_norm=10**400), "layers.fc1.weight_norm"),
        (lambda r: r["layers"]["conv2"]["hist"].update(min=-(10**400)), "layers.conv2.hist.min"),
    ],
)
def test_a_bad_row_is_rejected_naming_the_field(change, field):
    row = _row()
    change(row)
    with pytest.raises(LayerStatsError) as caught:
        LayerStatsRecord.from_json(json.dumps(row))
    assert caught.value.field == field
    assert field in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("line", ["", "{", "[1, 2]", "null", '{"epoch": NaN, "layers": {}}', b"\xff\xfe"])
def test_lines_that_are_not_a_row_are_rejected(line):
    with pytest.raises(LayerStatsError):
        LayerStatsRecord.from_json(line)


def _records(epochs) -> list[LayerStatsRecord]:
    net, start = trained_one_step()
    return [epoch_layer_stats(e, net, start) for e in epochs]


def read(run_dir) -> tuple[list[LayerStatsRecord], int]:
    rows = read_layer_stats(run_dir)
    return rows.records, rows.skipped


def test_layers_file_written_per_epoch_and_read_back(tmp_path):
    assert read(tmp_path) == ([], 0)
    records = _records([1, 2, 3])
    for record in records:
        append_layer_stats(tmp_path, record)
    assert (tmp_path / LAYERS_NAME).read_text().count("\n") == 3
    assert read(tmp_path) == (records, 0)


def test_a_torn_last_line_waits_and_the_next_append_does_not_fuse_with_it(tmp_path):
    one, two, three = _records([1, 2, 3])
    append_layer_stats(tmp_path, one)
    with open(tmp_path / LAYERS_NAME, "a") as f:
        f.write(two.to_json()[:57])  # being written (or a crash mid-write): not yet a damaged row
    assert read(tmp_path) == ([one], 0)
    append_layer_stats(tmp_path, three)  # closes the torn line off: now it is one, and skipped
    assert read(tmp_path) == ([one, three], 1)


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_fifo_or_a_folder_in_its_place_is_one_line_and_never_blocks(tmp_path, kind):
    """A FIFO named layers.jsonl hung a replay; a folder there raised IsADirectoryError."""
    from mnist_tui.errors import UserError

    if kind == "fifo":
        os.mkfifo(tmp_path / LAYERS_NAME)
    else:
        (tmp_path / LAYERS_NAME).mkdir()
    with pytest.raises(UserError, match="layers.jsonl"):
        read_layer_stats(tmp_path)


def test_a_corrupted_row_costs_that_row_only(tmp_path):
    one, two, three = _records([1, 2, 3])
    bad = json.loads(two.to_json())
    bad["layers"]["fc1"]["hist"]["counts"] = "lots"
    (tmp_path / LAYERS_NAME).write_text(f"{one.to_json()}\n{json.dumps(bad)}\n\n{three.to_json()}\ngarbage\n")
    assert read(tmp_path) == ([one, three], 2)


def test_truncate_on_resume_keeps_earlier_epochs_atomically(tmp_path):
    records = _records([1, 2, 3, 4])
    for record in records:
        append_layer_stats(tmp_path, record)
    with open(tmp_path / LAYERS_NAME, "a") as f:
        f.write("{torn")
    assert truncate_layer_stats(tmp_path, keep_epochs=2) == 2
    assert read(tmp_path) == (records[:2], 0)
    assert [p.name for p in tmp_path.iterdir()] == [LAYERS_NAME]  # no temporary file left
    # the resumed run writes epoch 3 again; a duplicate epoch (no truncation) is won by the later row
    again = _records([3])[0]
    append_layer_stats(tmp_path, again)
    append_layer_stats(tmp_path, records[0])
    kept, skipped = read(tmp_path)
    assert [r.epoch for r in kept] == [1, 2, 3] and skipped == 0
    assert truncate_layer_stats(tmp_path / "elsewhere", 1) == 0


def test_append_is_synced(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    append_layer_stats(tmp_path, _records([1])[0])
    assert synced


def test_series_and_histogram_band_for_display():
    records = _records([1, 2])
    epochs, values = series(records, "fc1", "weight_norm")
    assert epochs == [1, 2] and values == [r.layer("fc1").weight_norm for r in records]
    band_epochs, band, lo, hi = histogram_band(records, "conv1", bins=12)
    assert band_epochs == [1, 2] and band.shape == (2, 12)
    np.testing.assert_allclose(band.sum(axis=1), [sum(r.layer("conv1").hist_counts) for r in records])
    assert histogram_band([], "conv1")[1].shape == (0, BINS)


def test_rebin_shares_counts_by_overlap():
    np.testing.assert_allclose(rebin([4, 2], 0.0, 1.0, np.array([0.0, 0.25, 0.5, 1.0])), [2, 2, 2])
    np.testing.assert_allclose(rebin([5], 0.3, 0.3, np.linspace(0, 1, 5)), [0, 5, 0, 0])
    np.testing.assert_allclose(rebin([3, 1], -1.0, 0.0, np.linspace(-2, 2, 5)), [0, 4, 0, 0])


def test_a_resumed_run_shows_its_earlier_epochs_layer_statistics_first(tiny_config, small_synthetic):
    """The Layers tab of a resumed live run covered only its new epochs: the face never saw the
    saved ones (a replay of the same folder showed them all)."""
    from mnist_tui.training.checkpoint import load_checkpoint
    from mnist_tui.training.loop import Trainer

    first = tiny_config.with_changes(epochs=2, limit_train=128)
    Trainer(first, lambda event: None, datasets=small_synthetic).run()
    seen: list = []
    resumed = first.with_changes(epochs=3)
    state = load_checkpoint(first.run_dir)
    Trainer(resumed, seen.append, resume_state=state, datasets=small_synthetic).run()
    epochs = [event.epoch for event in seen if isinstance(event, LayerStatsRecord)]
    assert epochs == [1, 2, 3]
