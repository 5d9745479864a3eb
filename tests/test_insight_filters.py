"""Filters from known weights, and every kind of source the model view may be given."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cells import cell_colors

from mnist_tui.insight.filters import Weights, conv1_filters, conv2_filters, read_weights, state_arrays
from mnist_tui.insight.render import NEGATIVE, POSITIVE, signed_halfblocks, tile_grid
from mnist_tui.model import Net
from mnist_tui.model_snapshot import ModelSnapshot


def known_net() -> Net:
    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():
        net.conv1.weight.copy_(torch.arange(250, dtype=torch.float32).reshape(10, 1, 5, 5) - 125)
        net.conv2.weight.copy_(torch.linspace(-1, 1, 5000).reshape(20, 10, 5, 5))
    return net


def test_conv_kernels_come_out_as_numpy_in_the_layers_layout():
    net = known_net()
    c1, c2 = conv1_filters(net), conv2_filters(net.state_dict())
    assert c1.shape == (10, 5, 5) and c1.dtype == np.float32
    assert c2.shape == (20, 10, 5, 5)
    np.testing.assert_array_equal(c1[3], net.conv1.weight[3, 0].detach().numpy())
    np.testing.assert_array_equal(c2[7, 4], net.conv2.weight[7, 4].detach().numpy())
    # a dict of numpy arrays works too, and the result is a copy
    arrays = {k: v.numpy() for k, v in net.state_dict().items()}
    c1[:] = 0
    np.testing.assert_array_equal(conv1_filters(arrays)[0, 0, 0], -125)


def test_wrong_shapes_and_missing_keys_are_reported():
    with pytest.raises(KeyError, match="conv1.weight"):
        conv1_filters({})
    with pytest.raises(ValueError, match="shape"):
        conv2_filters({"conv2.weight": np.zeros((20, 10, 3, 3))})


def test_a_filter_drawn_from_known_weights_renders_the_expected_cells():
    kernel = np.zeros((10, 1, 5, 5), dtype=np.float32)
    kernel[0, 0, 0, 0] = 0.5  # top-left: the strongest positive weight
    kernel[0, 0, 1, 0] = -0.5  # under it: as strong, negative
    kernel[0, 0, 4, 4] = 0.25  # bottom-right, alone in the last (half) row
    lines = signed_halfblocks(conv1_filters({"conv1.weight": kernel})[0])
    assert len(lines) == 3 and all(len(line) == 5 for line in lines)
    red, blue = "#{:02x}{:02x}{:02x}".format(*POSITIVE), "#{:02x}{:02x}{:02x}".format(*NEGATIVE)
    assert cell_colors(lines[0])[0] == ("▀", red, blue)
    assert cell_colors(lines[0])[1:] == [("▀", "#000000", "#000000")] * 4
    half_red = "#{:02x}{:02x}{:02x}".format(*(round(c / 2) for c in POSITIVE))
    assert cell_colors(lines[2]) == [("▀", "#000000", None)] * 4 + [("▀", half_red, None)]


def test_ten_conv1_filters_fit_in_rows_at_80_columns():
    filters = conv1_filters(known_net())
    grid = tile_grid([signed_halfblocks(f, zoom=2) for f in filters], [str(i) for i in range(10)], width=78)
    lines = grid.plain.split("\n")
    assert max(len(line) for line in lines) <= 78
    assert len(lines) == 2 * (1 + 5)  # two rows of tiles, each a label line and 5 cell lines


def test_read_weights_takes_modules_state_dicts_snapshots_and_copies():
    net = known_net()
    snapshot = ModelSnapshot()
    assert read_weights(None) is None and read_weights(snapshot) is None
    snapshot.update(net.state_dict(), 4)
    from_snapshot = read_weights(snapshot)
    assert from_snapshot.epoch == 4
    assert from_snapshot.same_values(read_weights(net))
    assert read_weights(net.state_dict(), epoch=2).epoch == 2
    assert read_weights(from_snapshot) is from_snapshot
    # a copy: changing the network afterwards does not change it
    with torch.no_grad():
        net.conv1.weight.add_(1)
    assert not from_snapshot.same_values(read_weights(net))
    rebuilt = from_snapshot.network()
    assert not rebuilt.training
    np.testing.assert_array_equal(rebuilt.conv1.weight.detach().numpy(), from_snapshot.state["conv1.weight"])
    assert set(state_arrays(Weights(from_snapshot.state))) == set(net.state_dict())
    with pytest.raises(TypeError):
        read_weights(object())
