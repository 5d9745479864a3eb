"""The machine as the run sees it: process CPU %, memory, torch threads, and on CUDA the GPU's
utilisation and memory. Engine code: no Textual, and no torch import of its own (it reads
torch only if the process already loaded it, so asking costs no start-up time).

* :class:`SystemSampler` -- one per consumer (CPU % is "since this sampler's last call");
* :func:`epoch_system_fields` -- the fields the trainer adds to each ``metrics.jsonl`` row
  (``cpu_percent`` over the epoch, ``rss_mb``; on CUDA ``gpu_mem_used_mb`` and
  ``gpu_util_percent`` when ``nvidia-ml-py`` is installed).

CPU % follows ``psutil``/``top``: 100 is one core busy, so 2 busy threads read 200.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True)
class SystemStats:
    cpu_percent: float  # this process, since the sampler's last call (100 = one core)
    rss_mb: float
    cpu_count: int
    torch_threads: int | None = None  # None: torch not loaded in this process
    gpu_util_percent: float | None = None  # nvidia-ml-py only
    gpu_mem_used_mb: float | None = None  # the whole device's, as cudaMemGetInfo reports
    gpu_mem_total_mb: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class SystemSampler:
    def __init__(self, device_index: int | None = None, since_start: bool = False) -> None:
        """``since_start``: the first sample's CPU % is over the process's life so far (a sampler
        made just before it has no interval of its own: psutil reads 0 %)."""
        # imported here, not with the module: psutil took 15-20 ms of the dashboard's first frame,
        # whose panel makes its sampler after that frame (Zen 3)
        import psutil

        self._process = psutil.Process(os.getpid())
        self._process.cpu_percent(None)  # the first call only starts the clock
        self._since_start = since_start
        self._cores = psutil.cpu_count() or 1
        self.device_index = device_index  # None: the calling thread's current CUDA device
        self._nvml_handles: dict[int, Any] = {}  # by device index: the run's may be set after the first sample

    def sample(self) -> SystemStats:
        with self._process.oneshot():
            cpu = self._process.cpu_percent(None)
            rss = self._process.memory_info().rss / MB
            if self._since_start:
                self._since_start = False
                used = sum(self._process.cpu_times()[:2])  # user + system
                cpu = 100.0 * used / max(time.time() - self._process.create_time(), 0.01)
        torch = sys.modules.get("torch")
        # the training worker may be importing torch right now: a half-made module has no
        # get_num_threads yet (seen in the benchmark: the dashboard died on it)
        get_threads = getattr(torch, "get_num_threads", None) if torch is not None else None
        threads = get_threads() if callable(get_threads) else None
        if threads is not None:  # the training thread's, where the core share set it (not this thread's)
            from mnist_tui.training.core_share import threads_in_use

            threads = threads_in_use() or threads
        gpu = self._gpu(torch)
        cores = self._cores
        # over a short interval the kernel's 10 ms ticks can count more than the cores had (seen: 308 %
        # of 2 cores over ~20 ms): no process runs faster than all its machine's cores
        cpu = min(cpu, 100.0 * cores)
        return SystemStats(round(cpu, 1), round(rss, 1), cores, threads, **gpu)

    def _gpu(self, torch: Any) -> dict[str, Any]:
        try:
            if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
                return {}
            index = torch.cuda.current_device() if self.device_index is None else self.device_index
            free, total = torch.cuda.mem_get_info(index)
            fields: dict[str, Any] = {
                "gpu_mem_used_mb": round((total - free) / MB, 1),
                "gpu_mem_total_mb": round(total / MB, 1),
            }
        except Exception:  # a broken driver must not stop training or the dashboard
            return {}
        util = self._nvml_utilisation(index)
        if util is not None:
            fields["gpu_util_percent"] = util
        return fields

    def _nvml_utilisation(self, index: int) -> float | None:
        if index not in self._nvml_handles:
            try:
                import pynvml  # nvidia-ml-py, optional

                pynvml.nvmlInit()
                self._nvml_handles[index] = nvml_handle(pynvml, sys.modules["torch"], index)
            except Exception:
                self._nvml_handles[index] = None
        handle = self._nvml_handles[index]
        if handle is None:
            return None
        try:
            import pynvml

            return float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        except Exception:
            return None


def nvml_handle(pynvml: Any, torch: Any, index: int) -> Any:
    """NVML's handle for torch's CUDA device ``index``, or None. NVML numbers every GPU of the
    machine; torch numbers the ones ``CUDA_VISIBLE_DEVICES`` leaves, in its order, so with
    ``CUDA_VISIBLE_DEVICES=3`` torch's device 0 is NVML's 3. The device's UUID names the same
    GPU in both; without one, the index is trusted only when nothing was renumbered."""
    try:
        uuid = str(torch.cuda.get_device_properties(index).uuid)
    except Exception:
        uuid = ""
    if uuid:
        return pynvml.nvmlDeviceGetHandleByUUID(uuid if uuid.startswith("GPU-") else f"GPU-{uuid}")
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        return None  # another GPU's utilisation would be worse than none
    return pynvml.nvmlDeviceGetHandleByIndex(index)


EPOCH_FIELDS = ("cpu_percent", "rss_mb", "gpu_util_percent", "gpu_mem_used_mb")


def epoch_system_fields(sampler: SystemSampler) -> dict[str, Any]:
    """The fields the trainer adds to each epoch row: ``cpu_percent`` since the sampler's last
    call (one sampler per run, sampled at each epoch end: so over the epoch), ``rss_mb``, and on
    CUDA ``gpu_mem_used_mb`` and ``gpu_util_percent`` (with nvidia-ml-py)."""
    stats = sampler.sample().to_json()
    return {k: stats[k] for k in EPOCH_FIELDS if k in stats}


def describe(stats: SystemStats) -> str:
    """One line: ``cpu 143% of 2 cores · rss 512 MB · torch 2 threads · gpu 37% · 1.2/80.0 GB``."""
    return " · ".join(described(stats))


def described(stats: SystemStats) -> list[str]:
    """:func:`describe`'s items, each to be kept whole on a line."""
    parts = [f"cpu {stats.cpu_percent:.0f}% of {stats.cpu_count} cores", f"rss {stats.rss_mb:,.0f} MB"]
    if stats.torch_threads is not None:
        parts.append(f"torch {stats.torch_threads} threads")
    if stats.gpu_mem_total_mb is not None:
        gpu = f"gpu {stats.gpu_util_percent:.0f}%" if stats.gpu_util_percent is not None else "gpu"
        parts.append(f"{gpu} {stats.gpu_mem_used_mb / 1024:.1f}/{stats.gpu_mem_total_mb / 1024:.1f} GB")
    return parts
