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

from mnist_tui import __version__
from mnist_tui.config import (
    DATASETS,
    DEFAULT_RECIPE,
    PRECISIONS,
    RECIPES,
    SCHEDULES,
    Config,
    check_value,
    config_from_saved,
    default_data_dir,
    recipe_values,
    validate,
)
from mnist_tui.errors import UserError

EXAMPLES = """examples:
  mnist-tui                                    the dashboard; space starts training
  mnist-tui --headless --epochs 3              train without a dashboard (pipe-friendly)
  mnist-tui --headless --log-format json       one JSON object per event, for machines
  mnist-tui --follow runs/20260101-120000      watch a run another process is writing
  mnist-tui --replay runs/20260101-120000      look at a finished or killed run
  mnist-tui --resume runs/20260101-120000 --epochs 20    train a run further
  torchrun --standalone --nproc_per_node=2 -m mnist_tui --headless    one run on 2 processes
"""


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, exit 2 (argparse's default adds a usage block)."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def _checked(name: str, convert):
    """An argparse type: convert the text, then the Config rule for ``name`` (one validation)."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            kind = "whole number" if convert is int else "number"
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind}") from None
        problem = check_value(name, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be in [1, 65535], got {value}")
    return value


def _folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty folder name (give a folder, or leave the option out)")
    return Path(text)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="mnist-tui",
        description="Train a small CNN on MNIST and watch it learn.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"mnist-tui {__version__}")
    face = p.add_argument_group("what to run")
    face.add_argument("--headless", action="store_true", help="plain text output, no dashboard")
    face.add_argument("--log-format", choices=("text", "json"), default="text", help="--headless: text or JSON lines")
    face.add_argument("--autostart", action="store_true", help="dashboard: start training at launch")
    face.add_argument("--resume", metavar="RUN", type=_folder, help="continue a run (its folder or checkpoint file)")
    face.add_argument(
        "--replay", metavar="RUN_DIR", type=_folder, help="open a finished or killed run, without training"
    )
    face.add_argument("--follow", metavar="RUN_DIR", type=_folder, help="watch a run another process is writing")
    face.add_argument("--serve", action="store_true", help="serve the dashboard to a web browser (textual-serve)")
    face.add_argument("--host", help="--serve: address to listen on (default 127.0.0.1, this machine only)")
    face.add_argument("--port", type=_port, help="--serve: port to listen on (default 8000)")
    t = p.add_argument_group("training")
    t.add_argument("--recipe", choices=sorted(RECIPES), default=DEFAULT_RECIPE, help="preset for the options below")
    t.add_argument("--epochs", type=_checked("epochs", int), help="epochs to train (default 10)")
    t.add_argument("--batch-size", type=_checked("batch_size", int), help="training batch size")
    t.add_argument("--lr", type=_checked("lr", float), help="learning rate (the peak, with onecycle)")
    t.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    t.add_argument("--dropout", type=_checked("conv_dropout", float), metavar="P", help="both dropout rates, in [0, 1)")
    t.add_argument("--seed", type=_checked("seed", int), help="random seed (default 0)")
    t.add_argument("--device", type=_checked("device", str), help="auto, cpu, cuda or cuda:N (default auto)")
    t.add_argument("--precision", choices=PRECISIONS, help="auto uses bf16 where the hardware is fast at it")
    d = p.add_argument_group("data and output")
    d.add_argument("--dataset", choices=DATASETS, help="auto: MNIST if it can be had, else synthetic digits")
    d.add_argument("--data-dir", type=_folder, help="MNIST folder (default $MNIST_TUI_DATA or ~/.cache/mnist-tui)")
    d.add_argument("--run-dir", type=_folder, help="where the run is kept (default runs/<timestamp>)")
    d.add_argument("--limit-train", type=_checked("limit_train", int), metavar="N", help="train on the first N samples")
    return p


def check_faces(parser: ArgumentParser, args: argparse.Namespace) -> None:
    """Options that cannot go together: one line, exit 2."""
    if (args.host is not None or args.port is not None) and not args.serve:
        parser.error("--host and --port only go with --serve")
    if args.serve and args.headless:
        parser.error("--serve serves the dashboard; it does not go with --headless")
    if args.log_format != "text" and not args.headless:
        parser.error("--log-format only goes with --headless")
    if args.replay is not None and args.follow is not None:
        parser.error("--replay and --follow each open one run; give one of them")
    for shown, opened in (("--replay", args.replay), ("--follow", args.follow)):
        if opened is None:
            continue
        for flag, given in (("--resume", args.resume), ("--autostart", args.autostart), ("--run-dir", args.run_dir)):
            if given:
                parser.error(f"{shown} shows a run without training here; it does not go with {flag}")


def _explicit(args: argparse.Namespace) -> dict[str, Any]:
    """The options the user actually gave (None means not given)."""
    values = {
        name: getattr(args, name)
        for name in ("epochs", "batch_size", "lr", "schedule", "seed", "device", "precision", "dataset", "data_dir")
    }
    values["limit_train"] = args.limit_train
    if args.dropout is not None:
        values.update(conv_dropout=args.dropout, fc_dropout=args.dropout)
    return {k: v for k, v in values.items() if v is not None}


def build_config(args: argparse.Namespace, saved: dict[str, Any] | None = None) -> Config:
    """The one place a Config is made: recipe, then a saved run's config, then explicit options."""
    values: dict[str, Any] = recipe_values(args.recipe) | {"data_dir": default_data_dir()}
    if saved is not None:
        values.update(config_from_saved(saved, "the run's saved config").to_dict())
        values.pop("run_dir", None)
    values.update(_explicit(args))
    if args.run_dir is not None:
        values["run_dir"] = args.run_dir
    elif args.resume is not None:
        values["run_dir"] = args.resume if args.resume.is_dir() else args.resume.parent
    else:
        values["run_dir"] = Path("runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return validate(Config.from_dict(values))


def check_device(device: str) -> None:
    """Fail early, before any window opens, for a device that cannot work.

    Only a CUDA request loads torch here: for auto and cpu the dashboard paints its first
    frame before torch loads.
    """
    if device.startswith("cuda"):
        from mnist_tui.training.device import choose_device

        choose_device(device)


def prepare_run(args: argparse.Namespace, config: Config, saved_state: dict[str, Any] | None) -> Config:
    """Before any training: a resumable plan and a run folder that can take this run."""
    from mnist_tui.rundir import claim_run_dir
    from mnist_tui.training.distributed import environment_rank

    resumed_from = None
    if saved_state is not None:
        done = int(saved_state["epoch"])
        if args.headless and done >= config.epochs:
            raise UserError(
                f"{args.resume} already finished epoch {done} of {config.epochs}; "
                f"pass --epochs N with N > {done} to train it further"
            )
        resumed_from = args.resume if args.resume.is_dir() else args.resume.parent
        if args.dataset is None:  # "auto" must not swap a run's data (MNIST → synthetic) silently
            used = {"MNIST": "mnist", "synthetic digits": "synthetic"}.get(saved_state.get("dataset"))
            config = config.with_changes(dataset=used or config.dataset)
    if environment_rank() != 0:  # under torchrun, rank 0 alone keeps the run folder
        return config
    fresh_name = args.run_dir is None and args.resume is None
    return config.with_changes(run_dir=claim_run_dir(config.run_dir, resumed_from, fresh_name))


def build_source(args: argparse.Namespace, saved_state: dict[str, Any] | None, config: Config):
    """The run source the options ask for: follow, replay, or train here."""
    watched = args.follow if args.follow is not None else args.replay
    if watched is not None:

        def make_config(saved: dict[str, Any] | None) -> Config:
            return build_config(args, saved).with_changes(run_dir=watched)

        if args.follow is not None:
            from mnist_tui.sources.follow import FollowSource

            return FollowSource(args.follow, make_config, until_ended=args.headless)
        from mnist_tui.sources.replay import ReplayRequest, ReplaySource

        return ReplaySource(ReplayRequest(args.replay, make_config))
    from mnist_tui.sources.training import TrainingSource

    world = None
    if args.headless:
        from mnist_tui.training.distributed import world_from_environment

        world = world_from_environment(config.device)
    return TrainingSource(config, saved_state, hold=not (args.headless or args.autostart), world=world)


def _open_watched(args: argparse.Namespace) -> None:
    from mnist_tui.sources.replay import check_run_dir

    if args.replay is not None:
        check_run_dir(args.replay, "--replay")
    elif args.follow is not None and args.follow.exists() and not args.follow.is_dir():
        raise UserError(f"--follow {args.follow}: not a folder")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_faces(parser, args)
    from mnist_tui.rundir import release_locks

    try:
        _open_watched(args)
        watching = args.replay is not None or args.follow is not None
        saved_state = None
        if args.resume is not None:
            from mnist_tui.training.checkpoint import load_checkpoint

            saved_state = load_checkpoint(args.resume)
        config = build_config(args, saved_state["config"] if saved_state else None)
        check_device(config.device)
        if args.serve:  # checked above, so a bad option fails here and not in every browser tab
            from mnist_tui.serve import LOOPBACK, app_args_without_serving, serve

            raw = list(argv) if argv is not None else sys.argv[1:]
            return serve(app_args_without_serving(raw), args.host or LOOPBACK, args.port or 8000)
        if not watching:
            config = prepare_run(args, config, saved_state)
        source = build_source(args, saved_state, config)
        if args.headless:
            from mnist_tui.headless import run_headless
            from mnist_tui.training.distributed import environment_rank

            return run_headless(source, log_format=args.log_format, quiet=environment_rank() != 0)
        from mnist_tui.tui.app import run_app

        return run_app(source)
    except UserError as exc:
        print(f"mnist-tui: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the OS refuses (too long, not enterable, ...) before anything ran
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"mnist-tui: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C before the run's own handler is in place
        print("mnist-tui: interrupted", file=sys.stderr)
        return 130
    finally:
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
