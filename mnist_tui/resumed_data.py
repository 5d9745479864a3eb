"""The data a resumed run goes on with: what its checkpoint trained on, unless it moves folder.

A run folder holds one run's epochs, all trained on the same data: its ``run.json`` gives one
dataset and one train size, and the replay, the workspace and the export read every epoch by
them. ``--resume`` in the run's own folder therefore takes the run's dataset and its
``--limit-train``; another dataset or limit there is refused, with the way to do it
(``--run-dir NEW``). ``--limit-train 500`` on a run trained on 3,000 samples had been taken
silently, and its folder then said "500 train" of the epochs trained on 3,000.
"""

from __future__ import annotations

import argparse
from typing import Any

from mnist_tui.config import Config, dataset_option_of
from mnist_tui.errors import UserError

ELSEWHERE = "and its folder would then hold epochs of both; continue it on {} in a new folder with --run-dir NEW"


def resumed_data(args: argparse.Namespace, config: Config, saved_state: dict[str, Any], in_own_folder: bool) -> Config:
    """``config`` with the run's own dataset where none was chosen; a UserError for other data in
    the run's own folder (``in_own_folder``: the resumed checkpoint is its folder's own)."""
    used = dataset_option_of(saved_state.get("dataset"))
    if args.dataset in (None, "auto"):  # "auto" must not swap a run's data (MNIST → synthetic) silently
        config = config.with_changes(dataset=used or config.dataset)
    elif used and args.dataset != used and in_own_folder:
        raise UserError(
            f"--resume {args.resume} --dataset {args.dataset}: the run trained on {saved_state['dataset']}, "
            + ELSEWHERE.format("other data")
        )
    saved_config = saved_state.get("config")
    limit = saved_config.get("limit_train") if isinstance(saved_config, dict) else None
    if args.limit_train is not None and args.limit_train != limit and in_own_folder:
        trained = f"its first {limit:,} training samples" if isinstance(limit, int) else "every training sample"
        raise UserError(
            f"--resume {args.resume} --limit-train {args.limit_train}: the run trained on {trained}, "
            + ELSEWHERE.format("another number of samples")
        )
    return config
