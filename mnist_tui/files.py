"""Small file-system checks shared by the data and run folders and the command line (no torch here).

Every path a user gives can make the OS refuse: a name longer than the file system allows
(ENAMETOOLONG), a file where a folder should be (ENOTDIR), a folder that may not be entered
(EACCES), a symlink loop (ELOOP), a FIFO or a device where a file is expected (opening a FIFO
blocks until a writer comes: forever). :func:`check_user_path` turns each into one line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from pathlib import Path

from mnist_tui.errors import UserError

RUN_FOLDER = "run folder to create"  # may exist (a folder) or not (its parent must be a folder)
EXISTING_FOLDER = "existing folder"
CHECKPOINT = "checkpoint file or folder"
READABLE_FILE = "readable file"
KINDS = (RUN_FOLDER, EXISTING_FOLDER, CHECKPOINT, READABLE_FILE)

_REASONS = {
    errno.ENAMETOOLONG: "the name is longer than the file system allows",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ELOOP: "too many levels of symbolic links (a loop?)",
    errno.ENOENT: "it does not exist",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "it is a folder, not a file",
}


def change_stamp(info: os.stat_result) -> tuple[int, int, int, int]:
    """What tells a file changed: its inode too (each atomic replace is a new one) and its size,
    not the mtime alone, which shares one tick between two writes on coarse file systems (NFS,
    SMB: a follower's second request, or a sprint's next epoch row, went unseen)."""
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def probe_write(folder: Path) -> None:
    """Create and delete a file in ``folder``; raise ``OSError`` if that fails.

    A real write, not ``os.access``: root passes every permission check but not a read-only disk.
    """
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
    os.close(fd)
    os.unlink(probe)


def os_reason(exc: OSError) -> str:
    """An OSError in words, without the path (the caller names it once)."""
    return _REASONS.get(exc.errno, exc.strerror or type(exc).__name__)


def mkdir_reason(exc: OSError) -> str:
    """Why a folder could not be made, in words. ENOENT from ``mkdir`` where the folder above it
    exists is that file system taking no new folders (``/proc``, ``/sys``): "it does not exist" said
    of the folder asked for read as if the user had mistyped an existing one's name."""
    try:  # absolute() asks for the working folder, which may itself have been removed
        above = Path(exc.filename).absolute().parent if exc.filename else None
        if exc.errno == errno.ENOENT and above is not None and above.is_dir():
            return f"{shown(above, 60)} exists, but no folder can be made in it"
    except OSError:
        pass
    return os_reason(exc)


def shown(path: Path | str, limit: int = 200) -> str:
    """A path for a one-line message: a 300-character name is cut in the middle. Not before 200
    characters: a path a person can copy from the message is worth a wrapped line, and 100 cut
    ordinary ones (pytest-xdist's temporary folders: 120 characters)."""
    text = str(path)
    return text if len(text) <= limit else f"{text[: limit // 2 - 2]}…{text[-(limit // 2 - 1) :]}"


def file_type(mode: int) -> str:
    """What a path is, in words: "a file", "a folder", "a FIFO (named pipe)", …"""
    for test, name in (
        (stat.S_ISREG, "a file"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "neither a file nor a folder"


def open_regular(path: Path) -> int:
    """Open a regular file for reading and return the descriptor; never blocks.

    ``O_NONBLOCK`` makes opening a FIFO return at once (a plain open waits for a writer), and
    ``fstat`` on the open descriptor checks what was really opened, so a file swapped for a
    FIFO between a check and the open is still refused. Raises ``OSError`` (``EINVAL`` with a
    ``strerror`` naming the file type for anything but a regular file).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"it is {file_type(mode)}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise


def unreadable_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file, in words; None where it can, or where it is absent."""
    try:
        os.close(open_regular(path))
    except FileNotFoundError:
        return None
    except OSError as exc:  # EINVAL: "it is a folder, not a regular file"
        return exc.strerror if exc.errno == errno.EINVAL else os_reason(exc)
    return None


def _refuse(path: Path, option: str, reason: str) -> UserError:
    return UserError(f"{option} {shown(path)}: {reason}")


def _check_folder(path: Path, option: str) -> None:
    """An existing folder that can be listed (entering it is what the run needs)."""
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        raise _refuse(path, option, f"cannot enter the folder: {os_reason(exc)}") from None


def _check_to_create(path: Path, option: str) -> None:
    """Missing is fine when the nearest existing ancestor is a folder we can enter."""
    parent = path.parent
    while True:
        try:
            mode = os.stat(parent).st_mode
        except FileNotFoundError:
            if parent == parent.parent:
                raise _refuse(path, option, "no existing folder above it") from None
            parent = parent.parent
            continue
        except OSError as exc:
            raise _refuse(path, option, os_reason(exc)) from None
        if not stat.S_ISDIR(mode):
            raise _refuse(path, option, f"{shown(parent, 60)} is {file_type(mode)}, not a folder")
        _check_folder(parent, option)
        return


def check_user_path(path: Path, option: str, kind: str) -> Path:
    """Check ``path`` (given as ``option``) can be used as ``kind``; return it, or raise one UserError line.

    ``kind`` is one of :data:`KINDS`. Nothing is created and nothing is opened in a way that blocks.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if kind == RUN_FOLDER:
            _check_to_create(path, option)
            return path
        try:
            os.lstat(path)
        except OSError:
            raise _refuse(path, option, "it does not exist") from None
        raise _refuse(path, option, "it is a symbolic link to nothing") from None
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte
        reason = os_reason(exc) if isinstance(exc, OSError) else "the name holds a NUL character"
        raise _refuse(path, option, reason) from None
    if stat.S_ISDIR(mode):
        if kind == READABLE_FILE:
            raise _refuse(path, option, "it is a folder, not a file")
        _check_folder(path, option)
        return path
    if kind in (RUN_FOLDER, EXISTING_FOLDER):
        raise _refuse(path, option, f"it is {file_type(mode)}, not a folder")
    try:
        os.close(open_regular(path))
    except OSError as exc:
        raise _refuse(path, option, os_reason(exc) if exc.errno != errno.EINVAL else exc.strerror) from None
    return path


def _new_file_mode(path: Path) -> int:
    """Keep an existing file's mode; else what ``open`` would give (mkstemp makes 0600)."""
    with contextlib.suppress(OSError):
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: Path, write, durable: bool = True, new: bool = False) -> None:
    """Write through a temporary file in the same folder, fsync, then ``os.replace``.
    ``new``: never over an existing file (a hard link, which fails where one exists: two exports
    in one second had both checked the name free, and the second replaced the first): FileExistsError.

    A crash at any moment leaves either the old file or the new one, never a mix; an
    exception (or a second Ctrl-C) mid-write removes the temporary file. ``durable=False``
    skips the fsyncs: a reader still never sees a half-written file (the run folder's
    heartbeat, rewritten every second, needs no more).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), _new_file_mode(path))
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if new:
            _link_new(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    if not durable:
        return
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _link_new(tmp: str, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: the check just before is all there is
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "it exists", str(path)) from None
        os.replace(tmp, path)


_OFFLINE = ("Name or service not known", "Temporary failure in name resolution", "nodename nor servname")


def download_reason(exc: BaseException) -> str:
    """torchvision's download error lists every mirror; its last line says what went wrong, as
    ``<urlopen error [Errno -2] Name or service not known>``: said here in words."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    last = lines[-1][:200] if lines else type(exc).__name__
    if any(words in last for words in _OFFLINE):
        return "no network: the download mirrors' names could not be looked up"
    found = re.fullmatch(r"<urlopen error (?:\[Errno -?\d+\] )?(.*)>", last)
    return found.group(1) if found else last
