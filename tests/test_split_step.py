"""The split CPU step (mnist_tui.training.split_step): each half of a batch on its own thread."""

from __future__ import annotations

import sys
import threading

import pytest
import torch

from mnist_tui.config import Config
from mnist_tui.model import Net
from mnist_tui.training.build import make_optimizer
from mnist_tui.training.control import TrainingControl
from mnist_tui.training.split_step import use_split_step
from mnist_tui.training.steps import EpochRun, release, take_batch, train_step


@pytest.fixture
def two_threads():
    """The split step's setting: 2 op threads (xdist workers may have been given another count)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def make_run(data, batch_size=1024, precision="fp32", seed=0) -> EpochRun:
    torch.manual_seed(seed)
    model = Net(0.2, 0.3).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, 1e-2, torch.device("cpu"))
    return EpochRun(
        model, optimizer, None, data.train_images, data.train_labels, batch_size, precision, TrainingControl(),
        emit=lambda event: None, base_lr=1e-2,
    )  # fmt: skip


def weights(run: EpochRun) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in run.model.parameters()])


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_masks_drawn_ahead_are_the_ones_dropout_draws(precision):
    """The same outputs, bit for bit, and the generator left where dropout leaves it."""
    torch.manual_seed(3)
    net = Net(0.3, 0.2).to(memory_format=torch.channels_last).train()
    x = torch.randn(300, 1, 28, 28)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        torch.manual_seed(7)
        own = net(x)
        after_own = torch.rand(4)
        torch.manual_seed(7)
        ahead = net(x, net.dropout_masks(len(x), dtype))
        after_ahead = torch.rand(4)
    assert own.dtype == ahead.dtype == dtype
    assert torch.equal(own, ahead)
    assert torch.equal(after_own, after_ahead)
    assert net.eval().dropout_masks(5, dtype) == (None, None)  # evaluation draws nothing
    assert Net(0.0, 0.0).train().dropout_masks(5, dtype) == (None, None)


def test_a_split_step_is_the_whole_batch_step_up_to_rounding(small_synthetic, two_threads):
    whole, split = make_run(small_synthetic), make_run(small_synthetic)
    use_split_step(split, "auto")
    assert split.split is not None
    idx = torch.arange(512)
    torch.manual_seed(11)
    loss, hits = train_step(whole, idx)
    torch.manual_seed(11)
    split_loss, split_hits = split.split(*take_batch(split.images, split.labels, idx))
    assert int(split_hits) == int(hits)
    assert float(split_loss) == pytest.approx(float(loss), rel=1e-5)
    moved = weights(whole) - weights(make_run(small_synthetic))
    assert moved.abs().max() > 1e-4  # the step did change the weights
    assert torch.allclose(weights(split), weights(whole), rtol=1e-4, atol=1e-6)
    release(split)


def test_the_same_seed_trains_the_same_weights_bit_for_bit(small_synthetic, two_threads):
    """Both halves' dropout comes from masks drawn before the threads start."""
    results = []
    for _ in range(2):
        run = make_run(small_synthetic, batch_size=799)  # uneven halves too: 400 and 399 (twice), then 201 and 201
        use_split_step(run, "auto")
        torch.manual_seed(5)
        for start in range(0, 2000, 799):
            run.split(*take_batch(run.images, run.labels, torch.arange(start, min(start + 799, 2000))))
        results.append(weights(run))
        release(run)
    assert torch.equal(results[0], results[1])


def _count_in_a_new_thread() -> int:
    counts = []
    thread = threading.Thread(target=lambda: counts.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return counts[0]


def test_each_half_runs_on_one_op_thread_and_other_threads_keep_their_count(small_synthetic, two_threads):
    """A thread started during a step (a UI worker) takes torch's record of the count: still 2."""
    run = make_run(small_synthetic)
    use_split_step(run, "auto")
    helpers = [helper.submit(torch.get_num_threads).result() for helper in run.split._halves]
    seen, started_meanwhile = [], []
    original = run.split._half

    def half(*args):
        seen.append(torch.get_num_threads())
        started_meanwhile.append(_count_in_a_new_thread())
        return original(*args)

    run.split._half = half
    run.split(*take_batch(run.images, run.labels, torch.arange(512)))
    assert helpers == [1, 1] and seen == [1, 1]
    assert started_meanwhile == [2, 2] and _count_in_a_new_thread() == 2
    assert torch.get_num_threads() == 2
    release(run)
    assert not any(t.name.startswith("mnist-tui-half-batch") for t in threading.enumerate())


def test_threads_started_while_split_steps_are_built_keep_torchs_count(small_synthetic, two_threads):
    """The helpers set their own count with OpenMP's call, not torch's record that new threads take."""
    from mnist_tui.training.op_threads import torchs_openmp
    from mnist_tui.training.split_step import SplitStep

    if sys.platform.startswith("linux"):
        assert torchs_openmp() is not None  # torch's wheels ship their libgomp: the per-thread call is used
    run, counts, building = make_run(small_synthetic), [], threading.Event()

    def start_threads() -> None:
        while not building.is_set():
            counts.append(_count_in_a_new_thread())

    starter = threading.Thread(target=start_threads)
    starter.start()
    for _ in range(40):
        step = SplitStep(run.model, run.optimizer, "fp32")
        assert [helper.submit(torch.get_num_threads).result() for helper in step._halves] == [1, 1]
        step.close()
    building.set()
    starter.join()
    assert len(counts) > 10 and set(counts) == {2}


def test_an_error_in_the_helpers_half_reaches_the_caller(small_synthetic, two_threads):
    run = make_run(small_synthetic)
    use_split_step(run, "auto")
    x, y = take_batch(run.images, run.labels, torch.arange(512))
    y = y.clone()
    y[-1] = 12  # in the second half: no such class
    with pytest.raises((IndexError, RuntimeError), match="out of bounds"):
        run.split(x, y)
    assert torch.get_num_threads() == 2
    assert all(helper.submit(torch.get_num_threads).result() == 1 for helper in run.split._halves)  # still usable
    release(run)


@pytest.mark.parametrize(
    "why", ["off", "small batch", "bf16", "one thread", "distributed"], ids=lambda why: why.replace(" ", "-")
)
def test_where_the_split_was_not_measured_the_step_stays_whole(small_synthetic, two_threads, why):
    run = make_run(small_synthetic, batch_size=512 if why == "small batch" else 768)
    if why == "bf16":
        run.precision = "bf16"
    if why == "distributed":
        run.world = type("TwoRanks", (), {"distributed": True})()
    torch.set_num_threads(1 if why == "one thread" else 2)
    use_split_step(run, "off" if why == "off" else "auto")
    assert run.split is None


@pytest.mark.parametrize("threads", [2, 4])
def test_on_splits_where_auto_would_not_and_gives_each_half_its_share_of_threads(small_synthetic, threads):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        run = make_run(small_synthetic, batch_size=128, precision="bf16")
        use_split_step(run, "auto")
        assert run.split is None
        use_split_step(run, "on")
        assert [h.submit(torch.get_num_threads).result() for h in run.split._halves] == [threads // 2] * 2
        loss, hits = run.split(*take_batch(run.images, run.labels, torch.arange(128)))
        assert torch.isfinite(loss) and 0 <= int(hits) <= 128
        release(run)
    finally:
        torch.set_num_threads(before)


def test_the_trainer_splits_on_two_threads_and_ends_its_helper(small_synthetic, two_threads, tmp_path):
    from mnist_tui.training.loop import Trainer

    config = Config(epochs=2, batch_size=1000, device="cpu", precision="fp32", dataset="synthetic", download=False)
    trainer = Trainer(config, lambda event: None, datasets=small_synthetic)
    result = trainer.run()
    assert result.error is None and result.epochs_done == 2
    assert trainer.epoch_run.split is not None
    assert not any(t.name.startswith("mnist-tui-half-batch") for t in threading.enumerate())
    assert result.history[-1].test_acc > 0.2


def test_the_option_reaches_the_config_and_is_refused_with_a_replay(tmp_path, capsys):
    from mnist_tui.cli import build_config
    from mnist_tui.cli_parser import build_parser, check_faces

    parser = build_parser()
    assert build_config(parser.parse_args(["--split-batch", "off"])).split_batch == "off"
    assert build_config(parser.parse_args([])).split_batch == Config().split_batch == "auto"
    assert build_config(parser.parse_args(["--split-batch", "on"])).split_batch == "on"
    with pytest.raises(SystemExit):
        parser.parse_args(["--split-batch", "yes"])
    with pytest.raises(SystemExit):
        check_faces(parser, parser.parse_args(["--replay", str(tmp_path), "--split-batch", "off"]))
    assert "--split-batch" in capsys.readouterr().err
