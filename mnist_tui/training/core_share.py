"""Op threads for the cores that other processes leave free: two runs on 2 cores, each on 1 thread.

torch runs each op on all its threads (2 on a 2-core machine), and they wait for each other at the
op's end: a thread whose partner has no core spins, then sleeps, for every op of every batch. On a
2-core Intel Xeon VM (AMX; 15,000 MNIST samples, sprint recipe, bf16), a lone run trained 10-13k
samples/s; two runs at once on 2 threads each 2.3k each (4.6k together; runs of 60,000 samples, two
rounds: 487 and 3,993 together); on 1 thread each 9.9k and 7.0k (16.9k together, 3.7× as much).
OpenMP's passive wait kept 8.9k together but cost a lone run a fifth of its speed.

So a CPU run watches the machine: about once a second it reads how much of the cores other
processes used (``/proc/stat`` less this process's own time: its UI and sampler threads are not
"others"), and where more than SPARE of a core is taken two windows in a row, it trains on as many
threads as are left; back on more only once they take less than RETURN (a neighbour near the
threshold flipped the count every 2 s). Each change is said as a
:class:`~mnist_tui.training.events.Notice`. Different thread counts sum in a different order, so a
run that shared its cores can differ from an undisturbed one of the same seed in its last digits:
``--share-cores off`` or ``OMP_NUM_THREADS`` in the environment keeps the count fixed. The count
is set for the training thread alone (:func:`~mnist_tui.training.op_threads.keep_op_threads`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from mnist_tui.training.events import Notice

WINDOW_S = 1.0  # the machine is read at most this often
HOLD_WINDOWS = 2  # a change is made once it is wanted this many windows in a row
# others busy on less than this share of a core leave that core to us: beside a process using half a
# core, a run trained as fast on 2 threads as on 1 (9.0-14.7k against 10.4-12.2k samples/s); a
# follower's dashboard takes 0.05, a process spinning on one core read 0.8
SPARE = 0.6
RETURN = 0.3  # and back to more threads only once others take less than this


@dataclass(frozen=True)
class CpuTimes:
    busy: float  # seconds the run's cores worked, every process's (idle, iowait and steal not counted)
    own: float  # seconds this process worked
    wall: float  # time.monotonic()


def read_cpu_times(cores: frozenset[int] | None = None) -> CpuTimes | None:
    """The cores' busy time (those in ``cores``, else all) and this process's, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            lines = [line.split() for line in f if line.startswith("cpu")]
        with open("/proc/self/stat") as f:
            after_name = f.read().rpartition(")")[2].split()  # a name may hold spaces and parentheses
        tick = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    rows = [row for row in lines[1:] if int(row[0][3:]) in cores] if cores else lines[:1]
    busy = sum(sum(int(v) for v in (row[1:4] + row[6:8])) for row in rows)  # user nice system, irq softirq
    own = int(after_name[11]) + int(after_name[12])  # utime, stime: fields 14 and 15
    return CpuTimes(busy / tick, own / tick, time.monotonic())


def wanted_threads(others: float, cores: int, most: int, now: int | None = None) -> int:
    """The op threads to train on while other processes keep ``others`` cores busy, ``now`` the
    count in use (None: as many as fit): fewer past SPARE, more only under RETURN."""
    fewer = max(1, min(most, int(cores - others + SPARE)))
    more = max(1, min(most, int(cores - others + RETURN)))
    now = most if now is None else now
    return fewer if fewer < now else max(more, now)


class CoreShare:
    """``adjust(emit)`` at each batch report, on the training thread: sets that thread's op-thread count."""

    def __init__(
        self,
        most: int,
        cores: frozenset[int],
        read: Callable[[], CpuTimes | None],
        set_threads: Callable[[int], None],
        clock: Callable[[], float] = time.monotonic,  # read's own (tests give both)
    ) -> None:
        self.most = self.threads = most
        self.cores, self.read, self.set_threads, self.clock = cores, read, set_threads, clock
        self.last = read()
        self.wanted, self.windows = most, 0  # the count the last windows asked for, and how many asked it

    def adjust(self, emit: Callable[[object], None]) -> None:
        if self.last is None or self.clock() - self.last.wall < WINDOW_S:
            return
        now = self.read()
        if now is None or now.wall <= self.last.wall:
            return
        elapsed = now.wall - self.last.wall
        others = max(0.0, (now.busy - self.last.busy) - (now.own - self.last.own)) / elapsed
        self.last = now
        wanted = wanted_threads(others, len(self.cores), self.most, self.threads)
        self.windows = self.windows + 1 if wanted == self.wanted else 1
        self.wanted = wanted
        if wanted != self.threads and self.windows >= HOLD_WINDOWS:
            self._use(wanted)
            emit(Notice(shared_text(wanted, self.most, others, len(self.cores))))

    def restore(self) -> None:
        """The count the run started with, for whatever this thread trains next (`a` on a finished run)."""
        if self.threads != self.most:
            self._use(self.most)

    def _use(self, threads: int) -> None:
        global _in_use
        self.set_threads(threads)
        self.threads = _in_use = threads


_in_use: int | None = None  # the count a CoreShare set last: other threads' torch.get_num_threads() keep theirs


def threads_in_use() -> int | None:
    """The op threads the training thread was last set to here, or None (never changed)."""
    return _in_use


def shared_text(threads: int, most: int, others: float, cores: int) -> str:
    if threads >= most:
        return f"the cores are free again: training on {threads} threads"
    return (
        f"other processes keep {others:.1f} of the run's {cores} cores busy: training on "
        f"{threads} thread{'s' if threads > 1 else ''} until they are free (threads that share a core wait "
        "on each other; set OMP_NUM_THREADS to keep a fixed count)"
    )


def use_core_share(run, setting: str = "auto") -> None:
    """Give ``run`` (an :class:`~mnist_tui.training.steps.EpochRun`) a :class:`CoreShare` where
    ``setting`` is auto and it trains on the CPU in one process, on 2 threads or more, with no split
    step (its halves keep their own counts) and no ``OMP_NUM_THREADS`` (the user's count is kept)."""
    import torch

    from mnist_tui.training.op_threads import keep_op_threads

    cpu = run.images.device.type == "cpu" and not run.world.distributed and run.split is None
    if setting != "auto" or not cpu or "OMP_NUM_THREADS" in os.environ or torch.get_num_threads() < 2:
        return
    cores = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()
    if not cores:
        return
    share = CoreShare(torch.get_num_threads(), cores, lambda: read_cpu_times(cores), keep_op_threads)
    if share.last is not None:  # its first reading: /proc could be read
        run.core_share = share
