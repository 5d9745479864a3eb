"""System fields: present and plausible; the panel samples only while shown; settings lines."""

from __future__ import annotations

import os
import sys
import time

from textual.app import App
from textual.widgets import Static

from mnist_tui.sysstats import SystemSampler, describe, epoch_system_fields
from mnist_tui.tui.widgets.settings_panel import (
    SettingsPanel,
    packed_lines,
    settings_fields,
    settings_lines,
    settings_parts,
)
from mnist_tui.tui.widgets.system_panel import SystemPanel


def test_the_panel_samples_the_runs_own_gpu():
    """Sampled on the UI thread (current device 0), a run on cuda:1 showed GPU 0's memory."""
    panel = SystemPanel(sampler=SystemSampler())
    for device, index in [("cpu", None), ("cuda", None), ("cuda:1", 1), ("cuda:0", 0)]:
        panel.use_device(device)
        assert panel.sampler.device_index == index, device


def test_sampler_fields_are_plausible():
    sampler = SystemSampler()
    sum(i * i for i in range(200_000))  # some CPU time since the sampler started
    stats = sampler.sample()
    assert 0 <= stats.cpu_percent <= 100 * stats.cpu_count * 1.5
    assert 10 < stats.rss_mb < 1_000_000
    if "torch" in sys.modules:
        assert stats.torch_threads >= 1
    assert stats.gpu_mem_total_mb is None or stats.gpu_mem_total_mb > 0
    assert describe(stats).startswith("cpu ")


def test_epoch_fields_for_metrics_rows():
    fields = epoch_system_fields(SystemSampler())  # the sampler's creation starts the clock
    assert {"cpu_percent", "rss_mb"} <= set(fields)
    assert all(isinstance(v, float) for v in fields.values())
    assert fields["rss_mb"] > 10
    gpu = {k for k in fields if k.startswith("gpu_")}
    assert gpu <= {"gpu_util_percent", "gpu_mem_used_mb"}


def test_every_metrics_row_carries_the_system_fields(tiny_config, small_synthetic):
    from mnist_tui.runfolder.reader import read_metrics
    from mnist_tui.training.loop import Trainer

    result = Trainer(tiny_config.with_changes(epochs=2), lambda e: None, datasets=small_synthetic).run()
    assert result.error is None
    rows = read_metrics(tiny_config.run_dir).records
    assert len(rows) == 2
    for row in rows:
        assert row.rss_mb > 10 and 0 < row.cpu_percent < 100 * (os.cpu_count() or 1) + 50


SETTINGS = dict(
    recipe="fast", batch_size=512, lr=0.01, schedule="onecycle", conv_dropout=0.1, fc_dropout=0.1,
    precision="bf16", seed=0, device="cpu", epochs=10,
)  # fmt: skip


def test_settings_line_and_help_lines():
    line = " · ".join(settings_parts(SETTINGS, world_size=2, threads=2))
    for part in ("fast", "batch 512", "lr 0.01 one-cycle", "dropout 0.1", "bf16", "seed 0", "cpu", "threads 2"):
        assert part in line
    assert "world size 2" in line
    assert "world size" not in " · ".join(settings_parts(SETTINGS, world_size=1))  # one process: the usual case
    lines = settings_lines(SETTINGS | {"fc_dropout": 0.5}, world_size=1)
    assert any(x.startswith("dropout") and "conv 0.1 / fc 0.5" in x for x in lines)
    assert "world size  1" in lines  # the help screen lists every setting
    assert settings_parts({}) == []
    sprint = " · ".join(settings_parts(SETTINGS | {"ema_decay": 0.99, "tests_per_epoch": 2}))
    assert "dropout 0.1 · weights EMA 0.99 · tests/epoch 2 · bf16" in sprint
    assert "EMA" not in line and "tests/epoch" not in line  # the defaults: none, and at epoch ends only


class PanelsApp(App):
    def compose(self):
        yield SystemPanel(id="sys")
        yield SettingsPanel(id="settings")
        yield Static("other")


async def test_system_panel_samples_only_while_shown():
    app = PanelsApp()
    async with app.run_test(size=(100, 10)) as pilot:
        panel = app.query_one(SystemPanel)
        await pilot.pause()
        assert panel.samples >= 1 and "cpu" in str(panel.render())
        panel.display = False
        before = panel.samples
        panel.tick()
        assert panel.samples == before  # hidden: nothing sampled
        app.query_one(SettingsPanel).show(SETTINGS, world_size=1)
        await pilot.pause()
        assert "batch 512" in str(app.query_one(SettingsPanel).render())


def test_a_sampler_made_to_be_read_at_once_gives_the_processs_cpu_so_far_not_zero():
    """The system line makes its sampler after the first frame and reads it at once: psutil gives
    0 % over no interval; its first figure is over the process's life so far."""
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # this process has used the CPU
        pass
    assert SystemSampler(since_start=True).sample().cpu_percent > 0.0


def test_sampling_while_torch_is_half_imported_does_not_fail(monkeypatch):
    """The UI samples while the worker imports torch: a half-made module has no functions yet."""
    import types

    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    stats = SystemSampler().sample()
    assert stats.torch_threads is None and stats.rss_mb > 10


def test_the_settings_break_between_settings_never_inside_one():
    parts = settings_parts(SETTINGS)
    assert packed_lines(parts, 200) == [" · ".join(settings_parts(SETTINGS))]  # room: one line
    lines = packed_lines(parts, 40)
    assert len(lines) > 1 and all(len(line) <= 40 for line in lines)
    assert " · ".join(lines) == " · ".join(settings_parts(SETTINGS))  # nothing lost, only broken between settings
    assert packed_lines(["a-very-long-setting"], 5) == ["a-very-long-setting"]  # too long: a line of its own


class ViewerApp(App):
    """A system line whose figures are a viewer's: the run trains in another process."""

    def compose(self):
        yield SystemPanel(id="sys", trains_here=False)


async def test_a_run_trained_elsewhere_shows_its_own_figures_and_labels_the_viewers():
    """Following a writer at 76 % CPU and 760 MB, the line read "cpu 2% of 2 cores · rss 588 MB":
    the follower's own process, with nothing saying whose figures they were."""
    from mnist_tui.training.events import EpochRecord

    app = ViewerApp()
    async with app.run_test(size=(140, 10)) as pilot:
        panel = app.query_one(SystemPanel)
        await pilot.pause(0.05)
        assert str(panel.render()).startswith("this viewer: cpu ")
        row = EpochRecord(3, 0.1, 0.97, 0.08, 0.975, 2.0, 30_000.0, 0.01, cpu_percent=76.0, rss_mb=760.0)
        panel.show_run(row)
        panel.tick()
        await pilot.pause(0.05)
        assert str(panel.render()).startswith("run at epoch 3: cpu 76% · rss 760 MB · this viewer: cpu ")


class FakeNvml:
    """NVML with two GPUs: index 0 is "GPU-aaa", index 1 is "GPU-bbb"."""

    uuids = ["GPU-aaa", "GPU-bbb"]

    def nvmlDeviceGetHandleByUUID(self, uuid):  # noqa: N802 (NVML's own names)
        return ("handle", self.uuids.index(uuid))

    def nvmlDeviceGetHandleByIndex(self, index):  # noqa: N802
        return ("handle", index)


def fake_torch(uuid):
    import types

    props = types.SimpleNamespace(uuid=uuid) if uuid is not None else types.SimpleNamespace()
    return types.SimpleNamespace(cuda=types.SimpleNamespace(get_device_properties=lambda index: props))


def test_the_gpu_line_finds_the_runs_gpu_by_uuid_under_cuda_visible_devices(monkeypatch):
    """With CUDA_VISIBLE_DEVICES=1, torch's device 0 is NVML's 1: by index the line showed GPU 0."""
    from mnist_tui.sysstats import nvml_handle

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert nvml_handle(FakeNvml(), fake_torch("bbb"), 0) == ("handle", 1)  # torch's uuid has no "GPU-"
    assert nvml_handle(FakeNvml(), fake_torch("GPU-bbb"), 0) == ("handle", 1)
    assert nvml_handle(FakeNvml(), fake_torch(None), 0) is None  # renumbered and no uuid: no figure
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert nvml_handle(FakeNvml(), fake_torch(None), 1) == ("handle", 1)  # nothing renumbered: the index holds


def test_on_cuda_nvml_finds_torchs_own_gpu():
    """On a machine with CUDA and nvidia-ml-py: the handle for torch's device 0 is that GPU's."""
    import pytest

    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here: the UUID lookup is checked with a stand-in NVML above")
    pynvml = pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed (it is optional)")
    from mnist_tui.sysstats import nvml_handle

    pynvml.nvmlInit()
    handle = nvml_handle(pynvml, torch, 0)
    uuid = pynvml.nvmlDeviceGetUUID(handle)
    uuid = uuid.decode() if isinstance(uuid, bytes) else uuid
    assert uuid.removeprefix("GPU-") == str(torch.cuda.get_device_properties(0).uuid).removeprefix("GPU-")
    assert 0 <= pynvml.nvmlDeviceGetUtilizationRates(handle).gpu <= 100


def test_sprints_plan_shows_as_two_and_a_half_epochs_until_epochs_are_added():
    """The settings line said "epochs 3" for sprint's 2.5 (3 epochs, the last one half)."""
    sprint = {"epochs": 3, "last_epoch_fraction": 0.5}
    assert dict(settings_fields(sprint))["epochs"] == "2.5"
    assert dict(settings_fields({"epochs": 3}))["epochs"] == "3"
    assert dict(settings_fields({"epochs": 3, "last_epoch_fraction": "half"}))["epochs"] == "3"  # a damaged config
    assert dict(settings_fields({**sprint, "epochs": 5, "last_epoch_fraction": 1.0}))["epochs"] == "5"


def test_the_settings_epochs_follow_the_runs_plan_where_its_settings_plan_whole_epochs():
    """A sprint resumed with --epochs 4 said "epochs 4" beside "finished 3.5 epochs": its settings
    plan 4 whole epochs, and only its rows say that epoch 3 trained half the data."""
    from mnist_tui.plan import Plan
    from mnist_tui.tui.widgets.settings_panel import plan_settings

    resumed = {"epochs": 4, "last_epoch_fraction": 1.0}
    assert dict(settings_fields(resumed | plan_settings(Plan(4, 0.5, 3))))["epochs"] == "3.5"
    assert dict(settings_fields(resumed | plan_settings(Plan(4))))["epochs"] == "4"
    sprint = {"epochs": 3, "last_epoch_fraction": 0.5}
    assert dict(settings_fields(sprint | plan_settings(Plan.of(3, sprint))))["epochs"] == "2.5"


async def test_a_viewers_line_breaks_only_between_its_items():
    """At 120×40 a replay's line (52 columns) broke inside "torch 2 threads" ("torch 2" / "threads")."""
    from mnist_tui.training.events import EpochRecord

    app = ViewerApp()
    async with app.run_test(size=(52, 10)) as pilot:
        panel = app.query_one(SystemPanel)
        panel.show_run(EpochRecord(4, 0.1, 0.97, 0.08, 0.975, 2.0, 30_000.0, 0.01, cpu_percent=199.0, rss_mb=674.0))
        panel.tick()
        await pilot.pause(0.05)
        items = ["run at epoch 4: cpu 199%", "rss 674 MB", "this viewer: cpu "]
        lines = [line.strip() for line in str(panel.render()).splitlines()]
        assert len(lines) >= 2 and all(len(line) <= 52 for line in lines), lines
        shown = [item for line in lines for item in line.split(" · ")]
        assert shown[:2] == items[:2] and shown[2].startswith(items[2]) and shown[-1].endswith("threads"), lines
        assert all(item.startswith(("run at", "rss", "this viewer", "torch", "cpu")) for item in shown), lines
    assert packed_lines(["aaa", "bbbb", "cc"], 10) == ["aaa · bbbb", "cc"]
    assert packed_lines(["a longer item than the width"], 10) == ["a longer item than the width"]
