"""What one plot redraw costs on the UI thread, now and as the plots were drawn before (1a28baf).

    PYTHONPATH=. python benchmarks/plot_cost.py [--repeat 7]

Feeds a finished 10-epoch run (118 batches an epoch, as real MNIST at batch 512) into the three
plots laid out as the dashboard lays them out (plots column beside the 52-column side panel) at
120×40 and 80×24, and times one full redraw (layout: thinning, EMA, ticks; then plotext's
build) per plot: min and median of --repeat, before and now alternated (the machine is
shared). "before": the old drawing (every kept raw point and a smoothed copy, plotext's own
ticks) at the same size.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time

from textual.app import App
from textual.containers import Horizontal, Vertical
from textual_plotext.plot import Plot

from mnist_tui.tui.plot_settings import PlotSettings
from mnist_tui.tui.series import BoundedSeries, Smoother
from mnist_tui.tui.widgets.epoch_plot import AccuracyPlot, EpochLossPlot
from mnist_tui.tui.widgets.loss_plot import BatchLossPlot

EPOCHS, BATCHES = 10, 118


class Layout(App):
    CSS = "#side { width: 52; } #plots { width: 1fr; } .narrow #eloss { display: none; }"

    def compose(self):
        with Horizontal():
            with Vertical(id="plots"):
                yield BatchLossPlot(id="loss", settings=PlotSettings())
                with Horizontal():
                    yield AccuracyPlot(id="acc", settings=PlotSettings())
                    yield EpochLossPlot(id="eloss", settings=PlotSettings())
            yield Vertical(id="side")


def feed(app) -> tuple[list[float], list[float]]:
    rng = random.Random(0)
    loss = app.query_one("#loss", BatchLossPlot)
    for e in range(EPOCHS):
        for b in range(BATCHES):
            x = e + (b + 1) / BATCHES
            loss.add(x, 2.3 * math.exp(-5 * x) + 0.03 + abs(rng.gauss(0, 0.02)), 0.01 * math.sin(math.pi * x / 10))
        acc = 100 - 30 / (e + 1) ** 2
        app.query_one("#acc", AccuracyPlot).add(e + 1, acc, acc + 0.3)
        app.query_one("#eloss", EpochLossPlot).add(e + 1, 0.9 / (e + 1) ** 2, 0.1 / (e + 1))
    return loss.raw.xs, loss.raw.ys


def legacy(kind: str, w: int, h: int, xs, ys) -> Plot:
    plt = Plot()
    plt.plotsize(w, h)
    plt._set_size(w, h)
    plt.title("t")
    plt.xlabel("epoch")
    plt.ylabel("y")
    if kind == "loss":
        smooth, s = BoundedSeries(1000), Smoother(1 - 2 / 12)
        for x, y in zip(xs, ys, strict=True):
            smooth.append(x, s(y))
        plt.plot(xs, ys, color="gray", marker="braille", label="batch")
        plt.plot(smooth.xs, smooth.ys, color="cyan+", marker="braille", label="smoothed")
    else:
        epochs = list(range(1, EPOCHS + 1))
        plt.plot(epochs, [1 / e for e in epochs], color="orange", marker="dot", label="train")
        plt.plot(epochs, [2 / e for e in epochs], color="green+", marker="dot", label="test")
        plt.xticks(epochs)
    return plt


def timed_pair(first, second, repeat: int) -> tuple[str, str]:
    """Alternate the two (the machine is shared: load hits both alike); 'min / median' ms."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((first, times[0]), (second, times[1])):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
    return tuple(f"{min(ts):5.1f} / {statistics.median(ts):5.1f}" for ts in times)


async def measure(size: tuple[int, int], repeat: int) -> None:
    app = Layout()
    async with app.run_test(size=size) as pilot:
        if size[0] < 100:
            app.screen.add_class("narrow")
        xs, ys = feed(app)
        await pilot.pause()
        for plot in app.query("LivePlot"):
            if not plot.display:
                print(f"{size[0]}x{size[1]}  {plot.id:6} hidden at this size (display: none): not drawn")
                continue
            w, h = plot.size.width, plot.size.height

            def now(plot=plot, w=w, h=h):
                plot._lay_out(w, h)
                plot.render()

            kind = "loss" if plot.id == "loss" else "epoch"
            before, after = timed_pair(lambda kind=kind, w=w, h=h: legacy(kind, w, h, xs, ys).build(), now, repeat)
            print(f"{size[0]}x{size[1]}  {plot.id:6} {w}x{h} cells: before {before} ms   now {after} ms (min / median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for size in ((120, 40), (80, 24)):
        asyncio.run(measure(size, args.repeat))


if __name__ == "__main__":
    main()
