"""The dashboard's `s` key: writes the last finished epoch's checkpoint, also while paused."""

from __future__ import annotations

from waiting import pilot_wait as _wait_for

from mnist_tui.sources.training import TrainingSource
from mnist_tui.training.checkpoint import load_checkpoint
from mnist_tui.training.saving import CheckpointKeeper
from mnist_tui.tui.app import MnistApp


def _messages(app: MnistApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_s_saves_the_last_finished_epoch_while_paused(tiny_config, small_synthetic, monkeypatch):
    """`s` while paused writes the last finished epoch's checkpoint, once, and nothing else writes
    one meanwhile (the keeper's writes are counted, not watched for over a quiet spell)."""
    writes: list[int] = []  # the epoch of each checkpoint the keeper writes
    write = CheckpointKeeper._write

    def counted_write(keeper):
        writes.append(keeper.saved[0])
        return write(keeper)

    monkeypatch.setattr(CheckpointKeeper, "_write", counted_write)
    config = tiny_config.with_changes(epochs=200, limit_train=512)
    checkpoint = config.run_dir / "checkpoint.pt"
    app = MnistApp(TrainingSource(config, datasets=small_synthetic, hold=True))
    dashboard = app.dashboard
    async with app.run_test(size=(120, 40)) as pilot:
        await _wait_for(pilot, lambda: dashboard.state == "ready", "the data to load")
        await pilot.press("s")
        await _wait_for(pilot, lambda: any("nothing to save yet" in m for m in _messages(app)), "the notice")
        assert writes == []

        await pilot.press("space")
        await _wait_for(pilot, checkpoint.exists, "epoch 1's checkpoint")
        await pilot.press("space")  # pause: nothing but `s` writes the checkpoint now
        await _wait_for(pilot, lambda: dashboard.state == "paused", "the pause")
        # the loop says "paused" only at a batch's start: an epoch's own save came before it
        epoch = load_checkpoint(checkpoint)["epoch"]
        at_pause = list(writes)
        assert at_pause == list(range(1, epoch + 1))  # each finished epoch written once, the last on disk
        checkpoint.unlink()

        await pilot.press("s")
        await _wait_for(pilot, lambda: any(f"saved epoch {epoch}" in m for m in _messages(app)), "the saved notice")
        assert checkpoint.exists() and load_checkpoint(checkpoint)["epoch"] == epoch
        assert writes == [*at_pause, epoch]  # one write, by `s`: none by the paused loop
        await pilot.press("q")
    assert app.source_done.wait(10)


async def test_a_save_that_breaks_is_said_not_lost(tiny_config, monkeypatch):
    """`s` whose save raised anything but an OSError: the worker's error went nowhere, not a word."""
    source = TrainingSource(tiny_config, hold=True)

    def broken():
        raise RuntimeError("the checkpoint's tensors could not be pickled")

    monkeypatch.setattr(source, "save_now", broken)
    app = MnistApp(source, launch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        said = "could not save: RuntimeError: the checkpoint's tensors could not be pickled"
        await _wait_for(pilot, lambda: said in _messages(app), "the notice")
