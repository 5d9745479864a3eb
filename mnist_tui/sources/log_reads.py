"""A follower's reads of a run folder's files: each read again only when it changed, its damaged
rows and its being unreadable told once (no Textual, no torch).

A file is known to have changed by :func:`~mnist_tui.files.change_stamp` (size, inode and
times: on NFS or SMB a rewrite within one mtime tick went unseen by the mtime alone).
"""

from __future__ import annotations

from collections.abc import Callable

from mnist_tui.errors import UserError
from mnist_tui.files import change_stamp
from mnist_tui.runfolder.reader import Rows
from mnist_tui.training.events import Notice

Listener = Callable[[object], None]


class LogReads:
    def __init__(self, run_dir) -> None:
        self.run_dir = run_dir
        self.stamps: dict[str, tuple[int, ...]] = {}
        self.skipped_told: dict[str, int] = {}  # damaged rows of each log a notice has told of
        self._told_unreadable: set[str] = set()  # files (logs, status.json) a notice said cannot be read
        self.unreadable: set[str] = set()  # logs that could not be read at their last change

    def changed(self, name: str) -> bool:
        try:
            stamp = change_stamp((self.run_dir / name).stat())
        except OSError:
            return False
        if self.stamps.get(name) == stamp:
            return False
        self.stamps[name] = stamp
        return True

    def forget(self, name: str) -> None:
        """Read ``name`` again at the next poll, changed or not."""
        self.stamps.pop(name, None)

    def read(self, listener: Listener, name: str, read: Callable[[], Rows]) -> Rows | None:
        """A changed log's rows (its damaged rows told); None when unchanged, or when it cannot be
        read (a folder or a FIFO in its place: told once; the run is still followed)."""
        if not self.changed(name):
            return None
        try:
            rows = read()
        except UserError as exc:
            self.tell_unreadable(listener, name, exc)
            return None
        self.unreadable.discard(name)
        self.tell_skipped(listener, name, rows)
        return rows

    def tell_unreadable(self, listener: Listener, name: str, exc: UserError) -> None:
        self.unreadable.add(name)
        self.tell_once(listener, name, f"not used: {exc}")

    def tell_once(self, listener: Listener, name: str, text: str) -> None:
        """A notice that file ``name`` cannot be read, unless one was given for it already."""
        if not self.told_unreadable(name):
            self._told_unreadable.add(name)
            listener(Notice(text))

    def told_unreadable(self, name: str) -> bool:
        return name in self._told_unreadable

    def tell_skipped(self, listener: Listener, name: str, rows: Rows) -> None:
        """A notice when a log has more damaged rows than were told (a replay says so too; a
        follower had said nothing), with the first new one's reason. A rewritten log may have
        fewer: counted from there."""
        told = min(self.skipped_told.get(name, 0), rows.skipped)
        self.skipped_told[name] = rows.skipped
        if (note := rows.skipped_note(name, told)) is not None:
            listener(Notice(note))
