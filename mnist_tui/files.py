"""Small file-system checks shared by the data and run folders (no torch here)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def probe_write(folder: Path) -> None:
    """Create and delete a file in ``folder``; raise ``OSError`` if that fails.

    A real write, not ``os.access``: root passes every permission check but not a read-only disk.
    """
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
    os.close(fd)
    os.unlink(probe)
