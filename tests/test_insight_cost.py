"""Per-epoch layer statistics cost at most 2 % of an epoch (issue 13), measured against training batches."""

from __future__ import annotations

import time

import torch
from torch.nn import functional as F

from mnist_tui.insight.layer_stats import epoch_layer_stats, weights_copy
from mnist_tui.model import Net


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def test_layer_statistics_cost_under_two_percent_of_ten_batches():
    # a real epoch is 469 batches of 128 or more; ten batches of 64 is a deliberately harsh yardstick
    torch.manual_seed(0)
    net = Net()
    optimiser = torch.optim.SGD(net.parameters(), lr=0.01)
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))

    def ten_batches() -> None:
        for _ in range(10):
            optimiser.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            optimiser.step()

    batches = _best(ten_batches, 2)
    start = weights_copy(net)
    stats = _best(lambda: epoch_layer_stats(1, net, weights_copy(net)), 10)
    assert epoch_layer_stats(1, net, start).layer("fc1").grad_norm is not None
    assert stats < 0.02 * batches, f"layer statistics {stats * 1e3:.2f} ms vs 10 batches {batches * 1e3:.0f} ms"
