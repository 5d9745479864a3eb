"""Command line: parse options, build the one Config, build a run source, hand it to a face.

Imports stay light here (no torch) so the dashboard can paint its first frame before torch
loads; only ``--device cuda`` checks CUDA up front, since the user asked for it. Values are
checked by :mod:`mnist_tui.config`'s rules, the same that check a resumed run's saved config.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from mnist_tui.cli_parser import TRAINING_OPTIONS, build_parser, check_faces
from mnist_tui.config import Config, default_data_dir, make_config
from mnist_tui.early_signals import StoppedEarly, restore_signals, stop_early_on_signals
from mnist_tui.errors import UserError, one_line
from mnist_tui.files import CHECKPOINT, EXISTING_FOLDER, RUN_FOLDER, check_user_path
from mnist_tui.launch import release_collector


def _explicit(args: argparse.Namespace, shown: bool = False) -> dict[str, Any]:
    """The options the user actually gave (None means not given), as Config fields: the
    training options (``cli_parser.TRAINING_OPTIONS``, the recipe aside) and ``--data-dir``;
    for a run ``shown`` with its own settings, ``--data-dir`` alone."""
    values = {"data_dir": args.data_dir}
    if not shown:
        values |= {name: getattr(args, name) for name in TRAINING_OPTIONS if name not in ("recipe", "dropout")}
        if args.dropout is not None:
            values.update(conv_dropout=args.dropout, fc_dropout=args.dropout)
    return {k: v for k, v in values.items() if v is not None}


def build_config(args: argparse.Namespace, saved: dict[str, Any] | None = None, shown: bool = False) -> Config:
    """The options' Config (:func:`mnist_tui.config.make_config`'s rule) and where the run is kept.

    ``shown``: for a run opened to be shown (replayed or followed, also from the workspace) with
    its own settings: of the options only ``--data-dir`` (where its digits are) applies, as
    ``--replay`` takes no other; a dashboard's ``--lr`` had been laid over the runs its R opened."""
    config = make_config(None if shown else args.recipe, saved, **_explicit(args, shown))
    if args.run_dir is not None:
        run_dir = args.run_dir
    elif args.resume is not None:
        run_dir = args.resume if args.resume.is_dir() else args.resume.parent
    else:
        run_dir = Path("runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return config.with_changes(run_dir=run_dir)


def check_device(device: str, saved: bool = False) -> None:
    """Fail early, before any window opens, for a device that cannot work. ``saved``: the device
    comes from a resumed run's checkpoint, not from the command line (the message says so).

    Only a CUDA request loads torch here: for auto and cpu the dashboard paints its first
    frame before torch loads.
    """
    if device.startswith("cuda"):
        from mnist_tui.training.device import choose_device

        try:
            choose_device(device)
        except UserError as exc:
            if not saved:
                raise
            reason = str(exc).split(": ", 1)[-1]  # not "--device cuda: …": the user gave no --device
            raise UserError(f"the run was trained with --device {device}; {reason}") from None


def prepare_run(args: argparse.Namespace, config: Config, saved_state: dict[str, Any] | None) -> Config:
    """Before any training: a resumable plan and a run folder that can take this run."""
    from mnist_tui.plan import Plan
    from mnist_tui.resumed_data import resumed_data
    from mnist_tui.rundir import check_own_checkpoint, claim_run_dir, own_run_folder
    from mnist_tui.runfolder.places import a_run_inside, same_folder
    from mnist_tui.runfolder.reader import holds_results
    from mnist_tui.training.rank import environment_rank

    resumed_from = None
    if saved_state is not None:
        done = int(saved_state["epoch"])
        if done > config.epochs or (args.headless and done == config.epochs):  # the dashboard shows a finished one
            plan = Plan.in_checkpoint(config.epochs, config.last_epoch_fraction, saved_state["history"])
            trained = (
                f"epoch {done} of {config.epochs}" + (f" ({plan})" if plan.partial else "")  # sprint's 2.5
                if done == config.epochs
                else f"{done} epochs, more than --epochs {config.epochs}"
            )
            raise UserError(
                f"{args.resume} already finished {trained}; pass --epochs N with N > {done} to train it further"
            )
        resumed_from = own_run_folder(args.resume)
        if resumed_from is None and args.run_dir is None and holds_results(args.resume.parent):
            raise UserError(
                f"--resume {args.resume}: its folder holds another run (its {args.resume.parent / 'checkpoint.pt'} "
                "and epochs would be overwritten); continue this checkpoint in a new folder with --run-dir NEW"
            )
        if resumed_from is None and args.run_dir is None and (inner := a_run_inside(args.resume.parent.resolve())):
            raise UserError(  # it named --run-dir, which was not given
                f"--resume {args.resume}: its folder holds other runs ({inner}); "
                "continue this checkpoint in a new folder with --run-dir NEW"
            )
        in_own_folder = resumed_from is not None and (args.run_dir is None or same_folder(args.run_dir, resumed_from))
        if in_own_folder:
            check_own_checkpoint(resumed_from, saved_state)
        config = resumed_data(args, config, saved_state, in_own_folder)
    if environment_rank() != 0:  # under torchrun, rank 0 alone keeps the run folder
        return config
    fresh_name = args.run_dir is None and args.resume is None
    return config.with_changes(run_dir=claim_run_dir(config.run_dir, resumed_from, fresh_name))


def build_source(args: argparse.Namespace, saved_state: dict[str, Any] | None, config: Config):
    """The run source the options ask for: follow, replay, or train here."""
    watched = args.follow if args.follow is not None else args.replay
    if watched is not None:

        def make_config(saved: dict[str, Any] | None) -> Config:
            return build_config(args, saved, shown=True).with_changes(run_dir=watched)

        if args.follow is not None:
            from mnist_tui.sources.follow import FollowSource

            views = not args.headless  # a headless follower shows no predictions: it evaluates nothing
            return FollowSource(args.follow, make_config, until_ended=args.headless, model_views=views, eval_threads=1)
        from mnist_tui.sources.replay import ReplayRequest, ReplaySource

        return ReplaySource(ReplayRequest(args.replay, make_config, model_views=not args.headless))
    from mnist_tui.sources.training import TrainingSource

    world = None
    if args.headless:
        from mnist_tui.training.distributed import world_from_environment

        world = world_from_environment(config.device)
    hold = not (args.headless or args.autostart)
    logs_from = None
    if args.resume is not None:  # its earlier epochs' batch losses, layers and steering come along
        from mnist_tui.rundir import own_run_folder

        logs_from = own_run_folder(args.resume)
    return TrainingSource(
        config, saved_state, hold=hold, world=world, tensorboard=args.tensorboard, logs_from=logs_from
    )


def _check_paths(args: argparse.Namespace) -> None:
    """Every path the user gave, before anything uses it: an OS refusal is one line naming the option."""
    for option, path, kind in (
        ("--resume", args.resume, CHECKPOINT),
        ("--replay", args.replay, EXISTING_FOLDER),
        ("--follow", args.follow, RUN_FOLDER),
        ("--run-dir", args.run_dir, RUN_FOLDER),
        ("--data-dir", args.data_dir, RUN_FOLDER),
        ("--runs", args.runs, EXISTING_FOLDER),
    ):
        if path is not None:
            check_user_path(path, option, kind)


def _runs(args: argparse.Namespace) -> int:
    """The workspace over a folder of runs, or (--export, --export-tensorboard) its files without a UI."""
    from mnist_tui.workspace.index import RunIndex

    RunIndex(args.runs).find()
    if args.export is not None or args.export_tensorboard:
        from mnist_tui.workspace.command import run_exports

        return run_exports(args.runs, args.export, args.export_tensorboard)
    from mnist_tui.tui.app import run_app

    return run_app(runs=args.runs, **config_rules(args))


def config_rules(args: argparse.Namespace) -> dict[str, Any]:
    """How the app makes the Config of a run started from it (n: under every option given) and
    of one it opens to show (enter: the run's own settings)."""
    return {
        "make_config": lambda saved: build_config(args, saved),
        "shown_config": lambda saved: build_config(args, saved, shown=True),
    }


def _open_watched(args: argparse.Namespace) -> None:
    _check_paths(args)
    from mnist_tui.watched import check_watched

    check_watched(args.replay, args.follow)


def opens_app(args: argparse.Namespace) -> bool:
    """Whether the command opens the Textual app (a dashboard or the workspace)."""
    exports = args.runs is not None and (args.export is not None or args.export_tensorboard)
    return not args.headless and not args.serve and not exports


def _check_terminal(args: argparse.Namespace) -> None:
    """A dashboard needs a terminal: with stderr (where Textual draws) in a file it wrote escape
    codes there until killed, and with input from one it took no keys; stdout may go anywhere
    (the line saying where the run is kept). textual-serve's sessions name their driver."""
    served = "TEXTUAL_DRIVER" in os.environ
    terminal = sys.__stdin__.isatty() and sys.__stderr__.isatty()  # Textual draws on stderr, reads stdin
    if opens_app(args) and not served and not terminal:
        raise UserError(
            "the dashboard needs a terminal for its input and output; for plain output use --headless "
            "(or --serve for a browser)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_faces(parser, args)
    if not opens_app(args):
        release_collector()  # held for the app's first frame only (launch.py)
    from mnist_tui.rundir import release_locks

    early = stop_early_on_signals()
    try:
        _open_watched(args)
        _check_terminal(args)
        if args.runs is not None:
            return _runs(args)
        if args.tensorboard:
            from mnist_tui.workspace.tensorboard_events import require_tensorboardx

            require_tensorboardx()  # the one line, before torch loads
        watching = args.replay is not None or args.follow is not None
        if not watching and args.data_dir is None and os.environ.get("MNIST_TUI_DATA"):  # training reads it
            check_user_path(default_data_dir(), "$MNIST_TUI_DATA", RUN_FOLDER)  # named where it was set
        saved_state = None
        if args.resume is not None:
            from mnist_tui.training.checkpoint import CheckpointError, load_checkpoint

            try:
                saved_state = load_checkpoint(args.resume)
            except CheckpointError as exc:  # named, as --replay's are: "no checkpoint at …" named no option
                raise UserError(f"--resume: {exc}") from None
        config = build_config(args, saved_state["config"] if saved_state else None)
        check_device(config.device, saved=saved_state is not None and args.device is None)
        if args.serve:  # checked above, so a bad option fails here and not in every browser tab
            from mnist_tui.serve import LOOPBACK, app_args_without_serving, serve, served_sessions

            raw = list(argv) if argv is not None else sys.argv[1:]
            sessions, full = served_sessions(args)
            host, port = args.host or LOOPBACK, args.port or 8000
            return serve(app_args_without_serving(raw), host, port, sessions, args.token, full_message=full)
        if not watching:
            config = prepare_run(args, config, saved_state)
            from mnist_tui.training.allocator import keep_freed_memory

            keep_freed_memory()  # before any thread: the trainer's thread then shares the main arena
        source = build_source(args, saved_state, config)
        if args.headless:
            from mnist_tui.headless import run_headless
            from mnist_tui.training.rank import environment_rank

            return run_headless(source, log_format=args.log_format, quiet=environment_rank() != 0)
        from mnist_tui.tui.app import run_app

        return run_app(source, **config_rules(args))  # R → a run, n
    except UserError as exc:
        print(f"mnist-tui: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the OS refuses (too long, not enterable, ...) before anything ran
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"mnist-tui: error: {one_line(f'{where}{exc.strerror or exc}')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C (or kill, a closed terminal) before the run's own handler is in place
        print("mnist-tui: interrupted", file=sys.stderr)
        return 128 + exc.signum if isinstance(exc, StoppedEarly) else 130
    finally:
        from mnist_tui.made_folders import remove_every_unopened

        restore_signals(early)
        remove_every_unopened()
        release_locks()


def run() -> NoReturn:
    """The console entry point: ``main`` and then exit.

    Once torch is loaded, the interpreter's own teardown takes ~0.6 s after the window has
    closed; every file is already written and fsync'd by then, so skip it.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if "torch" in sys.modules:
        os._exit(code)
    sys.exit(code)
