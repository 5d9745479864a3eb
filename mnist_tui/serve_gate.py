"""The guards in front of textual-serve: a session cap, a token off loopback, a run folder per session.

Why each exists (measured, issue 16):

- Sessions opened at the same moment failed with "Application failed to start": each runs
  the same command line, so all claimed the same run folder (the same-second timestamp, or
  the one ``--run-dir``) and all but one were refused as "in use by another process". The
  default name is now claimed atomically (:func:`mnist_tui.rundir.create_fresh_run_dir`), and
  an explicit ``--run-dir`` becomes the parent of one fresh folder per session.
- A session is an app process of ~0.9 GB; six took 5 GB. Past ``max_sessions`` a request
  gets a page saying the server is full, and no process.
- On any host but loopback, anyone who reached the port could start training. There every
  request needs the token (``?token=`` once, then a cookie, as Jupyter does); without it a
  403 page, and nothing starts.
- A session whose app exits before drawing (a bad option, a folder in use) left a blank tab
  waiting forever: it now shows a line and the tab is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
import secrets
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from mnist_tui.errors import UserError
from mnist_tui.made_folders import remove_unopened
from mnist_tui.rundir import create_fresh_run_dir
from mnist_tui.serve import app_command, reachable_url

TOKEN_COOKIE = "mnist_tui_token"
RUN_DIR = "--run-dir"
log = logging.getLogger("textual-serve")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``: only this machine can connect."""
    name = host.strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Gate:
    token: str | None  # None: no token asked (loopback, unless one was given)
    max_sessions: int

    @classmethod
    def make(cls, host: str, max_sessions: int, token: str | None = None, require_token: bool | None = None) -> Gate:
        if isinstance(max_sessions, bool) or not isinstance(max_sessions, int) or max_sessions < 1:
            raise UserError(f"--max-sessions must be a whole number ≥ 1, got {max_sessions!r}")
        if token is not None and (not token or any(c.isspace() or not c.isprintable() for c in token)):
            raise UserError("--token must be one word of printable characters")
        required = token is not None or (not is_loopback(host) if require_token is None else require_token)
        if not required:
            return cls(None, max_sessions)
        return cls(token or secrets.token_urlsafe(24), max_sessions)

    def allows(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        given = request.match_info.get("token") or request.query.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
        return secrets.compare_digest(given.encode(), self.token.encode())

    def url(self, base: str) -> str:
        """The URL to open, printed at start: ``http://host:port/?token=…`` when a token is asked."""
        return f"{base}/?token={quote(self.token)}" if self.token else f"{base}/"


def split_run_dir(app_args: Sequence[str]) -> tuple[list[str], Path | None]:
    """The session's arguments without ``--run-dir`` (any abbreviation argparse accepts), and its value."""
    args: list[str] = []
    run_dir: Path | None = None
    items = iter(app_args)
    for arg in items:
        name, has_value, value = arg.partition("=")
        if len(name) >= 4 and RUN_DIR.startswith(name):  # "--ru" is already unique among the options
            run_dir = Path(value if has_value else next(items, ""))
        else:
            args.append(arg)
    return args, run_dir


class Session(AppService):
    """An app process that says so in the tab, and closes it, if it ends without drawing anything."""

    drew = False

    async def on_data(self, payload: bytes) -> None:
        self.drew = True
        await super().on_data(payload)

    async def run(self) -> None:
        await super().run()  # returns once the app's output ends, not once the process has
        if self._process is not None:  # the server then removed the session's folder while the
            await self._process.wait()  # app still cleaned it up: an empty folder stayed
        try:
            if not self.drew:
                text = "mnist-tui: the session could not start (the server's output says why)"
                await self.remote_write_bytes(f"\r\n{text}\r\n".encode())
            await self.remote_close()
        except Exception:  # the browser already went away
            log.debug("the session's tab was already closed")


class GatedServer(Server):
    def __init__(self, app_args: Sequence[str], gate: Gate, **kwargs) -> None:
        self.session_args, self.run_base = split_run_dir(app_args)
        super().__init__(app_command(self.session_args), **kwargs)
        self.gate = gate
        self.sessions = 0  # running app processes; changed only on the event loop
        self.running: set[Session] = set()  # told to quit first when the server stops
        self.full_message: str | None = None  # a tab past the cap is told this (else: the server is full)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.router.add_get("/ws/{token}", self.handle_websocket)  # the page's socket: token in the path
        app.middlewares.append(self._check_token)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """Quiet: the URL is printed once the port really listens (see :meth:`serve`)."""

    def serve(self, debug: bool = False) -> None:
        """textual-serve's ``serve``, but the URL (and its token) is printed only once the port
        listens: aiohttp runs ``on_startup`` before it binds, and a browser (or a test) given the
        URL then found the port closed. A port already taken raises ``OSError``."""
        self.debug = debug
        self.initialize_logging()
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        runner = web.AppRunner(await self._make_app(), handle_signals=False, access_log=log)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
            url = self.gate.url(reachable_url(self.host, self.port))
            print(f"mnist-tui: serving the dashboard on {url}", flush=True)
            print(f"mnist-tui: at most {self.gate.max_sessions} sessions at once; Ctrl+C stops", flush=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):  # Windows
                    loop.add_signal_handler(signum, stop.set)
            await stop.wait()
            await self.stop_sessions()
        finally:
            await runner.cleanup()  # closes the sockets, ends each session (quit to its app)

    async def stop_sessions(self) -> None:
        """Each session's app is told to quit, as q, before the sockets close: closed first, a tab's
        run trained on for 12-19 s (the close's wait for each browser's answer), to its end in one."""
        await asyncio.gather(*(service.stop() for service in list(self.running)), return_exceptions=True)

    def _refused(self, request: web.Request, status: int, title: str, message: str) -> web.Response:
        context = {"title": title, "message": message}
        return aiohttp_jinja2.render_template("refused.html", request, context, status=status)

    def _full(self, request: web.Request) -> web.Response:
        message = self.full_message or (
            f"All {self.gate.max_sessions} sessions of this server are in use (each runs its own training). "
            "Close another tab of this dashboard, or try again later."
        )
        response = self._refused(request, 503, "the server is full", message)
        response.headers["Retry-After"] = "30"
        return response

    @web.middleware
    async def _check_token(self, request: web.Request, handler) -> web.StreamResponse:
        if not self.gate.allows(request):
            log.warning("refused %s %s: no valid token", request.method, request.path)
            message = (
                "This mnist-tui server asks for a token. Open the URL it printed when it started "
                "(it ends in ?token=…), or add ?token=… to this address."
            )
            return self._refused(request, 403, "a token is needed", message)
        return await handler(request)

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.sessions >= self.gate.max_sessions:
            return self._full(request)
        response = await super().handle_index(request)
        response.text = self._for_the_address_asked(response.text, request)
        if self.gate.token:  # static files carry it as a cookie; the socket's URL holds it (textual.js adds a query)
            page = response.text.replace('/ws"', f'/ws/{quote(self.gate.token, safe="")}"')
            response.text = page
            response.set_cookie(TOKEN_COOKIE, self.gate.token, httponly=True, samesite="Strict")
        return response

    def _for_the_address_asked(self, page: str, request: web.Request) -> str:
        """The page's script, styles and socket at the address the browser used. textual-serve
        writes them at the server's own address: ``0.0.0.0`` for ``--host 0.0.0.0`` (where no
        other machine can fetch them), 127.0.0.1 through an SSH tunnel on another local port.
        A proxy in front may name the address it was asked for (``X-Forwarded-Host``/``-Proto``)."""
        # a chain of proxies lists each hop ("https, http"): the first is the browser's
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
        host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
        own_ws = "ws:" + self.public_url.split(":", 1)[1]
        ws = ("wss://" if scheme == "https" else "ws://") + host
        return page.replace(own_ws, ws).replace(self.public_url, f"{scheme}://{host}")

    def _command(self) -> tuple[str, Path | None]:
        """This session's command, and the fresh run folder made for it under an explicit ``--run-dir``."""
        if self.run_base is None:
            return self.command, None  # the default runs/<timestamp> is claimed atomically by the session
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = create_fresh_run_dir(self.run_base / stamp)
        return app_command([*self.session_args, RUN_DIR, str(folder)]), folder

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=15)
        if self.sessions >= self.gate.max_sessions:  # the page was served before the others started
            await websocket.prepare(request)
            told = self.full_message or f"all {self.gate.max_sessions} sessions are in use"
            await websocket.send_bytes(f"mnist-tui: {told}\r\n".encode())
            await websocket.close()
            return websocket
        self.sessions += 1  # before any await: simultaneous opens are counted one by one
        try:
            return await self._run_session(request, websocket)
        finally:
            self.sessions -= 1

    async def _run_session(self, request: web.Request, websocket: web.WebSocketResponse) -> web.WebSocketResponse:
        """textual-serve's ``handle_websocket``, with this session's own command and :class:`Session`."""
        width = _to_int(request.query.get("width"), 80)
        height = _to_int(request.query.get("height"), 24)
        service: Session | None = None
        folder: Path | None = None
        try:
            await websocket.prepare(request)
            try:
                command, folder = self._command()
            except UserError as exc:
                await websocket.send_bytes(f"mnist-tui: error: {exc}\r\n".encode())
                await websocket.close()
                return websocket
            service = Session(
                command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await service.start(width, height)
            self.running.add(service)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # as textual-serve: one session's failure must not stop the server
            log.exception(error)
        finally:
            if service is not None:
                self.running.discard(service)
                await service.stop()
            if folder is not None:  # made here for the session: if it trained nothing, it goes (its
                remove_unopened(folder)  # lock file with it, where the session quit before its run began)
        return websocket


def _to_int(text: str | None, default: int) -> int:
    try:
        return max(10, min(int(text), 1000)) if text is not None else default
    except ValueError:
        return default
