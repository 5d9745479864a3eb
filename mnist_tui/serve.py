"""``mnist-tui --serve``: the same dashboard in a web browser, through textual-serve.

Each browser tab gets its own app process (textual-serve starts the command per
connection), so every tab is an independent session with its own training run.
The page is our own template (mnist_tui/templates/app_index.html): textual-serve's
links Google Fonts, which fails offline; ours loads Roboto Mono from the server itself.

Three guards sit in front of textual-serve (:mod:`mnist_tui.serve_gate`): a session cap, a
token on any host but loopback, and a run folder of its own for each session.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from mnist_tui.errors import UserError
from mnist_tui.files import shown

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOOPBACK = "127.0.0.1"
SERVER_PID_VARIABLE = "MNIST_TUI_SERVER_PID"
# One session is a whole app process with torch and the data: ~0.9 GB RSS, measured (six took
# 5 GB). Four fit a 24 GB, 2-core machine with room to spare; more only share the 2 cores.
DEFAULT_MAX_SESSIONS = 4


def app_command(app_args: Sequence[str]) -> str:
    """The shell command textual-serve runs per session: this interpreter, this package.

    ``sys.executable`` (not a bare ``python``) so the session runs in the same environment.
    """
    return shlex.join([sys.executable, "-m", "mnist_tui", *app_args])


def public_url(host: str, port: int) -> str:
    """The URL the page and its websocket use (IPv6 literals need brackets)."""
    named = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{named}:{port}"


def reachable_url(host: str, port: int) -> str:
    """The URL to print: a server on every address (``0.0.0.0``, ``::``) is named by this machine's
    host name, since no browser can open 0.0.0.0 on another machine."""
    if host in ("0.0.0.0", "::", ""):
        import socket

        host = socket.gethostname()
    return public_url(host, port)


def make_server(
    app_args: Sequence[str],
    host: str = LOOPBACK,
    port: int = 8000,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    token: str | None = None,
    require_token: bool | None = None,
):
    """The gated textual-serve server (see :func:`serve` for the parameters)."""
    from mnist_tui.serve_gate import Gate, GatedServer

    gate = Gate.make(host, max_sessions, token, require_token)
    return GatedServer(
        app_args,
        gate,
        host=host,
        port=port,
        title="mnist-tui",
        public_url=public_url(host, port),
        templates_path=TEMPLATES,
    )


def serve(
    app_args: Sequence[str],
    host: str = LOOPBACK,
    port: int = 8000,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    token: str | None = None,
    require_token: bool | None = None,
    full_message: str | None = None,
) -> int:
    """Serve until Ctrl+C. A port already taken is a one-line error (exit 2).

    ``max_sessions``: browser sessions running at once (each is an app process); one more gets
    a page saying the server is full, and starts nothing. ``token``: the secret every request
    must carry (``?token=``, then a cookie); made with ``secrets.token_urlsafe`` when the host
    is not loopback and none is given, and printed with the URL. ``require_token``: ask for a
    token even on loopback (True) or never (False); None decides by the host.
    """
    if not (TEMPLATES / "app_index.html").exists():
        raise UserError(f"the page template is missing from {TEMPLATES} (a broken install?)")
    # Sessions outlive a server that is killed (textual-serve sends them no quit then, and the
    # web driver ignores the end of its input): each session watches this pid and exits with it.
    os.environ[SERVER_PID_VARIABLE] = str(os.getpid())
    server = make_server(app_args, host, port, max_sessions, token, require_token)
    server.full_message = full_message
    try:
        server.serve()
    except OSError as exc:
        raise UserError(f"cannot listen on {public_url(host, port)}: {exc.strerror or exc}") from None
    return 0


def check_serve_parent(folder: Path) -> None:
    """``--serve --run-dir DIR`` makes each tab's run folder in DIR: DIR must not be a run's folder
    or inside one (the server started, and every tab ended with only "Session ended.")."""
    from mnist_tui.runfolder.places import first_run_folder

    try:
        where = folder.resolve()
    except (OSError, RuntimeError):
        return  # each session says why
    if (run := first_run_folder((where, *where.parents))) is not None:
        place = "is" if run == where else "is inside"
        raise UserError(
            f"--run-dir {shown(folder)} {place} the run folder {shown(run)}: with --serve it is "
            f"the folder each tab's run is made in; give another, e.g. {shown(run.parent)}"
        )


def served_sessions(args) -> tuple[int, str | None]:
    """The sessions at once, and what a tab past them is told where the default page would mislead.

    ``--resume RUN`` continues one run, which one process at a time may hold: a second tab ended
    with only "Session ended." (the run was in use). ``--run-dir`` must be a place for runs."""
    if args.run_dir is not None and args.resume is None:
        check_serve_parent(args.run_dir)
    if args.resume is None:
        return args.max_sessions or DEFAULT_MAX_SESSIONS, None
    if (args.max_sessions or 1) > 1:
        raise UserError("--serve --resume continues one run, in one tab at a time: leave out --max-sessions")
    run = shown(args.resume)
    told = f"This server continues one run ({run}), open in another tab: close that tab, or watch it with"
    return 1, f"{told} mnist-tui --follow {run}."


# option: takes a value. --max-sessions and --token are the server's own (a session's command
# line would otherwise show the token to anyone running ps).
SERVING_OPTIONS = {"--serve": False, "--host": True, "--port": True, "--max-sessions": True, "--token": True}


def _serving_option(name: str) -> str | None:
    """The serving option ``name`` spells, abbreviations included (argparse accepted them)."""
    if len(name) < 3 or not name.startswith("--"):
        return None
    return next((option for option in SERVING_OPTIONS if option.startswith(name)), None)


def app_args_without_serving(argv: Sequence[str]) -> list[str]:
    """The command line minus the serving options (``--serve``, ``--host``, ``--port``, ``--max-sessions``,
    ``--token``): what each session runs."""
    args: list[str] = []
    skip_value = False
    for arg in argv:
        if skip_value:
            skip_value = False
            continue
        name, has_value = arg.split("=", 1)[0], "=" in arg
        option = _serving_option(name)
        if option is None:
            args.append(arg)
        elif SERVING_OPTIONS[option] and not has_value:
            skip_value = True
    return args
