"""``mnist-tui --serve``: the page is served on loopback, offline-safe, and a session runs the app."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from serving import DRAWN, REPO, read_session, served_app

from mnist_tui.serve import TEMPLATES, app_args_without_serving, app_command, public_url, reachable_url


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


@pytest.fixture
def server(tmp_path):
    with served_app(tmp_path, output=subprocess.PIPE) as (url, process):
        yield url, process


def test_the_page_is_served_on_loopback_with_no_external_fonts(server):
    url, process = server
    status, body = _get(url + "/")
    page = body.decode()
    assert status == 200
    assert "<title>mnist-tui</title>" in page
    assert "googleapis" not in page and "gstatic" not in page
    assert "https://" not in page  # nothing fetched from anywhere but this server
    assert f'data-session-websocket-url="ws://127.0.0.1:{url.rsplit(":", 1)[1]}/ws"' in page
    # the local font and the terminal script the page names are really there
    status, font = _get(url + "/static/fonts/RobotoMono-VariableFont_wght.ttf")
    assert status == 200 and len(font) > 10_000
    assert _get(url + "/static/js/textual.js")[0] == 200


def test_the_page_names_the_address_the_browser_asked_for(server):
    """textual-serve wrote the server's own address into the page: with --host 0.0.0.0 a remote
    browser was sent to fetch the script and open the socket at 0.0.0.0, and through an SSH
    tunnel on another local port, at 127.0.0.1 on the server's port."""
    url, _process = server
    request = urllib.request.Request(url + "/", headers={"Host": "localhost:9000"})
    with urllib.request.urlopen(request, timeout=5) as response:
        page = response.read().decode()
    assert 'data-session-websocket-url="ws://localhost:9000/ws"' in page
    assert 'src="http://localhost:9000/static/js/textual.js"' in page
    assert "127.0.0.1" not in page


def test_it_listens_only_on_loopback_by_default(server):
    url, process = server
    port = int(url.rsplit(":", 1)[1])
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    with socket.socket() as s:
        s.settimeout(2)
        assert s.connect_ex((address, port)) != 0


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_a_browser_session_runs_the_dashboard(server):
    """What a browser does: open the websocket, say its size, read the app's screen."""
    aiohttp = pytest.importorskip("aiohttp")
    url, process = server

    async def session() -> str:
        async with aiohttp.ClientSession() as client:
            ws_url = url.replace("http", "ws") + "/ws?width=100&height=30"
            seen, ws = await read_session(client, ws_url, until=DRAWN, timeout=40)
            await ws.send_json(["stdin", "q"])
            await ws.close()
        return seen.decode("utf-8", "replace")

    screen = asyncio.run(session())
    deadline = time.monotonic() + 40  # the tab is closed: its app process must end, not linger
    while _session_processes(process.args[process.args.index("--run-dir") + 1]):
        assert time.monotonic() < deadline, "the session's app process outlived its browser tab"
        time.sleep(0.2)
    assert "mnist-tui" in screen  # the dashboard's header, drawn by the app process
    assert "all test digits" in screen  # and its predictions panel: the real dashboard, not an error


def _session_processes(marker: str) -> list[int]:
    """Pids of session apps (not the server) whose command line names ``marker``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in args and b"--serve" not in args:
            pids.append(int(entry.name))
    return pids


def test_a_taken_port_is_a_one_line_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [sys.executable, "-m", "mnist_tui", "--serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert errors == [errors[-1]] and errors[-1].startswith("mnist-tui: error: cannot listen on")
    assert "Traceback" not in done.stderr + done.stdout


def test_each_session_runs_this_interpreter_without_the_serving_options():
    argv = ["--serve", "--host", "127.0.0.1", "--port=8123", "--dataset", "synthetic", "--ser", "--po", "9"]
    assert app_args_without_serving(argv) == ["--dataset", "synthetic"]
    assert app_command(["--dataset", "synthetic", "--run-dir", "a b"]).split()[0] == sys.executable
    assert app_command(["--run-dir", "a b"]).endswith("-m mnist_tui --run-dir 'a b'")
    assert public_url("::1", 8000) == "http://[::1]:8000"
    assert reachable_url("0.0.0.0", 8000) == f"http://{socket.gethostname()}:8000"
    assert reachable_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert (TEMPLATES / "app_index.html").exists()


def test_a_run_folder_as_the_parent_of_each_tabs_run_is_refused_at_the_start(tmp_path):
    """`--serve --run-dir RUN` (a run's own folder) started, and every tab ended with only
    "Session ended.": each session's folder would be inside a run. Refused before serving."""
    from argparse import Namespace

    from mnist_tui.errors import UserError
    from mnist_tui.serve import DEFAULT_MAX_SESSIONS, served_sessions

    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text("{}")
    for given in (run, run / "inside"):
        with pytest.raises(UserError, match="with --serve it is the folder each tab's run is made in"):
            served_sessions(Namespace(run_dir=given, resume=None, max_sessions=None))
    assert served_sessions(Namespace(run_dir=tmp_path / "runs", resume=None, max_sessions=None)) == (
        DEFAULT_MAX_SESSIONS,
        None,
    )


def test_serving_a_resumed_run_gives_it_to_one_tab_and_tells_the_next_why(tmp_path):
    """`--serve --resume RUN`: every tab after the first ended with only "Session ended." (the run
    was in use by the first). One tab at a time; the next is told to close it or follow the run."""
    from argparse import Namespace

    from mnist_tui.errors import UserError
    from mnist_tui.serve import served_sessions

    sessions, told = served_sessions(Namespace(run_dir=None, resume=tmp_path / "run", max_sessions=None))
    assert sessions == 1 and f"mnist-tui --follow {tmp_path / 'run'}" in told
    with pytest.raises(UserError, match="one tab at a time"):
        served_sessions(Namespace(run_dir=None, resume=tmp_path / "run", max_sessions=2))
