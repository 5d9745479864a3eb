"""The trainer keeps freed memory for its next step (mnist_tui/training/allocator.py)."""

import subprocess
import sys

import pytest

from mnist_tui.training import allocator

# Eight 6 MiB blocks allocated, touched and freed, five times: glibc's adaptive thresholds
# give the freed heap top back every time (~12k fresh pages per round, measured on glibc 2.36).
ROUNDS = """
import resource, sys, threading
from mnist_tui.training.allocator import keep_freed_memory
applied = keep_freed_memory()
faults = []
def rounds():
    for _ in range(5):
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        blocks = [bytearray(6 * 2**20) for _ in range(8)]
        del blocks
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
if sys.argv[1] == "worker":  # the dashboard trains in a thread started after the CLI's call
    worker = threading.Thread(target=rounds)
    worker.start()
    worker.join()
else:
    rounds()
print(applied, *faults)
"""


def _is_glibc() -> bool:
    import platform

    return sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _is_glibc(), reason="the thresholds are glibc's; other allocators are left alone")
@pytest.mark.parametrize("thread", ["main", "worker"])
def test_freed_blocks_are_reused_instead_of_faulted_in_again(thread):
    command = [sys.executable, "-c", ROUNDS, thread]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    applied, first, *later = out
    assert applied == "True"
    assert int(first) > 10_000  # 48 MiB touched once: the pages are really new the first time
    assert max(int(f) for f in later) < 200  # then reused: no fresh pages from the kernel


def test_left_alone_off_linux(monkeypatch):
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator._set_thresholds() is False
