"""The CUDA-graph training step (mnist_tui.training.graphed), checked on the CPU.

Capture itself needs a GPU (tests/test_sprint.py and the CUDA test in this file run it there);
here a stand-in graph records the captured step and runs it at each replay, writing its outputs
into fixed tensors as a graph does, so everything around the capture is checked: the Adam
arithmetic on the optimizer's own state, the hyperparameters filled before each replay, the
warm-up and the eager batches of another size, gradients kept in place, the fallback.
"""

from __future__ import annotations

import pytest
import torch
from graph_runs import EagerGraph, make_run, params

from mnist_tui.config import Config
from mnist_tui.model import Net
from mnist_tui.training.build import make_optimizer, one_cycle
from mnist_tui.training.graphed import GraphedStep, adam_update
from mnist_tui.training.steps import train_epoch, use_cuda_graph


def test_adam_update_is_torch_fused_adam_under_one_cycle():
    """lr and beta1 move every step (one-cycle with momentum cycling): the same weights either way."""

    def train(graph_update: bool) -> torch.Tensor:
        torch.manual_seed(0)
        model = Net(0.0, 0.0)
        optimizer = make_optimizer(model, 2e-2, torch.device("cpu"))
        scheduler = one_cycle(optimizer, 2e-2, 30)
        lr, beta1 = torch.zeros(()), torch.zeros(())
        g = torch.Generator().manual_seed(1)
        for i in range(30):
            optimizer.zero_grad(set_to_none=False)
            x = torch.randn(16, 1, 28, 28, generator=g)
            y = torch.randint(0, 10, (16,), generator=g)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            if graph_update and i > 0:  # the first step makes the state, as the warm-up does
                lr.fill_(optimizer.param_groups[0]["lr"])
                beta1.fill_(optimizer.param_groups[0]["betas"][0])
                adam_update(optimizer, lr, beta1)
            else:
                optimizer.step()
            scheduler.step()
        assert float(optimizer.state[model.fc2.weight]["step"]) == 30
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    torch.manual_seed(0)
    start = torch.cat([p.detach().flatten() for p in Net(0.0, 0.0).parameters()])
    fused, graphed = train(False), train(True)
    assert (fused - start).abs().max() > 1e-2  # it trained
    # rounding differs (foreach ops against one fused kernel), and training amplifies it: one
    # weight of 21,840 is 2.8e-5 apart after 30 steps; a wrong bias correction or a stale lr is 1e-3
    torch.testing.assert_close(graphed, fused, rtol=1e-3, atol=1e-4)


def test_an_epoch_replayed_from_the_graph_trains_as_the_eager_one(small_synthetic):
    eager, graphed = make_run(small_synthetic), make_run(small_synthetic)
    graph = EagerGraph()
    use_cuda_graph(graphed, "auto", graph=graph)
    assert eager.graphed is None and graphed.graphed is not None
    # 8 full batches of 64 and one of 16 per epoch. The two runs' rounding differs (foreach ops
    # against one fused kernel) by 1e-8 after the first replay, and training amplifies it about
    # twofold a step (4e-7 after 8 steps, 4e-3 after 18): weights are compared after one epoch.
    order = torch.randperm(2000, generator=torch.Generator().manual_seed(0))[: 8 * 64 + 16]
    torch.manual_seed(1)  # dropout draws the same masks in both runs
    a = train_epoch(eager, 1, order)
    torch.manual_seed(1)
    b = train_epoch(graphed, 1, order)
    assert b.loss == pytest.approx(a.loss, rel=1e-5) and b.accuracy == a.accuracy
    torch.testing.assert_close(params(graphed), params(eager), rtol=1e-4, atol=1e-5)
    assert (params(graphed) - params(make_run(small_synthetic))).abs().max() > 1e-3  # it trained
    grads = [p.grad for p in graphed.model.parameters()]
    assert train_epoch(graphed, 2, order) is not None
    assert all(p.grad is g for p, g in zip(graphed.model.parameters(), grads, strict=True))  # kept in place
    step = graphed.graphed
    # 3 warm-up steps, one capture, then every full batch replays; the two short batches run eagerly
    assert graph.captures == 1
    assert (step.eager_steps, step.replays) == (GraphedStep.WARMUP + 2, 2 * 8 - GraphedStep.WARMUP)


def test_the_replayed_step_takes_the_scheduled_and_steered_lr(small_synthetic):
    run = make_run(small_synthetic, onecycle=False)
    use_cuda_graph(run, "auto", graph=EagerGraph())
    run.control.lr_scale = 0.5
    order = torch.arange(2000)
    train_epoch(run, 1, order)
    assert float(run.graphed.lr) == pytest.approx(0.5e-2)  # the constant schedule's lr, steered
    assert float(run.graphed.beta1) == pytest.approx(0.9)


@pytest.mark.parametrize("when", ["capture", "replay"])
def test_a_graph_that_fails_stops_the_run_with_one_line_naming_the_way_out(small_synthetic, when):
    """Training on eagerly after a failed capture failed later with an obscure error (torch 2.11
    left the CUDA generator in capture mode): the run stops at once, saying what to do."""
    from mnist_tui.errors import GraphCaptureFailed
    from mnist_tui.training.distributed import World
    from mnist_tui.training.resume import failure_message

    run = make_run(small_synthetic)
    graph = EagerGraph(fail=when == "capture")
    use_cuda_graph(run, "auto", graph=graph)
    if when == "replay":
        graph.replay = lambda: (_ for _ in ()).throw(RuntimeError("CUDA error: an illegal memory access"))
    with pytest.raises(GraphCaptureFailed) as info:
        train_epoch(run, 1, torch.arange(2000))
    assert run.graphed.eager_steps == GraphedStep.WARMUP and run.graphed.replays == 0
    assert not run.graphed.captured
    line = failure_message(info.value, World(), 0, None)
    assert "\n" not in line and line.endswith("train with --cuda-graphs off")
    assert ("operation not permitted" if when == "capture" else "illegal memory access") in line


@pytest.mark.parametrize("why", ["off", "cpu", "weight decay", "two groups"])
def test_no_graph_where_it_cannot_or_should_not_be(small_synthetic, why):
    run = make_run(small_synthetic)
    if why == "weight decay":
        run.optimizer.param_groups[0]["weight_decay"] = 1e-4
    if why == "two groups":
        run.optimizer.param_groups.append(dict(run.optimizer.param_groups[0], params=[]))
    use_cuda_graph(run, "off" if why == "off" else "auto", graph=None if why == "cpu" else EagerGraph())
    assert run.graphed is None


def test_cuda_graphs_option_reaches_the_config_and_is_refused_with_a_replay(tmp_path):
    from mnist_tui.cli import build_config
    from mnist_tui.cli_parser import build_parser

    parser = build_parser()
    assert build_config(parser.parse_args(["--cuda-graphs", "off"])).cuda_graphs == "off"
    assert build_config(parser.parse_args([])).cuda_graphs == Config().cuda_graphs == "auto"
    with pytest.raises(SystemExit):
        parser.parse_args(["--cuda-graphs", "on"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available here: graph capture needs a GPU")
def test_the_trainer_replays_its_step_from_a_cuda_graph(small_synthetic):
    from mnist_tui.training.loop import Trainer

    events = []
    config = Config(epochs=2, batch_size=128, device="cuda", dataset="synthetic", download=False)
    trainer = Trainer(config, events.append, datasets=small_synthetic)
    result = trainer.run()
    assert result.error is None and result.epochs_done == 2
    step = trainer.epoch_run.graphed
    assert step is not None and step.replays > 2 * (2000 // 128) - 5
    assert result.history[-1].test_acc > 0.5


def test_cuda_trains_in_fp32_on_contiguous_weights_and_the_cpu_as_before(monkeypatch):
    """Measured on an H200: bf16 and channels-last only slow this net's CUDA step (see device.py)."""
    from mnist_tui.training import device as device_module
    from mnist_tui.training.build import make_model

    cuda = torch.device("cuda")
    assert device_module.choose_precision("auto", cuda) == "fp32"
    assert device_module.choose_precision("bf16", cuda) == "bf16"  # asked for, given
    monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda: True)
    assert device_module.choose_precision("auto", torch.device("cpu")) == "bf16"
    on_cpu, elsewhere = make_model(0.1, 0.1, torch.device("cpu")), make_model(0.1, 0.1, torch.device("meta"))
    assert on_cpu.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    assert not on_cpu.conv2.weight.is_contiguous()
    assert elsewhere.conv2.weight.is_contiguous()


def test_a_resumed_optimizers_moments_take_their_parameters_layout():
    """A CUDA checkpoint (contiguous) resumed on the CPU (channels-last), or the other way: the
    fused Adam kernel read the two layouts as one and trained 0.139 away in weights."""
    from mnist_tui.training.resume import _match_layouts

    def trained(layout, steps=3):
        torch.manual_seed(0)
        net = Net(0.0, 0.0).to(memory_format=layout)
        optimizer = make_optimizer(net, 1e-2, torch.device("cpu"))
        x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        for _ in range(steps):
            optimizer.zero_grad()
            net(x).square().mean().backward()
            optimizer.step()
        return net, optimizer, x

    _, saved_on_cuda, _ = trained(torch.contiguous_format)  # the layout CUDA trains in
    net, optimizer, x = trained(torch.channels_last, steps=0)
    optimizer.load_state_dict(saved_on_cuda.state_dict())
    assert optimizer.state[net.conv2.weight]["exp_avg"].stride() != net.conv2.weight.stride()
    _match_layouts(optimizer)
    moments = optimizer.state[net.conv2.weight]
    assert moments["exp_avg"].stride() == moments["exp_avg_sq"].stride() == net.conv2.weight.stride()
    expected = saved_on_cuda.state[next(iter(saved_on_cuda.state))]
    torch.testing.assert_close(optimizer.state[net.conv1.weight]["exp_avg"], expected["exp_avg"])


def test_the_trainer_trains_through_the_graphed_step_and_lets_it_go_at_the_end(
    tiny_config, small_synthetic, monkeypatch
):
    """The trainer's wiring, on the CPU with the stand-in graph: it trains as eagerly, and the
    graph (with its memory pool, on CUDA) is released when the run ends."""
    from mnist_tui.training import steps
    from mnist_tui.training.loop import Trainer

    made, use_cuda_graph = [], steps.use_cuda_graph

    def with_stand_in(run, setting):
        use_cuda_graph(run, setting, graph=EagerGraph())
        made.append(run.graphed)

    config = tiny_config.with_changes(epochs=2, run_dir=None)
    eager = Trainer(config, lambda event: None, datasets=small_synthetic).run()
    monkeypatch.setattr(steps, "use_cuda_graph", with_stand_in)  # as choose_step calls it
    graphed = Trainer(config, lambda event: None, datasets=small_synthetic).run()
    assert graphed.error is None and graphed.epochs_done == 2
    step = made[0]
    assert step.replays > 2 * (len(small_synthetic.train_labels) // 64) - 5
    assert step.graph is None and not step.captured  # released
    assert graphed.history[-1].test_acc == pytest.approx(eager.history[-1].test_acc, abs=0.03)
