"""Sharing the cores: a CPU run trains on fewer op threads while other processes keep a core
busy, and on its own again once they are done (mnist_tui.training.core_share)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch

from mnist_tui.training import core_share
from mnist_tui.training.core_share import CoreShare, CpuTimes, read_cpu_times, use_core_share, wanted_threads
from mnist_tui.training.distributed import World
from mnist_tui.training.events import Notice


@pytest.mark.parametrize(
    "others, cores, most, threads",
    [(0.0, 2, 2, 2), (0.06, 2, 2, 2), (0.5, 2, 2, 2), (0.7, 2, 2, 1), (1.0, 2, 2, 1), (1.9, 2, 2, 1),
     (0.0, 4, 4, 4), (1.0, 4, 4, 3), (2.5, 4, 4, 2), (3.5, 4, 4, 1), (0.0, 8, 4, 4), (7.5, 8, 8, 1)],
)  # fmt: skip
def test_the_threads_are_the_cores_others_leave(others, cores, most, threads):
    assert wanted_threads(others, cores, most) == threads


class Machine:
    """A 2-core machine whose other processes keep ``others`` cores busy, a second at a time."""

    def __init__(self) -> None:
        self.wall, self.busy, self.own, self.others = 0.0, 0.0, 0.0, 0.0
        self.set_to: list[int] = []

    def read(self) -> CpuTimes:
        return CpuTimes(self.busy, self.own, self.wall)

    def second(self, others: float, own: float = 1.5) -> None:
        self.wall += 1.0
        self.busy += others + own
        self.own += own


def test_back_to_more_threads_only_once_the_others_take_less_than_the_return_share():
    """A neighbour near the threshold flipped the count every 2 s."""
    assert wanted_threads(0.5, 2, 2, now=2) == 2 and wanted_threads(0.7, 2, 2, now=2) == 1
    assert wanted_threads(0.5, 2, 2, now=1) == 1 and wanted_threads(0.2, 2, 2, now=1) == 2
    assert wanted_threads(2.5, 4, 4, now=1) == 1 and wanted_threads(1.5, 4, 4, now=1) == 2


def test_a_change_is_made_once_two_windows_ask_it_said_once_and_undone_at_the_end(monkeypatch):
    monkeypatch.setattr(core_share, "_in_use", None)  # the module's record, as this test leaves it
    machine, said = Machine(), []
    share = CoreShare(2, frozenset({0, 1}), machine.read, machine.set_to.append, clock=lambda: machine.wall)
    for others in (0.0, 1.0, 0.0, 1.0):  # a window's spike (a compile, a browser tab) moves nothing
        machine.second(others)
        share.adjust(said.append)
    assert machine.set_to == [] and said == []
    machine.second(1.0)  # the second window in a row: another run trains beside this one
    share.adjust(said.append)
    assert machine.set_to == [1] and share.threads == 1 and core_share.threads_in_use() == 1
    assert said == [Notice(core_share.shared_text(1, 2, 1.0, 2))]
    from mnist_tui.sysstats import SystemSampler

    assert SystemSampler().sample().torch_threads == 1  # not the count this thread read first
    assert said[0].text.startswith("other processes keep 1.0 of the run's 2 cores busy: training on 1 thread ")
    share.adjust(said.append)  # within the window: not read again
    for others in (0.9, 0.0):
        machine.second(others)
        share.adjust(said.append)
    assert machine.set_to == [1]
    machine.second(0.05)  # a follower's dashboard is not a run
    share.adjust(said.append)
    assert machine.set_to == [1, 2] and said[-1] == Notice("the cores are free again: training on 2 threads")
    machine.second(1.2)
    share.adjust(said.append)
    machine.second(1.2)
    share.adjust(said.append)
    share.restore()  # the run's end: the thread trains on as it started (`a` on a finished run)
    assert machine.set_to == [1, 2, 1, 2] and share.threads == 2


def run_on_cpu(**kw) -> SimpleNamespace:
    return SimpleNamespace(images=torch.zeros(1), world=World(), split=None, core_share=None, **kw)


def test_a_run_shares_only_on_the_cpu_in_one_process_without_a_split_step_or_a_set_count(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    if torch.get_num_threads() < 2:
        pytest.skip("one op thread here: nothing to give up")
    run = run_on_cpu()
    use_core_share(run)
    assert run.core_share is not None and run.core_share.most == torch.get_num_threads()
    split = run_on_cpu()
    split.split = object()
    use_core_share(split)
    assert split.core_share is None
    off = run_on_cpu()
    use_core_share(off, "off")  # --share-cores off
    assert off.core_share is None
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    kept = run_on_cpu()
    use_core_share(kept)
    assert kept.core_share is None


def test_share_cores_reaches_the_config_from_the_command_line():
    from mnist_tui.cli import build_config, build_parser
    from mnist_tui.config import Config

    parser = build_parser()
    assert build_config(parser.parse_args(["--share-cores", "off"])).share_cores == "off"
    assert build_config(parser.parse_args([])).share_cores == Config().share_cores == "auto"


def test_the_machines_times_count_this_processs_work():
    cores = frozenset(os.sched_getaffinity(0))
    before = read_cpu_times(cores)
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    after = read_cpu_times(cores)
    assert before is not None and after is not None
    assert 0.2 <= after.own - before.own <= 2.0  # clock ticks of 10 ms: 0.3 s, give or take
    assert after.busy - before.busy >= (after.own - before.own) - 0.05
    assert read_cpu_times(frozenset({max(cores) + 1000})).busy == 0  # a core not there counts nothing


@pytest.mark.slow
def test_a_run_beside_busy_processes_trains_on_one_thread_and_says_so(tmp_path):
    """The trainer itself, its OMP_NUM_THREADS unset, beside a process spinning on each core (one
    read 0.8 of a core against the run's 2 threads: too near the threshold for a busy CI)."""
    if len(os.sched_getaffinity(0)) != 2:
        pytest.skip("measured and tuned for 2 cores")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        command = [sys.executable, "-m", "mnist_tui", "--headless", "--dataset", "synthetic", "--device", "cpu"]
        command += ["--limit-train", "12000", "--epochs", "3", "--batch-size", "128", "--log-format", "json"]
        command += ["--run-dir", str(tmp_path / "run"), "--data-dir", str(tmp_path / "d")]
        out = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stdout.splitlines() if '"event": "note"' in line]
    assert any("cores busy: training on 1 thread until they are free" in note for note in notes), out.stdout[-2000:]
    assert '"reached_99"' in out.stdout.splitlines()[-1]  # and the run went on to its end
