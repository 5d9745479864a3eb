"""The run folder's file names and format number, alone: the command line checks a folder with
them before anything heavy loads (:mod:`mnist_tui.runfolder.layout` pulls in numpy, ~60 ms)."""

from __future__ import annotations

FORMAT = 2
INFO_NAME = "run.json"
STATUS_NAME = "status.json"
BATCHES_NAME = "batches.jsonl"
METRICS_NAME = "metrics.jsonl"
CHECKPOINT_NAME = "checkpoint.pt"
CONTROL_NAME = "control.json"
STEERING_NAME = "steering.jsonl"  # every +/-, every epochs added: what, when (epoch, batch)
LOCK_NAME = ".lock"  # held (flock) by the process writing the run: a second one is refused
LAYERS_NAME = "layers.jsonl"  # per-layer statistics per epoch (mnist_tui.runfolder.layers_log)
RUN_FILES = (INFO_NAME, STATUS_NAME, BATCHES_NAME, METRICS_NAME, CHECKPOINT_NAME)
WRITTEN_FILES = (*RUN_FILES, STEERING_NAME, LAYERS_NAME)  # what a training run writes or rewrites
EVENTS_GLOB = "events.out.tfevents.*.mnist-tui"  # --tensorboard's event file (workspace.tensorboard_events)
