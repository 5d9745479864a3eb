"""Run the real ``mnist-tui`` command in child processes and read what it measured.

Throughput comes from the trainer's own ``metrics.jsonl`` (training seconds per epoch,
evaluation and pauses excluded), so the headless and the dashboard runs are measured the
same way. Peak RSS is each child's ``ru_maxrss`` from ``os.wait4``.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ALT_SCREEN = b"\x1b[?1049h"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["TERM"] = "xterm-256color"
    # PYTHONDONTWRITEBYTECODE makes every launch compile the app's modules again, as no installed
    # copy does: set on one machine here, it put 0.4 s on the first frame (1.24 s against 0.8 s)
    for name in ("COLUMNS", "LINES", "NO_COLOR", "TEXTUAL", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


def read_rows(run_dir: Path) -> list[dict]:
    """metrics.jsonl as written so far (the trainer replaces it atomically each epoch)."""
    try:
        text = (run_dir / "metrics.jsonl").read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class ChildRun:
    exit_code: int | None
    peak_rss_mb: float
    rows: list[dict]
    wall_s: float
    first_frame_s: float | None = None
    output: bytes = b""


class Child:
    """A child process we reap ourselves (``os.wait4``), to get its own peak RSS."""

    def __init__(self, pid: int, master_fd: int | None = None) -> None:
        self.pid, self.master_fd = pid, master_fd
        self.started = time.perf_counter()
        self.exit_code: int | None = None
        self.peak_rss_mb = float("nan")
        self.output = bytearray()
        self.first_output_at: float | None = None

    def poll(self) -> bool:
        if self.exit_code is None:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self.exit_code = os.waitstatus_to_exitcode(status)
                self.peak_rss_mb = round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB
        return self.exit_code is not None

    def drain(self, timeout: float) -> None:
        """Read what the child wrote to its terminal (it blocks if nobody reads)."""
        if self.master_fd is None:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self.master_fd], [], [], timeout)
        if ready:
            try:
                chunk = os.read(self.master_fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if chunk:
                self.output += chunk
            else:
                time.sleep(timeout)

    def signal(self, signum: int) -> None:
        if self.exit_code is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def finish(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for a clean exit, then SIGTERM, then SIGKILL."""
        for signum in (None, signal.SIGTERM, signal.SIGKILL):
            if signum is not None:
                self.signal(signum)
            deadline = time.perf_counter() + grace
            while not self.poll() and time.perf_counter() < deadline:
                self.drain(0.05)
            if self.exit_code is not None:
                break
        if self.master_fd is not None:
            os.close(self.master_fd)


def supervise(child: Child, run_dir: Path, done: Callable[[list[dict]], bool], timeout: float) -> list[dict]:
    """Drain and poll until the child exits, ``done(rows)`` holds, or the timeout passes."""
    next_look = 0.0
    rows: list[dict] = []
    while not child.poll() and time.perf_counter() - child.started < timeout:
        child.drain(0.05)
        if time.perf_counter() >= next_look:
            rows, next_look = read_rows(run_dir), time.perf_counter() + 0.2
            if done(rows):
                break
    return rows


def run_json_script(argv: list[str], timeout: float = 1800) -> tuple[dict, float]:
    """Run a helper script that prints one JSON line; return it and the child's peak RSS."""
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(
            [sys.executable, *argv], stdout=subprocess.PIPE, stderr=devnull, env=child_env(), cwd=REPO
        )
    child = Child(proc.pid)
    out = proc.stdout.read() if proc.stdout else b""
    while not child.poll():
        time.sleep(0.05)
    proc.returncode = child.exit_code
    if child.exit_code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {child.exit_code}")
    return json.loads(out.decode().strip().splitlines()[-1]), child.peak_rss_mb


def run_headless(
    args: list[str], run_dir: Path, stop_when: Callable[[list[dict]], bool] | None = None, timeout: float = 3600
) -> ChildRun:
    """``mnist-tui --headless ARGS``; when ``stop_when(rows)`` holds, SIGINT (stops within a batch)."""
    command = [sys.executable, "-m", "mnist_tui", "--headless", "--run-dir", str(run_dir), *args]
    log_path = run_dir.with_suffix(".log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=child_env(), cwd=REPO)
    child = Child(proc.pid)
    rows = supervise(child, run_dir, stop_when or (lambda rows: False), timeout)
    child.signal(signal.SIGINT)
    child.finish(grace=10)
    proc.returncode = child.exit_code
    rows = read_rows(run_dir) or rows
    return ChildRun(
        child.exit_code,
        child.peak_rss_mb,
        rows,
        time.perf_counter() - child.started,
        output=log_path.read_bytes()[-4000:],
    )


def spawn_in_pty(command: list[str], columns: int, lines: int) -> Child:
    """Fork ``command`` on a new pseudo-terminal of the given size (set before exec)."""
    started = time.perf_counter()
    pid, master_fd = pty.fork()
    if pid == 0:  # the child: size the terminal, then become the app
        try:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
            os.chdir(REPO)
            os.execve(command[0], command, child_env())
        finally:
            os._exit(127)
    child = Child(pid, master_fd)
    child.started = started
    return child


def first_frame(command: list[str], marker: str, columns: int = 120, lines: int = 40, timeout: float = 60) -> float:
    """Seconds from just before ``fork`` to the first read whose screen text shows ``marker``;
    then ``q`` (and SIGTERM if the app does not go)."""
    child = spawn_in_pty(command, columns, lines)
    shown_at = None
    while shown_at is None and not child.poll() and time.perf_counter() - child.started < timeout:
        child.drain(0.01)
        if marker in screen_text(bytes(child.output)):
            shown_at = time.perf_counter()
    if child.exit_code is None:
        os.write(child.master_fd, b"q")
    child.finish(grace=10)
    if shown_at is None:
        raise RuntimeError(f"no first frame showing {marker!r} from {' '.join(command)} (exit {child.exit_code})")
    return round(shown_at - child.started, 3)


ESCAPE = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|P[^\x1b]*\x1b\\|[@-_])")


def screen_text(output: bytes) -> str:
    """What the app wrote after switching to the alternate screen, escape sequences removed."""
    at = output.find(ALT_SCREEN)
    return ESCAPE.sub(b"", output[at + len(ALT_SCREEN) :] if at >= 0 else output).decode(errors="replace")


def run_dashboard(
    args: list[str], run_dir: Path, marker: str, epochs: int, timeout: float = 1800, columns: int = 120, lines: int = 40
) -> ChildRun:
    """``mnist-tui --autostart ARGS`` on a pty until ``epochs`` epochs are logged, then ``q``.

    First frame: seconds from just before ``fork`` to the first read from the terminal whose
    text (after the alternate-screen switch) shows ``marker``: Python start-up, imports and
    Textual's first paint, as a user would wait for them.
    """
    command = [sys.executable, "-m", "mnist_tui", "--autostart", "--run-dir", str(run_dir), *args]
    child = spawn_in_pty(command, columns, lines)
    first_frame_at = None
    rows: list[dict] = []
    next_look = 0.0
    while not child.poll() and time.perf_counter() - child.started < timeout:
        child.drain(0.02)
        now = time.perf_counter()
        if first_frame_at is None and marker in screen_text(bytes(child.output)):
            first_frame_at = now
        if now >= next_look:
            rows, next_look = read_rows(run_dir), now + 0.2
            if len(rows) >= epochs:
                break
    if child.exit_code is None:
        os.write(child.master_fd, b"q")
    child.finish(grace=10)
    first = None if first_frame_at is None else round(first_frame_at - child.started, 3)
    return ChildRun(
        child.exit_code,
        child.peak_rss_mb,
        read_rows(run_dir) or rows,
        time.perf_counter() - child.started,
        first,
        bytes(child.output),
    )
