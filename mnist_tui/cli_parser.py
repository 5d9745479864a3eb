"""The command line's options: one parser, its examples, and the options that cannot go together.

Values are checked by :mod:`mnist_tui.config`'s rules (the same that check a saved config);
no torch here, so ``--help`` and a bad option answer at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from mnist_tui import __version__
from mnist_tui.config import (
    CUDA_GRAPHS,
    DATASETS,
    DEFAULT_RECIPE,
    PRECISIONS,
    RECIPES,
    SCHEDULES,
    SHARE_CORES,
    SPLIT_BATCH,
    value_from_text,
)
from mnist_tui.rundir import check_run_dir_option

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
        value, problem = value_from_text(name, text, convert)
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


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name (give a path, or leave the option out)")
    return Path(text)


def _host(text: str) -> str:
    if not text.strip():  # aiohttp took "" as 127.0.0.1: silently not what was asked
        raise argparse.ArgumentTypeError("an empty address (give one, e.g. 0.0.0.0 for every address)")
    return text.strip()


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
    face.add_argument(
        "--runs",
        metavar="DIR",
        nargs="?",
        const=Path("runs"),
        type=_folder,
        help="the runs workspace: every run folder under DIR (default runs/)",
    )
    face.add_argument("--serve", action="store_true", help="serve the dashboard to a web browser (textual-serve)")
    face.add_argument("--host", type=_host, help="--serve: address to listen on (default 127.0.0.1, this machine only)")
    face.add_argument("--port", type=_port, help="--serve: port to listen on (default 8000)")
    face.add_argument(
        "--max-sessions", type=_positive, metavar="N", help="--serve: browser sessions at once (default 4)"
    )
    face.add_argument("--token", help="--serve: the token a browser must give (made at start off loopback)")
    t = p.add_argument_group("training")
    t.add_argument("--recipe", choices=sorted(RECIPES), help=f"preset for the options below (default {DEFAULT_RECIPE})")
    t.add_argument(
        "--epochs", type=_checked("epochs", int), help="epochs to train (default 10; --recipe sprint: 2.5, as 3)"
    )
    t.add_argument("--batch-size", type=_checked("batch_size", int), help="training batch size")
    t.add_argument("--lr", type=_checked("lr", float), help="learning rate (the peak, with onecycle)")
    t.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    t.add_argument("--dropout", type=_checked("conv_dropout", float), metavar="P", help="both dropout rates, in [0, 1)")
    t.add_argument("--seed", type=_checked("seed", int), help="random seed (default 0)")
    t.add_argument("--device", type=_checked("device", str), help="auto, cpu, cuda or cuda:N (default auto)")
    t.add_argument("--precision", choices=PRECISIONS, help="auto uses bf16 where the hardware is fast at it")
    t.add_argument(
        "--cuda-graphs", choices=CUDA_GRAPHS, help="auto replays each CUDA training step from a graph (one GPU)"
    )
    t.add_argument(
        "--split-batch", choices=SPLIT_BATCH, help="each half of a batch on its own core (auto: where it pays)"
    )
    t.add_argument("--share-cores", choices=SHARE_CORES, help="auto: fewer CPU threads while other processes are busy")
    t.add_argument(
        "--tests-per-epoch",
        type=_checked("tests_per_epoch", int),
        metavar="N",
        help="test the model after each 1/N of an epoch too (default 1; --recipe sprint: 2)",
    )
    d = p.add_argument_group("data and output")
    d.add_argument("--dataset", choices=DATASETS, help="auto: MNIST if it can be had, else synthetic digits")
    d.add_argument("--data-dir", type=_folder, help="MNIST folder (default $MNIST_TUI_DATA or ~/.cache/mnist-tui)")
    d.add_argument("--run-dir", type=check_run_dir_option, help="where the run is kept (default runs/<timestamp>)")
    d.add_argument("--export", metavar="FILE", type=_folder, help="--runs: every run's epochs to FILE.csv or .json")
    d.add_argument("--export-tensorboard", action="store_true", help="--runs: TensorBoard event files per run")
    d.add_argument("--tensorboard", action="store_true", help="write TensorBoard event files while training")
    d.add_argument("--limit-train", type=_checked("limit_train", int), metavar="N", help="train on the first N samples")
    return p


def check_faces(parser: ArgumentParser, args: argparse.Namespace) -> None:
    """Options that cannot go together: one line, exit 2."""
    served = (args.host, args.port, args.max_sessions, args.token)
    if any(value is not None for value in served) and not args.serve:
        parser.error("--host, --port, --max-sessions and --token only go with --serve")
    if args.serve and args.headless:
        parser.error("--serve serves the dashboard; it does not go with --headless")
    if args.serve and args.runs is not None:  # it opened the workspace in this terminal, serving nothing
        parser.error("--serve serves a training dashboard; it does not go with --runs (R opens the runs there)")
    if args.log_format != "text" and not args.headless:
        parser.error("--log-format only goes with --headless")
    opened = [
        flag for flag, value in (("--replay", args.replay), ("--follow", args.follow), ("--runs", args.runs)) if value
    ]
    if len(opened) > 1:
        parser.error(f"{opened[0]} and {opened[1]} each open something else; give one of them")
    if (args.export is not None or args.export_tensorboard) and args.runs is None:
        parser.error("--export and --export-tensorboard go with --runs DIR")
    if args.tensorboard and opened:
        parser.error(f"--tensorboard writes event files while training; it does not go with {opened[0]}")
    for shown, opened in (("--replay", args.replay), ("--follow", args.follow)):
        if opened is None:
            continue
        for flag, given in (("--resume", args.resume), ("--autostart", args.autostart), ("--run-dir", args.run_dir)):
            if given:
                parser.error(f"{shown} shows a run without training here; it does not go with {flag}")
        for flag in _given(args, TRAINING_OPTIONS):  # the run's own settings are shown, not these
            parser.error(f"{shown} shows a run as it was trained; it does not go with {flag}")
    if args.runs is not None:
        for flag, given in (("--resume", args.resume), ("--autostart", args.autostart), ("--run-dir", args.run_dir)):
            if given:
                parser.error(f"--runs opens the runs workspace; it does not go with {flag}")
        if args.headless and args.export is None and not args.export_tensorboard:
            parser.error("--runs opens the runs workspace, a dashboard; with --headless give --export FILE")
        if args.export is not None or args.export_tensorboard:  # the workspace's new runs take them; exports not
            for flag in _given(args, (*TRAINING_OPTIONS, "data_dir")):  # --data-dir was silently ignored
                parser.error(f"--export writes the runs as they were trained; it does not go with {flag}")
            if args.log_format != "text":
                parser.error("--export says what it wrote in plain lines; it does not go with --log-format json")
    if args.resume is not None and args.recipe is not None:  # the saved settings win over a recipe's
        parser.error("--resume continues a run with its own settings; it does not go with --recipe (give the options)")
    if args.headless and args.autostart:
        parser.error("--autostart starts the dashboard's training at launch; --headless always trains at once")


# Options that only shape a run trained here (--data-dir also tells a replay where the digits are).
TRAINING_OPTIONS = ("recipe", "epochs", "batch_size", "lr", "schedule", "dropout", "seed", "device", "precision")
TRAINING_OPTIONS += ("cuda_graphs", "split_batch", "share_cores", "tests_per_epoch", "dataset", "limit_train")


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    return ["--" + name.replace("_", "-") for name in names if getattr(args, name) is not None]
