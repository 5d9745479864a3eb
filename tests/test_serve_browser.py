"""A real browser on ``mnist-tui --serve``: headless Chromium over the DevTools protocol.

Skipped when no Chromium is installed (``apt-get install chromium``). It loads the page,
waits for the app's first bytes, checks that every request stayed on loopback and that
the local Roboto Mono loaded, then opens the draw screen and paints with the mouse,
reading the ink back from a screenshot.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from serving import served_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs Chromium (.ci/run) and sets MNIST_TUI_REQUIRE_BROWSER=1: there a missing browser fails.
REQUIRED = os.environ.get("MNIST_TUI_REQUIRE_BROWSER") == "1"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None and not REQUIRED, reason="no chromium installed"),
]


def test_chromium_is_there_when_required():
    assert CHROMIUM is not None or not REQUIRED, "MNIST_TUI_REQUIRE_BROWSER=1 but no chromium on PATH"


WINDOW = (1400, 900)


@pytest.fixture
def served(tmp_path):
    with served_app(tmp_path, stop_timeout=60) as (url, _process):
        yield url + "/"


class DevTools:
    """Just enough of the Chrome DevTools protocol: call a method, collect events."""

    def __init__(self, ws) -> None:
        self.ws, self.next_id, self.events = ws, 0, []

    async def call(self, method: str, **params):
        self.next_id += 1
        my_id = self.next_id
        await self.ws.send_json({"id": my_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == my_id:
                assert "error" not in message, message
                return message.get("result", {})
            self.events.append(message)

    async def evaluate(self, expression: str, promise: bool = False):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=promise)
        return result["result"].get("value")

    def terminal_text(self) -> str:
        """All the app has written to the page's terminal so far, escape sequences dropped (xterm
        paints with WebGL or a canvas: the page's DOM holds no text to read back)."""
        frames = (e["params"]["response"] for e in self.events if e.get("method") == "Network.webSocketFrameReceived")
        data = b"".join(
            base64.b64decode(f["payloadData"]) if f["opcode"] == 2 else f["payloadData"].encode() for f in frames
        )
        return ESCAPE.sub("", data.decode("utf-8", "replace"))

    async def until(self, condition, what: str, timeout: float = 60):
        """Poll ``condition`` (async, → a value) until it is truthy; fail with ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not (value := await condition()):
            assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
            await asyncio.sleep(0.1)
        return value

    async def until_shown(self, text: str, what: str, timeout: float = 60) -> None:
        """Wait until the app has written ``text`` to the terminal (each call reads new frames)."""

        async def shown() -> bool:
            await self.evaluate("0")  # a round trip: the frames that came meanwhile are collected
            return text in self.terminal_text()

        await self.until(shown, what, timeout)


ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


async def _browse(url: str, profile: str):
    import aiohttp
    from PIL import Image

    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--remote-debugging-port=0", f"--user-data-dir={profile}",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "chromium did not start"
            await asyncio.sleep(0.1)
        devtools_port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as session:
            async with session.put(f"http://127.0.0.1:{devtools_port}/json/new?about:blank") as response:
                target = await response.json()
            async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                tools = DevTools(ws)
                await tools.call("Network.enable")
                await tools.call("Page.navigate", url=url)
                first_byte = "document.body ? document.body.className.includes('-first-byte') : false"
                await tools.until(lambda: tools.evaluate(first_byte), "the app to draw in the browser")
                await tools.until_shown("all test digits", "the dashboard (its predictions panel)")
                font_ok = await tools.evaluate(
                    "document.fonts.ready.then(() => document.fonts.check('16px \"Roboto Mono\"'))", promise=True
                )
                screen = await tools.evaluate(
                    "(() => { const r = document.querySelector('.xterm-screen').getBoundingClientRect();"
                    " return [r.width, r.height]; })()"
                )
                # no click, no focus() here: the page gives the terminal the keys itself (a user's
                # first keys did nothing, and the footer was empty, until they clicked the page)
                focused = await tools.evaluate(
                    "!!document.activeElement && document.activeElement.classList.contains('xterm-helper-textarea')"
                )
                key = {"key": "d", "code": "KeyD", "windowsVirtualKeyCode": 68}
                await tools.call("Input.dispatchKeyEvent", type="keyDown", text="d", **key)
                await tools.call("Input.dispatchKeyEvent", type="keyUp", **key)
                if focused:  # else the key went nowhere: the test fails on `focused`, not on a wait here
                    await tools.until_shown("Draw a digit", "the draw screen after d")
                stroke = await _drag_across_the_canvas(tools, screen)

                async def inked():  # the stroke painted: a screenshot with the ink along it, else None
                    shot = await tools.call("Page.captureScreenshot", format="png")
                    image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("L")
                    return image if min(image.getpixel((int(x), int(y))) for x, y in stroke[0][2:-2]) > 200 else None

                try:
                    image = await tools.until(inked, "the stroke to show", timeout=30)
                except AssertionError:  # the last screenshot, for the test's own message on the ink
                    shot = await tools.call("Page.captureScreenshot", format="png")
                    image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("L")
                sent = [e for e in tools.events if e.get("method") == "Network.requestWillBeSent"]
                urls = [e["params"]["request"]["url"] for e in sent]
                answered = [
                    e["params"]["response"] for e in tools.events if e.get("method") == "Network.responseReceived"
                ]
                failed = [(r["url"], r["status"]) for r in answered if r["status"] >= 400]
                return font_ok, urls, image, stroke, focused, failed
    finally:  # the whole group: a renderer outliving the browser wrote on in its profile
        with contextlib.suppress(ProcessLookupError):
            os.killpg(browser.pid, signal.SIGTERM)
        browser.wait(timeout=20)


async def _drag_across_the_canvas(tools: DevTools, screen: list[float]):
    """A horizontal stroke along MNIST row 10, columns 6 to 20, in browser pixels."""
    columns, rows = _terminal_size(screen)
    cell_w, cell_h = screen[0] / columns, screen[1] / rows

    def at(row: int, col: int) -> tuple[float, float]:  # canvas content starts 2 rows, 1 column in
        return (1 + 2 * col + 1) * cell_w, (2 + row + 0.5) * cell_h

    points = [at(10, col) for col in range(6, 21)]
    await tools.call("Input.dispatchMouseEvent", type="mousePressed", x=points[0][0], y=points[0][1],
                     button="left", buttons=1, clickCount=1)  # fmt: skip
    for x, y in points[1:]:
        await tools.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, button="left", buttons=1)
    await tools.call("Input.dispatchMouseEvent", type="mouseReleased", x=points[-1][0], y=points[-1][1],
                     button="left", buttons=0, clickCount=1)  # fmt: skip
    return points, at(20, 13)


def _terminal_size(screen: list[float]) -> tuple[int, int]:
    """Cells of 16 px Roboto Mono: about 9.62 × 21 px (measured; xterm fits whole cells)."""
    return round(screen[0] / 9.62), round(screen[1] / 21.0)


def test_the_served_dashboard_runs_in_chromium_offline_and_draws_with_the_mouse(served):
    # a child of the browser may still be writing its profile as it goes: the removal raced it once
    # ("Directory not empty: 'Default'"); what is left is in the session's own temporary folder
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        font_ok, urls, image, (stroke, blank), focused, failed = asyncio.run(_browse(served, profile))
    assert urls, "no requests recorded"
    assert failed == []  # the page asked for /favicon.ico, a 404 on every open
    outside = [u for u in urls if not u.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:"))]
    assert outside == []  # no Google Fonts, nothing fetched from anywhere else
    assert font_ok  # Roboto Mono, served by textual-serve itself
    assert focused, "the terminal did not take the keys when the page opened"
    inked = [image.getpixel((int(x), int(y))) for x, y in stroke[2:-2]]
    assert min(inked) > 200, f"the stroke is not white on the canvas: {inked}"
    assert image.getpixel((int(blank[0]), int(blank[1]))) < 40  # paper elsewhere
