"""The app shell: the dashboard screen, the source's worker, app-wide keys, signals and exit codes.

Torch loads inside the source's worker, after the first frame. The worker only posts
messages to the dashboard screen (see ``bridge.py``); every widget is touched on the UI
thread. A local trainer starts held at its first batch, so the data and the model load
while the user reads the screen; space lets it go.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from mnist_tui.config import Config
from mnist_tui.config import make_config as config_of
from mnist_tui.errors import UserError, crash_line, one_line, told
from mnist_tui.launch import release_collector
from mnist_tui.sources.base import RunSource
from mnist_tui.sources.kept import kept_line
from mnist_tui.training.events import RunResult
from mnist_tui.tui import messages as msg
from mnist_tui.tui import stop_signals
from mnist_tui.tui.screens.dashboard import DashboardScreen
from mnist_tui.tui.screens.dashboard_keys import palette_entries
from mnist_tui.tui.screens.help import PANELS, HelpScreen, dashboard_keys, screen_commands, screen_keys

SERVER_PID_VARIABLE = "MNIST_TUI_SERVER_PID"  # set by mnist_tui.serve for its sessions


class MnistApp(App[int]):
    # The workspace's too: Textual (8.2) reads a screen's CSS_PATH when the screen is pushed, not
    # for the app's default screen, and `--runs DIR` opens on the workspace: its filter stood
    # open and its compare plots were stacked one row high. Its rules are scoped to it.
    CSS_PATH = ["app.tcss", "screens/workspace.tcss"]
    TITLE = "mnist-tui"
    BINDINGS = [("question_mark", "help", "Help")]

    def __init__(
        self,
        source: RunSource | None = None,
        launch: bool = True,
        runs: Path | None = None,
        make_config: Callable[[dict | None], Config] | None = None,
        shown_config: Callable[[dict | None], Config] | None = None,
    ) -> None:
        """A dashboard over ``source``, or (``runs``) the workspace over a folder of runs. A new
        run started from it is made with ``make_config`` (under the command line's options), a
        run opened to be replayed or followed with ``shown_config`` (its own settings; where its
        digits are). ``launch=False``: a still dashboard that tests feed with messages."""
        super().__init__()
        self.launch = launch
        self.runs = runs
        self.make_config = make_config or (lambda saved: config_of(saved=saved))  # no options given
        self.shown_config = shown_config or (lambda saved: config_of(saved=saved))
        self._dashboard = DashboardScreen(source) if source is not None else None
        self.crash: str | None = None  # an internal error, as one line

    def get_default_screen(self) -> Screen:
        if self._dashboard is None:
            from mnist_tui.tui.screens.workspace import WorkspaceScreen  # not before the first frame

            return WorkspaceScreen(self.runs)
        return self._dashboard

    @property
    def dashboard(self) -> DashboardScreen:
        """The dashboard the app opened with (tests and the exit code read it)."""
        return self._dashboard

    @property
    def source(self) -> RunSource | None:
        return self._dashboard.source if self._dashboard is not None else None

    @property
    def snapshot(self):
        return self._dashboard.snapshot

    @property
    def result(self) -> RunResult | None:
        return self._dashboard.result

    @property
    def source_done(self) -> threading.Event:
        return self._dashboard.source_done

    def on_mount(self) -> None:
        stop_signals.watch(self._quit_on_signal)  # SIGTERM, SIGHUP, SIGINT: as q
        server = os.environ.get(SERVER_PID_VARIABLE)
        if server and server.isdigit():
            self.set_interval(2.0, lambda: self._exit_if_gone(int(server)))

    def on_ready(self) -> None:
        """The first frame is drawn: now the source's worker may import torch. Started at mount,
        its import held the GIL while the frame was built. Both changes together (this, and
        the collector held until here) took the frame's write from 0.66-0.77 s after start to
        0.53-0.59 s (medians of 12 launches, two sets, Zen 3)."""
        release_collector()
        if self.launch and self._dashboard is not None:
            self._dashboard.run_source()

    # -- the workspace: open a run, start the next one ------------------------------------------

    def open_dashboard(self, source: RunSource) -> None:
        dashboard = DashboardScreen(source)
        self.push_screen(dashboard)
        dashboard.run_source()

    def action_runs(self, folder: str) -> None:
        """The workspace over ``folder`` (a dashboard's R: its run's parent folder)."""
        from mnist_tui.tui.screens.workspace import WorkspaceScreen

        self.push_screen(WorkspaceScreen(Path(folder)))

    def on_open_run(self, message: msg.OpenRun) -> None:
        from mnist_tui.sources.follow import FollowSource
        from mnist_tui.sources.replay import ReplayRequest, ReplaySource
        from mnist_tui.workspace.runs import opens_as

        def make_config(saved: dict | None) -> Config:
            return self.shown_config(saved).with_changes(run_dir=message.path)

        if opens_as(message.summary.state) == "follow":
            self.open_dashboard(FollowSource(message.path, make_config))
        else:
            self.open_dashboard(ReplaySource(ReplayRequest(message.path, make_config)))

    def on_new_run_from(self, message: msg.NewRunFrom) -> None:
        self._prepare_new_run(message.path, message.summary.name)

    @work(thread=True, group="new-run", exclusive=True, exit_on_error=False)  # n twice: one form
    def _prepare_new_run(self, path: Path, name: str) -> None:
        """Off the UI thread: a format-1 run keeps its settings in its checkpoint (torch loads)."""
        from mnist_tui.workspace.runs import new_run_base

        try:
            base = new_run_base(path, self.make_config)
        except Exception as exc:  # noqa: BLE001 - this worker's errors are nobody's: say it
            self.call_from_thread(self.notify, told(exc), severity="error", timeout=8)
            return
        self.call_from_thread(self._show_new_run_form, base, path, name)

    def _show_new_run_form(self, base: Config, path: Path, name: str) -> None:
        from mnist_tui.tui.screens.new_run import NewRunScreen
        from mnist_tui.workspace.runs import new_run_dir

        self.push_screen(NewRunScreen(base, new_run_dir(path.parent), name), self._train_new)

    def _train_new(self, config: Config | None) -> None:
        if config is not None:
            self._claim_and_train(config)

    @work(thread=True, group="new-run", exit_on_error=False)
    def _claim_and_train(self, config: Config) -> None:
        """Off the UI thread: claiming the folder writes, locks and scans it."""
        from mnist_tui.rundir import claim_run_dir
        from mnist_tui.sources.training import TrainingSource

        try:
            run_dir = claim_run_dir(config.run_dir, None, fresh_name=True)
        except Exception as exc:  # noqa: BLE001 - this worker's errors are nobody's: say it
            self.call_from_thread(self.notify, told(exc), severity="error", timeout=8)
            return
        self.call_from_thread(self.open_dashboard, TrainingSource(config.with_changes(run_dir=run_dir)))

    # -- leaving -------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        self._close_sources()  # a trainer stops within one batch, also while paused; a follower stops following
        code = self.exit_code()
        self.exit(code, return_code=code)

    def close_and_wait(self) -> None:
        """After the app: every source closed, the primary's worker given time to end (it stops
        within a batch, so this is normally at once)."""
        self._close_sources()
        self.wait_for_sources(self._sources_done())

    def _sources_done(self) -> list[threading.Event]:
        """Each dashboard's end of its source: the first one's and those opened since (the workspace's)."""
        screens = [s for s in self.screen_stack if isinstance(s, DashboardScreen)] + [self._dashboard]
        return [screen.source_done for screen in dict.fromkeys(screens) if screen is not None]

    @staticmethod
    def wait_for_sources(done: list[threading.Event]) -> None:
        for event in done:
            event.wait(timeout=30)

    def _close_sources(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                screen.source.close()
        if self._dashboard is not None:
            self._dashboard.source.close()

    def exit_code(self) -> int:
        if self._dashboard is not None and self.dashboard.failure is not None:  # not a replay of a failed run
            error = self.result.error if self.result is not None else None
            return 2 if isinstance(error, UserError) else 1
        return 0

    def _quit_on_signal(self, code: int) -> None:
        self._close_sources()
        if stop_signals.is_hangup(code):  # the terminal is gone: Textual may never close
            done = self._sources_done()  # read here, on the UI thread: a run opened from the workspace too
            stop_signals.end_after_hangup(code, lambda: self.wait_for_sources(done))
        self.exit(code, return_code=code)

    def _exit_if_gone(self, pid: int) -> None:
        """A served session exits with its server (a killed server sends it no quit)."""
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self._close_sources()
            self.exit()
        except PermissionError:
            pass

    def on_unmount(self) -> None:
        """Every way out closes the source, not only q: a browser tab closed under --serve exits
        through the web driver, and a worker left paused would keep the process alive for ever."""
        self._close_sources()
        stop_signals.unwatch()

    def _fatal_error(self) -> None:
        """An internal error: stop the run (finished epochs stay saved), exit 1, one line on stderr
        and the traceback in a file, instead of a screenful of locals."""
        self._close_sources()
        self.crash = crash_line("the dashboard", self._exception or RuntimeError("an unknown internal error"))
        self._close_messages_no_wait()

    def notify(self, message: str, *, title: str = "", severity="information", timeout=None, markup=False) -> None:
        """As written: notices carry names and paths (a[red]b lost "[red]"; an escape reached the terminal)."""
        shown = "\n".join(one_line(line) for line in str(message).split("\n"))
        super().notify(shown, title=one_line(title), severity=severity, timeout=timeout, markup=False)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Textual saves into the user's Downloads folder and, where there is none (a server, a
        container), said only "Failed to save screenshot": then into the working folder."""
        from platformdirs import user_downloads_path

        if path is None and not user_downloads_path().is_dir():
            path = os.getcwd()
        self.deliver_screenshot(filename, path)

    # -- help and the palette ------------------------------------------------------------------

    def action_help(self) -> None:
        """Help for the screen it is opened on: the dashboard's full list, or another screen's own keys."""
        if isinstance(self.screen, HelpScreen):
            return
        if isinstance(self.screen, DashboardScreen):
            screen = self.screen
            keys = dashboard_keys(lambda action: screen.check_action(action, ()))  # what acts on this run now
            self.push_screen(HelpScreen(screen.settings_lines(), keys, about=PANELS))
        else:
            title = getattr(type(self.screen), "HELP_TITLE", None)  # a class's line, else the app's
            self.push_screen(HelpScreen(keys=screen_keys(self.screen), title=title))

    def get_system_commands(self, screen):
        # Maximize acts on the focused widget, and nothing here is worth a whole screen on its own;
        # Textual's "Keys" panel repeats our help (and esc did not close it); a dashboard has its own Quit
        ours = isinstance(screen, DashboardScreen)
        given = set()
        for command in super().get_system_commands(screen):
            if command.title not in ("Maximize", "Minimize", "Keys") and not (ours and command.title == "Quit"):
                given.add(command.title)
                yield command
        if not isinstance(screen, DashboardScreen):
            yield from screen_commands(screen, given, self.action_help)  # its own keys' actions, by name
            return
        for title, line, action, bindings in palette_entries(lambda name: screen.check_action(name, ())):
            keys = " ".join(
                dict.fromkeys(self.get_key_display(Binding(k, "")) for b in bindings for k in b.key.split(","))
            )
            yield SystemCommand(title, f"{line} ({keys})", partial(screen.run_action, action))
        yield SystemCommand("Help", "Keys and panels (?)", self.action_help)


def run_app(source: RunSource | None = None, runs: Path | None = None, make_config=None, shown_config=None) -> int:
    """Run the dashboard over ``source`` (or the workspace over ``runs``); return the exit code
    (0, 1 on a failure, 2 on bad input, 128+N on signal N)."""
    app = MnistApp(source, runs=runs, make_config=make_config, shown_config=shown_config)
    app.run()
    app.close_and_wait()
    code = app.return_code or 0
    message = app.crash or (app.dashboard.failure if app.dashboard is not None else None)
    if message is not None:
        print(f"mnist-tui: error: {one_line(message)}", file=sys.stderr)
    if app.dashboard is not None and (line := kept_line(app.source, app.result, app.dashboard.progress.plan)):
        print(line)
    if app.crash is not None:
        code = 1
    return code
