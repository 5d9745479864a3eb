"""This thread's op-thread count, set without touching any other thread's (the split step's halves,
the core share's training thread).
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

import torch


def keep_op_threads(count: int) -> None:
    """This thread's ops run on ``count`` threads from now on, and no other thread's.

    torch sets a thread's count from its global record at the thread's first parallel op
    (``get_num_threads`` is one), so that comes first. ``torch.set_num_threads`` would then also
    set the record: a thread starting its first op before the caller put it back (a UI worker,
    the system line's sampler) kept 1 thread for good (seen in 344 of 821 threads started while
    200 split steps were built). OpenMP's own ``omp_set_num_threads`` sets this thread's count
    only; torch's ops and oneDNN's ask OpenMP for it. Where torch's OpenMP library cannot be
    found, ``torch.set_num_threads`` it is, and the caller restores the record.
    """
    torch.get_num_threads()
    runtime = torchs_openmp()
    if runtime is None:
        torch.set_num_threads(count)
    else:
        runtime.omp_set_num_threads(count)


@functools.cache
def torchs_openmp() -> ctypes.CDLL | None:
    """The OpenMP library torch loaded (its wheels ship ``torch/lib/libgomp.so.1``), never another."""
    library = Path(torch.__file__).parent / "lib" / "libgomp.so.1"
    try:
        return ctypes.CDLL(str(library), mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except (OSError, AttributeError):  # not there, not loaded, or no RTLD_NOLOAD (not POSIX)
        return None
