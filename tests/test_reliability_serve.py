"""Issue 16: ``--serve`` under concurrent opens, with a session cap, and a token off loopback.

Everything listens on 127.0.0.1; "a public host" is simulated with ``require_token=True``.
Every wait has a deadline; a session counts as started once its dashboard has drawn
"all test digits" (the predictions panel), as in tests/test_serve.py.
"""

from __future__ import annotations

import asyncio
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from serving import DRAWN, read_session, served_directly

from mnist_tui.errors import UserError
from mnist_tui.serve import app_args_without_serving
from mnist_tui.serve_gate import Gate, is_loopback, split_run_dir

aiohttp = pytest.importorskip("aiohttp")
APP = ["--dataset", "synthetic", "--limit-train", "256"]


def _get(url: str) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def _ws_url(url: str, **query: str) -> str:
    base, _, given = url.partition("/?")
    params = "&".join([*(f"{k}={v}" for k, v in query.items()), *([given] if given else [])])
    return base.replace("http", "ws", 1).rstrip("/") + "/ws?" + params


def _sessions(marker: Path) -> list[int]:
    """App processes (not the server) started for this test: their command line or folder holds ``marker``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
                folder = os.readlink(entry / "cwd")
            except OSError:
                continue
            if args[1:3] == [b"-m", b"mnist_tui"] and (
                any(str(marker).encode() in a for a in args) or folder == str(marker)
            ):
                pids.append(int(entry.name))
    return pids


def _wait_until_gone(marker: Path, timeout: float = 120) -> None:
    """Closed tabs end their app processes; one still importing torch takes seconds (2 shared cores)."""
    deadline = time.monotonic() + timeout
    while _sessions(marker):
        assert time.monotonic() < deadline, "a session outlived its closed tab"
        time.sleep(0.2)


def test_simultaneous_opens_all_start(tmp_path):
    """Three tabs opened at once, with an explicit --run-dir: each gets its own folder and draws."""
    run_dir = tmp_path / "shared-run-dir"
    folders: list[int] = []

    async def three() -> list[bytes]:
        async with aiohttp.ClientSession() as client:
            opened = await asyncio.gather(
                *(read_session(client, _ws_url(url, width="100", height="30")) for _ in range(3))
            )
            folders.append(len([p for p in run_dir.iterdir() if p.is_dir()]))  # claimed before the first frame
            for _, ws in opened:
                await ws.send_json(["stdin", "q"])
                await ws.close()
            return [seen for seen, _ in opened]

    with served_directly(tmp_path, [*APP, "--run-dir", str(run_dir)], stop_timeout=90) as (url, process, lines):
        screens = asyncio.run(three())
        _wait_until_gone(run_dir)
    assert all(DRAWN in screen for screen in screens), "".join(lines)[-3000:]
    assert "failed to start" not in "".join(lines)
    assert folders == [3]  # one fresh run folder per session
    assert list(run_dir.glob("*/*")) == []  # quit before training: no run for the workspace to list


def test_a_tab_closed_at_once_leaves_no_folder(tmp_path):
    """A page closed within half a second (a link preview, `chromium --dump-dom`): the server
    removed the session's folder before the session had finished with it, and an empty folder
    stayed for each such tab."""
    from waiting import wait_until

    run_dir = tmp_path / "sessions"

    async def opened_and_closed() -> None:
        async with aiohttp.ClientSession() as client:
            for _ in range(2):
                ws = await client.ws_connect(_ws_url(url, width="100", height="30"))
                await ws.close()

    with served_directly(tmp_path, [*APP, "--run-dir", str(run_dir)], stop_timeout=90) as (url, process, lines):
        asyncio.run(opened_and_closed())
        _wait_until_gone(run_dir)
        assert wait_until(lambda: not run_dir.exists() or not any(run_dir.iterdir()), timeout=30), list(
            run_dir.rglob("*")
        )


def test_same_second_default_names_all_start(tmp_path):
    """No --run-dir: the sessions' runs/<timestamp> names used to collide ("in use by another process")."""

    folders: list[int] = []

    async def three() -> list[bytes]:
        async with aiohttp.ClientSession() as client:
            opened = await asyncio.gather(*(read_session(client, _ws_url(url)) for _ in range(3)))
            folders.append(len(list((tmp_path / "runs").iterdir())))  # each claimed before its first frame
            for _, ws in opened:
                await ws.close()
            return [seen for seen, _ in opened]

    with served_directly(tmp_path, APP, stop_timeout=90) as (url, process, lines):
        screens = asyncio.run(three())
        _wait_until_gone(tmp_path)
    assert all(DRAWN in screen for screen in screens), "".join(lines)[-3000:]
    assert folders == [3]


def test_the_session_cap_shows_a_full_page_and_starts_nothing(tmp_path):
    marker = tmp_path / "capped"

    async def scenario(url: str) -> tuple:
        async with aiohttp.ClientSession() as client:
            first, ws = await read_session(client, _ws_url(url))
            assert DRAWN in first
            status, page, headers = await asyncio.to_thread(_get, url)
            assert len(_sessions(marker)) == 1
            refused, ws2 = await read_session(client, _ws_url(url), until=b"in use")
            await ws2.close()
            running_while_full = len(_sessions(marker))
            await ws.close()  # the first tab goes: its place is free again
            deadline = time.monotonic() + 60
            while _get(url)[0] != 200:
                assert time.monotonic() < deadline, "the closed session's place never came back"
                await asyncio.sleep(0.2)
            return status, page, headers, refused, running_while_full

    app = [*APP, "--run-dir", str(marker)]
    with served_directly(tmp_path, app, max_sessions=1, stop_timeout=90) as (url, process, lines):
        status, page, headers, refused, running_while_full = asyncio.run(scenario(url))
        _wait_until_gone(marker)
    assert status == 503 and "the server is full" in page and "All 1 sessions" in page
    assert headers.get("Retry-After")
    assert b"all 1 sessions are in use" in refused
    assert running_while_full == 1  # the refused tab started no app process


def test_a_token_is_needed_off_loopback_and_nothing_starts_without_it(tmp_path):
    marker = tmp_path / "guarded"

    async def attempts(base: str, token: str) -> list:
        results = []
        async with aiohttp.ClientSession() as client:
            for query in ("", "?token=wrong"):
                try:
                    await client.ws_connect(base.replace("http", "ws", 1) + "/ws" + query)
                    results.append("opened")
                except aiohttp.WSServerHandshakeError as error:
                    results.append(error.status)
            seen, ws = await read_session(client, base.replace("http", "ws", 1) + f"/ws/{token}?width=100&height=30")
            await ws.close()
            results.append(DRAWN in seen)  # the page's own socket URL
        return results

    app = [*APP, "--run-dir", str(marker)]
    with served_directly(tmp_path, app, require_token=True) as (url, process, lines):
        assert "?token=" in url  # printed with the URL, as Jupyter does
        base, token = url.split("/?token=")
        for path in ("/", "/?token=wrong", "/static/js/textual.js"):
            status, page, _ = _get(base + path)
            assert status == 403, path
        assert "asks for a token" in _get(base + "/")[1]
        assert _sessions(marker) == []
        status, page, headers = _get(url)
        assert status == 200 and "<title>mnist-tui</title>" in page
        assert f"mnist_tui_token={token}" in headers.get("Set-Cookie", "")
        assert f'data-session-websocket-url="{base.replace("http", "ws", 1)}/ws/{token}"' in page
        assert asyncio.run(attempts(base, token)) == [403, 403, True]
        _wait_until_gone(marker)


def test_a_given_token_is_used_and_loopback_needs_none(tmp_path):
    with served_directly(tmp_path, APP, token="given-secret-123", stop_timeout=90) as (url, process, lines):
        assert url.endswith("/?token=given-secret-123")
        assert _get(url.split("?")[0])[0] == 403
        assert _get(url)[0] == 200
    with served_directly(tmp_path, APP, stop_timeout=90) as (url, process, lines):
        assert "token" not in url and _get(url)[0] == 200


def test_gate_rules():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    assert Gate.make("127.0.0.1", 4).token is None
    public = Gate.make("0.0.0.0", 4)
    assert public.token and len(public.token) >= 30 and public.token != Gate.make("0.0.0.0", 4).token
    assert Gate.make("127.0.0.1", 4, token="abc").token == "abc"
    for bad in ({"max_sessions": 0}, {"max_sessions": True}, {"max_sessions": 4, "token": ""}):
        with pytest.raises(UserError):
            Gate.make("0.0.0.0", **bad)
    with pytest.raises(UserError, match="one word"):
        Gate.make("0.0.0.0", 4, token="two words")


def test_run_dir_is_taken_out_of_the_session_command_in_any_spelling():
    for argv in (
        ["--run-dir", "a b", "--epochs", "2"],
        ["--run-dir=a b", "--epochs", "2"],
        ["--ru", "a b", "--epochs", "2"],
    ):
        assert split_run_dir(argv) == (["--epochs", "2"], Path("a b"))
    assert split_run_dir(["--resume", "x"]) == (["--resume", "x"], None)


def test_the_token_and_the_cap_stay_out_of_each_session_command_line():
    argv = ["--serve", "--token", "s3cret", "--max-sessions=2", "--dataset", "synthetic", "--tok=x", "--max", "3"]
    assert app_args_without_serving(argv) == ["--dataset", "synthetic"]


def test_a_stopped_server_tells_each_session_to_quit_before_closing_its_socket():
    """SIGTERM to `--serve` closed the sockets first: each tab's run trained on for 12-19 s (one
    to its end) before its app was told to quit. Measured after: 0.2 s, the run "stopped"."""
    from mnist_tui.serve import make_server

    server = make_server(["--dataset", "synthetic"])
    told: list[str] = []

    class Running:
        def __init__(self, name: str) -> None:
            self.name = name

        async def stop(self) -> None:
            told.append(self.name)

    server.running = {Running("a"), Running("b")}
    asyncio.run(server.stop_sessions())
    assert sorted(told) == ["a", "b"]
