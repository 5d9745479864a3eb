"""The app shell: the dashboard screen, the source's worker, app-wide keys, signals and exit codes.

Torch loads inside the source's worker, after the first frame. The worker only posts
messages to the dashboard screen (see ``bridge.py``); every widget is touched on the UI
thread. A local trainer starts held at its first batch, so the data and the model load
while the user reads the screen; space lets it go.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import threading
import traceback

from textual.app import App, SystemCommand

from mnist_tui.drawing import ModelSnapshot
from mnist_tui.errors import UserError
from mnist_tui.sources.base import RunSource, SourceResult
from mnist_tui.tui.bridge import SourceBridge
from mnist_tui.tui.screens.dashboard import DashboardScreen
from mnist_tui.tui.screens.help import HelpScreen

SERVER_PID_VARIABLE = "MNIST_TUI_SERVER_PID"  # set by mnist_tui.serve for its sessions


class MnistApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "mnist-tui"
    BINDINGS = [("question_mark", "help", "Help")]
    # SIGTERM, SIGHUP (a closed terminal) and SIGINT quit like q: the run stops within a batch,
    # the terminal is restored, finished epochs stay saved. Exit codes match the headless run.
    STOP_SIGNALS = {signal.SIGTERM: 143, signal.SIGHUP: 129, signal.SIGINT: 130}

    def __init__(self, source: RunSource, launch: bool = True) -> None:
        """``launch=False``: a still dashboard that tests feed with messages."""
        super().__init__()
        self.source = source
        self.launch = launch
        self.snapshot = ModelSnapshot()
        self._dashboard = DashboardScreen(source, self.snapshot)
        self.result: SourceResult | None = None
        self.source_done = threading.Event()
        self.crash: str | None = None  # an internal error, as one line

    def get_default_screen(self) -> DashboardScreen:
        return self._dashboard

    @property
    def dashboard(self) -> DashboardScreen:
        return self._dashboard

    def on_mount(self) -> None:
        if self.launch:
            self.run_source()
        self._watch_signals()
        server = os.environ.get(SERVER_PID_VARIABLE)
        if server and server.isdigit():
            self.set_interval(2.0, lambda: self._exit_if_gone(int(server)))

    def run_source(self) -> None:
        """Start (or, for a source that can extend an ended run, start again) the source's worker."""
        self.source_done.clear()
        self.run_worker(self._run_source, thread=True, exclusive=True, name="source", exit_on_error=False)

    def _run_source(self) -> None:
        """In the worker thread: the source reports to the dashboard until it ends or is closed."""
        dashboard = self.dashboard
        bridge = SourceBridge(dashboard.post_message, dashboard.inbox, self.snapshot)
        try:
            self.result = self.source.run(bridge)
        except Exception as exc:  # a source that breaks (a broken torch import) is a failure too
            from mnist_tui.training.events import Failed

            self.result = SourceResult(error=exc)
            bridge(Failed(f"cannot open the run: {type(exc).__name__}: {exc}", 0))
        finally:
            self.source_done.set()

    # -- leaving -------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        self.source.close()  # a trainer stops within one batch, also while paused; a follower stops following
        code = self.exit_code()
        self.exit(code, return_code=code)

    def exit_code(self) -> int:
        if self.dashboard.state == "failed":
            error = self.result.error if self.result is not None else None
            return 2 if isinstance(error, UserError) else 1
        return 0

    def _watch_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum, code in self.STOP_SIGNALS.items():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._quit_on_signal, code)

    def _quit_on_signal(self, code: int) -> None:
        self.source.close()
        self.exit(code, return_code=code)

    def _exit_if_gone(self, pid: int) -> None:
        """A served session exits with its server (a killed server sends it no quit)."""
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.source.close()
            self.exit()
        except PermissionError:
            pass

    def on_unmount(self) -> None:
        """Every way out closes the source, not only q: a browser tab closed under --serve exits
        through the web driver, and a worker left paused would keep the process alive for ever."""
        self.source.close()
        loop = asyncio.get_running_loop()
        for signum in self.STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)

    def _fatal_error(self) -> None:
        """An internal error: stop the run (finished epochs stay saved), exit 1, one line on stderr
        and the traceback in a file, instead of a screenful of locals."""
        self.source.close()
        error = self._exception
        where = traceback.extract_tb(error.__traceback__)[-1] if error and error.__traceback__ else None
        place = f" at {os.path.basename(where.filename)}:{where.lineno}" if where else ""
        self.crash = f"the dashboard failed: {type(error).__name__}: {error}{place}"
        with contextlib.suppress(OSError):
            fd, path = tempfile.mkstemp(prefix="mnist-tui-crash-", suffix=".txt")
            with os.fdopen(fd, "w") as f:
                f.write("".join(traceback.format_exception(error)))
            self.crash += f" (traceback in {path})"
        self._close_messages_no_wait()

    # -- help and the palette ------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.dashboard.settings_lines()))

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        if not isinstance(screen, DashboardScreen):
            return
        yield SystemCommand("Start / pause / resume", "The space key", screen.action_toggle_training)
        yield SystemCommand("Next digit", "Browse predictions forward (j)", lambda: screen.action_browse(1))
        yield SystemCommand("Previous digit", "Browse predictions back (k)", lambda: screen.action_browse(-1))
        yield SystemCommand("Wrong only", "Show only misclassified test digits, or all (w)", screen.action_toggle_wrong)
        yield SystemCommand("Next order", "Browse in the next order (o)", lambda: screen.action_order(1))
        yield SystemCommand("Digit drawing", "ASCII characters or half-blocks (m)", screen.action_cycle_digit_mode)
        yield SystemCommand("Draw a digit", "Draw and see the model's guess live (d)", screen.action_draw)
        yield SystemCommand("Confusion matrix", "Pick a cell to browse those digits (x)", screen.action_confusion)
        if screen.capabilities.save:
            yield SystemCommand("Save checkpoint", "The last finished epoch's checkpoint, now (s)", screen.action_save)
        if screen.capabilities.stop:
            yield SystemCommand(
                "Stop the run", "End the run itself; finished epochs stay saved (S)", screen.action_stop_run
            )
        yield SystemCommand("Help", "Keys and panels (?)", self.action_help)


def run_app(source: RunSource) -> int:
    """Run the dashboard; return the exit code (0, 1 on a failure, 2 on bad input, 128+N on signal N)."""
    app = MnistApp(source)
    app.run()
    source.close()
    app.source_done.wait(timeout=30)  # normally already set: the loop stops within a batch
    code = app.return_code or 0
    message = app.crash or app.dashboard.failure
    if message is not None:
        print(f"mnist-tui: error: {message}", file=sys.stderr)
    if app.crash is not None:
        code = 1
    return code
