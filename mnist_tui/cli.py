"""Command line: parse and validate options, build the one Config, hand it to a face.

Imports stay light here (no torch) so the dashboard can paint its first frame before
torch loads; only ``--device cuda`` checks CUDA up front, since the user asked for it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from mnist_tui import __version__
from mnist_tui.config import DATASETS, PRECISIONS, SCHEDULES, Config, default_data_dir
from mnist_tui.errors import UserError

# fast (the default): one-cycle to a peak lr of 1e-2, batch 512, light dropout. Measured on
# real MNIST (README, Performance): 98.2 % after --epochs 1, 99.0 % at epoch 5 of 10, 99.2 % at 10.
# seed: the seed's own recipe (pytorch/examples-style), kept so users can compare.
RECIPES: dict[str, dict[str, Any]] = {
    "fast": dict(batch_size=512, lr=1e-2, schedule="onecycle", conv_dropout=0.1, fc_dropout=0.1),
    "seed": dict(batch_size=64, lr=1e-3, schedule="constant", conv_dropout=0.5, fc_dropout=0.5),
}


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, exit 2 (argparse's default adds a usage block)."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _float_in(low: float, high: float, low_open: bool = True):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        too_low = value <= low if low_open else value < low
        if not math.isfinite(value) or too_low or value > high:
            bracket = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"must be in {bracket}{low:g}, {high:g}], got {text}")
        return value

    return parse


def _port(text: str) -> int:
    value = _int_at_least(1)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be at most 65535, got {value}")
    return value


def check_faces(parser: ArgumentParser, args: argparse.Namespace) -> None:
    """Options that cannot go together: one line, exit 2."""
    if (args.host is not None or args.port is not None) and not args.serve:
        parser.error("--host and --port only go with --serve")
    if args.serve and args.headless:
        parser.error("--serve serves the dashboard; it does not go with --headless")
    if args.replay is not None:
        for flag, given in (("--headless", args.headless), ("--resume", args.resume), ("--autostart", args.autostart)):
            if given:
                parser.error(f"--replay shows a run without training; it does not go with {flag}")


def serve_dashboard(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    """Each browser session runs this same command line, minus the serving options."""
    from mnist_tui.serve import LOOPBACK, app_args_without_serving, serve

    if args.replay is not None:
        from mnist_tui.replay import check_run_dir

        check_run_dir(args.replay)
    raw = list(argv) if argv is not None else sys.argv[1:]
    return serve(app_args_without_serving(raw), args.host or LOOPBACK, args.port or 8000)


def replay_dashboard(args: argparse.Namespace) -> int:
    """The dashboard over a run folder; the checkpoint (and torch) load behind the first frame."""
    from mnist_tui.replay import ReplayRequest, check_run_dir

    run_dir = check_run_dir(args.replay)
    config = build_config(args).with_changes(run_dir=run_dir)
    request = ReplayRequest(run_dir, lambda saved: build_config(args, saved).with_changes(run_dir=run_dir))
    from mnist_tui.tui.app import run_app

    return run_app(config, replay=request)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="mnist-tui", description="Train a small CNN on MNIST and watch it learn.")
    p.add_argument("--version", action="version", version=f"mnist-tui {__version__}")
    face = p.add_argument_group("what to run")
    face.add_argument("--headless", action="store_true", help="train with plain rich output, no dashboard")
    face.add_argument("--autostart", action="store_true", help="dashboard: start training at launch")
    face.add_argument("--resume", metavar="RUN", type=Path, help="continue a run (its folder or checkpoint file)")
    face.add_argument("--replay", metavar="RUN_DIR", type=Path, help="open a finished or killed run, without training")
    face.add_argument("--serve", action="store_true", help="serve the dashboard to a web browser (textual-serve)")
    face.add_argument("--host", help="--serve: address to listen on (default 127.0.0.1, this machine only)")
    face.add_argument("--port", type=_port, help="--serve: port to listen on (default 8000)")
    t = p.add_argument_group("training")
    t.add_argument("--recipe", choices=sorted(RECIPES), default="fast", help="preset for the options below")
    t.add_argument("--epochs", type=_int_at_least(1), help="epochs to train (default 10)")
    t.add_argument("--batch-size", type=_int_at_least(1), help="training batch size")
    t.add_argument("--lr", type=_float_in(0, 10), help="learning rate (the peak, with onecycle)")
    t.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    t.add_argument("--dropout", type=_float_in(0, 1, low_open=False), metavar="P", help="both dropout rates")
    t.add_argument("--seed", type=_int_at_least(0), help="random seed (default 0)")
    t.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
    t.add_argument("--precision", choices=PRECISIONS, help="auto uses bf16 where the hardware is fast at it")
    d = p.add_argument_group("data and output")
    d.add_argument("--dataset", choices=DATASETS, help="auto: MNIST if it can be had, else synthetic digits")
    d.add_argument("--data-dir", type=Path, help="MNIST folder (default $MNIST_TUI_DATA or ~/.cache/mnist-tui)")
    d.add_argument("--run-dir", type=Path, help="where checkpoints and metrics go (default runs/<timestamp>)")
    d.add_argument("--limit-train", type=_int_at_least(1), metavar="N", help="train on the first N samples")
    return p


def _explicit(args: argparse.Namespace) -> dict[str, Any]:
    """The options the user actually gave (None means not given)."""
    values = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "schedule": args.schedule,
        "seed": args.seed,
        "device": args.device,
        "precision": args.precision,
        "dataset": args.dataset,
        "data_dir": args.data_dir,
        "limit_train": args.limit_train,
    }
    if args.dropout is not None:
        values.update(conv_dropout=args.dropout, fc_dropout=args.dropout)
    return {k: v for k, v in values.items() if v is not None}


def build_config(args: argparse.Namespace, saved: dict[str, Any] | None = None) -> Config:
    """The one place a Config is made: recipe, then a resumed run's config, then explicit options."""
    values: dict[str, Any] = dict(RECIPES[args.recipe])
    values["data_dir"] = default_data_dir()
    if saved is not None:
        values.update({k: v for k, v in saved.items() if k not in ("run_dir",)})
    values.update(_explicit(args))
    if args.run_dir is not None:
        values["run_dir"] = args.run_dir
    elif args.resume is not None:
        values["run_dir"] = args.resume if args.resume.is_dir() else args.resume.parent
    else:
        values["run_dir"] = Path("runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Config.from_dict(values)


def check_device(device: str) -> None:
    """Fail early, before any window opens, for a device that cannot work.

    Only a CUDA request loads torch here (training.device imports it): for auto and cpu
    the dashboard paints its first frame before torch loads.
    """
    if device.startswith("cuda"):
        from mnist_tui.training.device import choose_device

        choose_device(device)  # checks the cuda[:N] pattern too
    elif device not in ("auto", "cpu"):
        raise UserError(f"unknown device {device!r} (use auto, cpu, cuda or cuda:N)")


def check_config(config: Config) -> None:
    """Values that may come from a checkpoint's saved config, not just from argparse."""
    wrong = [
        name
        for name, ok in (
            ("epochs", _is_int(config.epochs) and config.epochs >= 1),
            ("batch_size", _is_int(config.batch_size) and config.batch_size >= 1),
            ("lr", isinstance(config.lr, (int, float)) and 0 < config.lr <= 10),
            ("seed", _is_int(config.seed) and config.seed >= 0),
            ("limit_train", config.limit_train is None or (_is_int(config.limit_train) and config.limit_train >= 1)),
            ("conv_dropout", isinstance(config.conv_dropout, (int, float)) and 0 <= config.conv_dropout <= 1),
            ("fc_dropout", isinstance(config.fc_dropout, (int, float)) and 0 <= config.fc_dropout <= 1),
            ("dataset", config.dataset in DATASETS),
            ("schedule", config.schedule in SCHEDULES),
            ("precision", config.precision in PRECISIONS),
            ("device", isinstance(config.device, str)),
            ("eval_batch_size", _is_int(config.eval_batch_size) and config.eval_batch_size >= 1),
        )
        if not ok
    ]
    if wrong:
        raise UserError(f"the resumed run's saved config is damaged: invalid {', '.join(wrong)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def prepare_run(args: argparse.Namespace, config: Config, saved_state: dict[str, Any] | None) -> Config:
    """Before any training: a resumable plan and a run folder that can take this run."""
    from mnist_tui.rundir import claim_run_dir

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
    fresh_name = args.run_dir is None and args.resume is None
    return config.with_changes(run_dir=claim_run_dir(config.run_dir, resumed_from, fresh_name))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_faces(parser, args)
    from mnist_tui.rundir import release_locks

    try:
        if args.replay is not None and not args.serve:
            return replay_dashboard(args)
        saved_state = None
        if args.resume is not None:
            from mnist_tui.training.checkpoint import load_checkpoint

            saved_state = load_checkpoint(args.resume)
        try:
            config = build_config(args, saved_state["config"] if saved_state else None)
        except (TypeError, ValueError) as exc:  # only a damaged saved config gets here
            raise UserError(f"the resumed run's saved config is damaged ({exc})") from None
        check_config(config)
        check_device(config.device)
        if args.serve:  # checked above, so a bad option fails here and not in every browser tab
            return serve_dashboard(args, argv)
        config = prepare_run(args, config, saved_state)
        if args.headless:
            from mnist_tui.headless import run_headless

            return run_headless(config, resume_state=saved_state)
        from mnist_tui.tui.app import run_app

        return run_app(config, autostart=args.autostart, resume_state=saved_state)
    except UserError as exc:
        print(f"mnist-tui: error: {exc}", file=sys.stderr)
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
