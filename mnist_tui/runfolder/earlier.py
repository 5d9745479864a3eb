"""A run folder as it was before a resume in it rewrote it: what the resume keeps of the earlier
attempt (its start), and what it puts back when it trains no batch."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnist_tui.errors import UserError
from mnist_tui.files import write_atomically
from mnist_tui.runfolder.atomic import write_json_atomically
from mnist_tui.runfolder.layout import BATCHES_NAME, INFO_NAME, LAYERS_NAME, STATUS_NAME, STEERING_NAME, RunInfo
from mnist_tui.runfolder.reader import read_bytes, read_info, read_json
from mnist_tui.schema import RecordError

# The logs a resume cuts to its finished epochs (the batches, layer statistics and steering of an
# epoch it trains again): a few MB for a long run at batch 64, held until its first batch trains.
CUT_LOGS = (BATCHES_NAME, LAYERS_NAME, STEERING_NAME)


@dataclass
class EarlierFiles:
    """run.json and status.json as they were (unreadable ones are not kept), and the logs a
    resume cuts, byte for byte. Empty for a new run or a resume into another folder."""

    records: dict[str, Any] = field(default_factory=dict)
    logs: dict[str, bytes | None] = field(default_factory=dict)  # None: absent (a resume may add it)
    aside: dict[str, Path] = field(default_factory=dict)  # damaged files kept beside the run (set_aside)

    @classmethod
    def read(cls, run_dir: Path, epochs_done: int) -> EarlierFiles:
        earlier = cls()
        if not epochs_done:
            return earlier
        for name in (INFO_NAME, STATUS_NAME):
            with contextlib.suppress(RecordError, UserError):
                if (row := read_json(run_dir / name)) is not None:
                    earlier.records[name] = row
        for name in CUT_LOGS:
            with contextlib.suppress(UserError):  # unreadable (a FIFO in its place): left as it is
                earlier.logs[name] = read_bytes(run_dir / name)
        return earlier

    def set_aside(self, run_dir: Path) -> list[str]:
        """Keep a run.json the resume would rewrite and cannot read, moved to run.json.damaged,
        and say so: a resume replaced one with a stray byte in it (the run's first start went),
        saying nothing. (A steering log with damaged rows is copied aside where it is rewritten:
        :meth:`copy_aside`.)"""
        try:
            read_info(run_dir)
        except (RecordError, UserError) as exc:
            with contextlib.suppress(OSError):
                os.replace(run_dir / INFO_NAME, self._aside_path(run_dir, INFO_NAME))
                return [f"{exc}: kept as {self.aside[INFO_NAME].name}, and a new {INFO_NAME} written"]
        return []

    def copy_aside(self, run_dir: Path, name: str) -> Path | None:
        """A copy of ``name`` as it is, before it is rewritten, beside it; None where it cannot be made."""
        with contextlib.suppress(OSError):
            shutil.copyfile(run_dir / name, self._aside_path(run_dir, name))
            return self.aside[name]
        return None

    def _aside_path(self, run_dir: Path, name: str) -> Path:
        path, number = run_dir / f"{name}.damaged", 1
        while path.exists() or path.is_symlink():  # an earlier resume's: kept too
            number += 1
            path = run_dir / f"{name}.damaged-{number}"
        self.aside[name] = path
        return path

    def first_start(self, default: float) -> float:
        """The start the earlier run.json gives (the workspace's "started"), else ``default``."""
        with contextlib.suppress(RecordError, KeyError):  # unreadable: this start is the best known
            return RunInfo.from_json(self.records[INFO_NAME]).first_start
        return default

    def restore(self, run_dir: Path) -> bool:
        """Put the files back (the logs first, run.json and status.json last); False where
        there was no earlier run.json, so nothing to put back."""
        if INFO_NAME not in self.records and INFO_NAME not in self.aside:
            return False
        for name, data in self.logs.items():
            with contextlib.suppress(OSError):
                if data is None:  # `a` before space had started a steering log: the plan never changed
                    (run_dir / name).unlink(missing_ok=True)
                elif _current(run_dir / name) != data:  # an unchanged one stays: a follower took a
                    write_atomically(run_dir / name, lambda f, data=data: f.write(data))  # new file for a new writer
        for name, row in self.records.items():
            with contextlib.suppress(OSError):
                write_json_atomically(run_dir / name, row)
        with contextlib.suppress(OSError):  # as it was found, damage and all (steering's bytes are back above)
            if INFO_NAME in self.aside:
                os.replace(self.aside[INFO_NAME], run_dir / INFO_NAME)
            if STEERING_NAME in self.aside:
                self.aside[STEERING_NAME].unlink()
        return True


def _current(path: Path) -> bytes | None:
    with contextlib.suppress(UserError):
        return read_bytes(path)
    return None
