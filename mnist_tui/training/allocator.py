"""Keep the memory a training step frees for the next step, instead of giving it back (glibc).

glibc's ``malloc`` returns big freed blocks to the kernel: blocks over its mmap threshold are
unmapped, and free space at the heap's top beyond its trim threshold is trimmed. Both
thresholds adapt upwards as big blocks are freed, which covers a batch of 512. At batch 1024
they stop short: measured on 2 AMD EPYC cores, each step then took ~990 fresh pages from the
kernel (4 MB zeroed and faulted in, every step) and trained at 40-43k samples/s against
48-51k with the thresholds fixed here. An evaluation batch of 2000 faulted 56k pages.

``mallopt`` fixes both thresholds: blocks up to 32 MiB (glibc's ceiling for the mmap
threshold on 64-bit) come from the heap, and up to 256 MiB of free heap top is kept. This
does not raise the peak (the most the process holds at once); it only stops the process
giving memory back between its peaks.

It also keeps every thread on the main arena. The dashboard trains in a worker thread, and
a thread's own arena is a set of 64 MB heaps that glibc shrinks and drops on its own terms:
there the training threads faulted in ~20k fresh pages over 5 epochs of 20k samples where
they fault ~3k on the main arena, and trained at 43-53k samples/s against 49-54k (2 AMD EPYC
cores, batch 1024). The price is one lock for every thread's ``malloc``; Python's small
objects and glibc's per-thread caches do not take it. So the CLI calls this before it starts
any thread; a thread that has already made its arena keeps it. Anything that is not glibc
keeps its own allocator.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 32 * 2**20  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: glibc refuses more
TRIM_THRESHOLD = 256 * 2**20

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Fix glibc's thresholds once per process; True when they are in force."""
    global _applied
    if _applied is None:
        _applied = _set_thresholds()
    return _applied


def _set_thresholds() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        glibc = libc.gnu_get_libc_version  # absent on musl, whose mallopt does nothing
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    del glibc
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    # the mmap threshold first: setting either one ends glibc's adaptation of both
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, 1))
    return all([bool(mallopt(option, value)) for option, value in settings])
