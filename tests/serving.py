"""Start ``mnist-tui --serve`` on a free loopback port for a test, and stop it after."""

from __future__ import annotations

import asyncio
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
DRAWN = b"all test digits"  # the predictions panel: the real dashboard is on screen


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


@contextmanager
def served_directly(
    tmp_path: Path, app_args: list[str], stop_timeout: float = 30, **serve_options
) -> Iterator[tuple[str, subprocess.Popen, list[str]]]:
    """``mnist_tui.serve.serve(app_args, "127.0.0.1", port, **serve_options)`` in its own process.

    Yields (the URL it printed, token included when one is asked; the process; its output lines so
    far, read by a thread so the pipe never fills). Serving options the command line does not
    have (yet) are passed straight to ``serve``.
    """
    import json
    import selectors
    import threading

    port = free_port()
    code = (
        "import json, sys; from mnist_tui.serve import serve; "
        "sys.exit(serve(json.loads(sys.argv[1]), '127.0.0.1', int(sys.argv[2]), **json.loads(sys.argv[3])))"
    )
    command = [sys.executable, "-c", code, json.dumps(app_args), str(port), json.dumps(serve_options)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines: list[str] = []
    try:
        url = None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + 60
            while url is None:
                assert selector.select(timeout=max(0.0, deadline - time.monotonic())), f"no URL printed: {lines}"
                line = process.stdout.readline()
                assert line, f"the server exited: {''.join(lines)}"
                lines.append(line)
                if "serving the dashboard on " in line:
                    url = line.split("serving the dashboard on ", 1)[1].strip()
        reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
        reader.start()
        yield url, process, lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=stop_timeout)
        finally:
            if process.poll() is None:
                process.kill()


async def read_session(client, ws_url: str, until: bytes = DRAWN, timeout: float = 120) -> tuple[bytes, object]:
    """Open a served session as a 100×30 browser tab would and read until ``until`` is drawn or it
    closes; return (what came, the open socket)."""
    import aiohttp

    ws = await client.ws_connect(ws_url)
    await ws.send_json(["resize", {"width": 100, "height": 30}])
    seen, deadline = b"", time.monotonic() + timeout
    while until not in seen and time.monotonic() < deadline:
        try:
            message = await ws.receive(timeout=5)
        except asyncio.TimeoutError:
            continue
        if message.type == aiohttp.WSMsgType.BINARY:
            seen += message.data
        elif message.type == aiohttp.WSMsgType.TEXT:
            seen += message.data.encode()
        else:
            break
    return seen, ws
