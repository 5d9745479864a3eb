"""Preprocessing a hand-drawn digit the way MNIST digits were made, and predicting it."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from mnist_tui.data import MEAN, STD
from mnist_tui.drawing import (
    CENTRE,
    centre_of_mass,
    ink_bbox,
    line_cells,
    mnist_like,
    paint,
    predict_probabilities,
    to_model_input,
)
from mnist_tui.model import Net
from mnist_tui.model_snapshot import ModelSnapshot


def _stroke_seven(size: int = 28, top: int = 1, left: int = 1, span: int = 10) -> np.ndarray:
    """A lopsided '7' drawn with the soft brush at a given place and size."""
    grid = np.zeros((size, size), dtype=np.float32)
    for r, c in line_cells(top, left, top, left + span):
        paint(grid, r, c)
    for r, c in line_cells(top, left + span, top + 2 * span, left + span // 3):
        paint(grid, r, c)
    return grid


@pytest.mark.parametrize(
    "grid",
    [
        _stroke_seven(),  # small, in the top-left corner
        _stroke_seven(top=1, left=1, span=13),  # filling the canvas
        _stroke_seven(size=56, top=30, left=35, span=9),  # a finer grid, bottom-right
    ],
    ids=["small-corner", "full", "fine-grid"],
)
def test_drawing_is_fitted_in_20x20_and_centred_by_mass(grid):
    image = mnist_like(grid)
    assert image.shape == (28, 28) and image.dtype == np.float32
    top, bottom, left, right = ink_bbox(image, threshold=0.0)
    assert bottom - top + 1 <= 20 and right - left + 1 <= 20
    assert max(bottom - top + 1, right - left + 1) >= 19  # scaled up to the box, not left tiny
    cy, cx = centre_of_mass(image)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5
    assert image.min() >= 0.0 and image.max() <= 1.0


def test_aspect_ratio_is_kept():
    grid = np.zeros((28, 28), dtype=np.float32)
    grid[4:24, 12:16] = 1.0  # a tall bar, 20 × 4
    image = mnist_like(grid)
    top, bottom, left, right = ink_bbox(image, threshold=0.5)
    assert bottom - top + 1 == 20
    assert 3 <= right - left + 1 <= 5


def test_empty_drawing_gives_none_and_no_prediction():
    assert mnist_like(np.zeros((28, 28))) is None
    assert mnist_like(np.full((28, 28), 0.01)) is None  # only faint halo: still empty
    assert predict_probabilities(Net(), np.zeros((28, 28))) is None
    assert ModelSnapshot()(np.ones((28, 28))) is None  # no model yet


def test_a_real_digit_moved_and_scaled_comes_back(real_mnist):
    digit = real_mnist.test_images[0].numpy().astype(np.float32) / 255.0
    big = torch.nn.functional.interpolate(torch.from_numpy(digit)[None, None], scale_factor=2, mode="bilinear")
    canvas = np.zeros((80, 80), dtype=np.float32)
    canvas[22:78, 3:59] = big[0, 0].numpy()  # off-centre, twice as large, on a finer grid
    restored = mnist_like(canvas)
    correlation = np.corrcoef(restored.ravel(), digit.ravel())[0, 1]
    assert correlation > 0.85


def test_model_input_is_normalised_like_the_training_data():
    image = np.zeros((28, 28), dtype=np.float32)
    image[10, 10] = 1.0
    x = to_model_input(image)
    assert x.shape == (1, 1, 28, 28)
    assert x[0, 0, 0, 0].item() == pytest.approx(-MEAN / STD, abs=1e-6)
    assert x[0, 0, 10, 10].item() == pytest.approx((1 - MEAN) / STD, abs=1e-6)


def test_brush_is_soft_and_erasing_removes_ink():
    grid = np.zeros((28, 28), dtype=np.float32)
    paint(grid, 0, 0)  # at the edge: clipped, no error
    paint(grid, 10, 10)
    paint(grid, 10, 10)  # painting twice does not build up
    assert grid[10, 10] == 1.0 and grid[10, 11] == 0.5 and grid[11, 11] == 0.25
    assert grid[0, 0] == 1.0 and grid[1, 1] == 0.25
    paint(grid, 40, 40)  # outside: ignored
    paint(grid, 11, 10, erase=True)  # the brush's footprint, one row down: rows 10 to 12 cleared
    assert not grid[10:13, 9:12].any() and grid[9, 10] == 0.5 and grid[9, 11] == 0.25


def test_line_cells_have_no_gaps():
    cells = line_cells(0, 0, 3, 9)
    assert cells[0] == (0, 0) and cells[-1] == (3, 9)
    assert all(max(abs(a[0] - b[0]), abs(a[1] - b[1])) == 1 for a, b in zip(cells, cells[1:], strict=False))


def test_snapshot_predicts_with_a_copy_not_the_live_model():
    torch.manual_seed(0)
    live = Net()
    live.train()
    snapshot = ModelSnapshot()
    snapshot.update(live.state_dict(), 3)
    grid = _stroke_seven()
    before = snapshot(grid)
    assert before.shape == (10,) and before.sum() == pytest.approx(1.0, abs=1e-5)
    assert live.training  # predicting never switched the trained model to eval
    with torch.no_grad():
        for p in live.parameters():
            p.add_(1.0)
    assert np.allclose(snapshot(grid), before)  # the copy did not change with the live weights
    assert np.allclose(predict_probabilities(snapshot._model, grid), before)
    assert snapshot.epoch == 3


def test_snapshot_can_be_used_from_several_threads():
    snapshot = ModelSnapshot()
    snapshot.update(Net().state_dict())
    results: list[np.ndarray] = []

    def predict():
        results.append(snapshot(_stroke_seven()))

    threads = [threading.Thread(target=predict) for _ in range(4)]
    for t in threads:
        t.start()
    snapshot.update(Net().state_dict())  # a refresh while predicting
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r.shape == (10,) for r in results)


def test_weights_copied_during_an_epoch_are_not_called_its_end():
    """Every 3 s the trainer sends a copy of the weights taken mid-epoch: the draw screen said
    "the model at epoch 2" and the model view "epoch 2" for weights half-way through it."""
    from mnist_tui.insight.filters import read_weights
    from mnist_tui.model import Net
    from mnist_tui.tui.screens.model_view_text import title_line

    snapshot = ModelSnapshot()
    arrays = {k: v.numpy() for k, v in Net().state_dict().items()}
    snapshot.update_arrays(arrays, 2, in_progress=True)
    assert snapshot.label == "the model during epoch 2"
    assert "· during epoch 2 ·" in title_line(read_weights(snapshot), None, None, None)
    snapshot.update_arrays(arrays, 2)
    assert snapshot.label == "the model at epoch 2"
    assert "during" not in title_line(read_weights(snapshot), None, None, None)
