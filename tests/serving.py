"""Start ``mnist-tui --serve`` on a free loopback port for a test, and stop it after."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_app(
    tmp_path: Path, output=subprocess.DEVNULL, stop_timeout: float = 20
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (``http://127.0.0.1:PORT``, the server process) once the page answers."""
    port = free_port()
    command = [sys.executable, "-m", "mnist_tui", "--serve", "--port", str(port), "--dataset", "synthetic"]
    command += ["--run-dir", str(tmp_path / "run")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=1).close()
                break
            except OSError:
                said = process.stdout.read().decode() if process.poll() is not None and process.stdout else ""
                assert process.poll() is None, f"the server exited: {said}"
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)
        yield url, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=stop_timeout)  # aiohttp lets open sessions close first
        finally:
            if process.poll() is None:
                process.kill()
