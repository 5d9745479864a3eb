"""The CUDA run's set-up before its clock (mnist_tui.training.warm_up), checked on the CPU: the
copy trains through the run's own step, and the run trains afterwards exactly as without it."""

from __future__ import annotations

import pytest
import torch
from graph_runs import EagerGraph, make_run, params

from mnist_tui.training.build import make_optimizer
from mnist_tui.training.steps import train_epoch, use_cuda_graph
from mnist_tui.training.warm_up import wants_warm_up, warm_up


def state_of(run) -> list[torch.Tensor]:
    moments = [t.clone() for s in run.optimizer.state.values() for t in s.values()]
    return [params(run).clone(), *moments]


@pytest.mark.parametrize(
    ("graphed", "ema"), [(False, False), (True, False), (False, True)], ids=["eager", "graph", "ema"]
)
def test_the_run_trains_after_the_warm_up_as_it_would_have(small_synthetic, graphed, ema):
    order = torch.randperm(2000, generator=torch.Generator().manual_seed(0))[: 8 * 64 + 16]

    def trained(warm: bool):
        run = make_run(small_synthetic)
        if graphed:
            use_cuda_graph(run, "auto", graph=EagerGraph())
        if ema:  # the run's average of the weights, updated after each of its steps
            live = list(run.model.parameters())
            run.ema, run.ema_decay = ([p.detach().clone() for p in live], live), 0.9
        torch.manual_seed(1)
        train_epoch(run, 1, order)  # an optimizer with state, as a resumed or second-epoch run has
        run.model.eval()  # as a resumed run's model is, after its predictions were shown
        before, rng = state_of(run), torch.get_rng_state()
        average = [p.clone() for p in run.ema[0]] if ema else []
        if warm:
            graph = EagerGraph()
            assert warm_up(run, graph=graph) > 0
            assert graph.captures == (1 if graphed else 0)  # the copy went through the capture
            assert all(torch.equal(a, b) for a, b in zip(state_of(run), before, strict=True))
            assert torch.equal(torch.get_rng_state(), rng)  # dropout's stream is where it was
            if ema:
                assert all(torch.equal(a, b) for a, b in zip(run.ema[0], average, strict=True))
            assert not run.model.training  # the copy trained; the run's model is as it was
        stats = train_epoch(run, 2, order)
        return stats, params(run)

    (cold, cold_params), (warm, warm_params) = trained(False), trained(True)
    assert (warm.loss, warm.accuracy) == (cold.loss, cold.accuracy)
    assert torch.equal(warm_params, cold_params)


def test_the_trainer_says_what_the_set_up_took_and_trains_as_without_it(tiny_config, small_synthetic, monkeypatch):
    from mnist_tui.training import loop
    from mnist_tui.training.events import Notice
    from mnist_tui.training.loop import Trainer

    config = tiny_config.with_changes(epochs=2, run_dir=None)
    cold_events: list = []
    cold = Trainer(config, cold_events.append, datasets=small_synthetic).run()
    assert not any(isinstance(e, Notice) for e in cold_events)  # the CPU: ~20 ms, not worth a copy
    monkeypatch.setattr(loop, "wants_warm_up", lambda run: True)  # as a CUDA run in one process
    events: list = []
    warm = Trainer(config, events.append, datasets=small_synthetic).run()
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert any(n.startswith("CUDA set-up before the training clock: ") for n in notices)
    assert [(r.train_loss, r.test_acc) for r in warm.history] == [(r.train_loss, r.test_acc) for r in cold.history]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available here: the warm-up is CUDA's")
def test_on_cuda_the_copy_is_captured_and_dropped_and_the_run_untouched(small_synthetic):
    run = make_run(small_synthetic, batch_size=128)
    cuda = torch.device("cuda")
    run.model = run.model.to(cuda, memory_format=torch.contiguous_format)
    run.optimizer = make_optimizer(run.model, 1e-2, cuda)
    run.scheduler = None
    run.images, run.labels = run.images.to(cuda), run.labels.to(cuda)
    use_cuda_graph(run, "auto")
    assert wants_warm_up(run) and run.graphed is not None
    before, rng = params(run).clone(), torch.cuda.get_rng_state()
    assert warm_up(run) > 0
    assert torch.equal(params(run), before) and torch.equal(torch.cuda.get_rng_state(), rng)
    order = torch.randperm(2000, device=cuda)
    stats = train_epoch(run, 1, order)
    assert run.graphed.replays > 2000 // 128 - 5 and stats.accuracy > 0.1


def test_a_held_run_stopped_before_it_trains_sets_nothing_up(tiny_config, small_synthetic, monkeypatch):
    """The warm-up comes once the run goes: a dashboard opened on a run and quit before space
    (or a finished run only looked at) spent no GPU time and said nothing of it."""
    import threading

    from mnist_tui.training import loop
    from mnist_tui.training.control import TrainingControl
    from mnist_tui.training.events import Notice, StateChanged
    from mnist_tui.training.loop import Trainer

    warmed: list = []
    monkeypatch.setattr(loop, "wants_warm_up", lambda run: True)
    monkeypatch.setattr(loop, "warm_up", lambda run: warmed.append(run) or 0.5)
    control, events, held = TrainingControl(), [], threading.Event()
    control.pause()  # held, as the dashboard's run before space

    def listen(event):
        events.append(event)
        if isinstance(event, StateChanged) and event.state == "paused":
            held.set()

    trainer = Trainer(tiny_config.with_changes(run_dir=None), listen, control, datasets=small_synthetic)
    worker = threading.Thread(target=trainer.run)
    worker.start()
    assert held.wait(60)
    control.stop()
    worker.join(60)
    assert not worker.is_alive() and trainer.result.epochs_done == 0
    assert warmed == [] and not any(isinstance(e, Notice) for e in events)
