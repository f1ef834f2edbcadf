"""Atomic file writes: a file is either the old one or the whole new one, never half of one.

``atomic_path`` yields a temporary path beside the target; the caller writes there; on success the
temporary file is flushed to disk and renamed over the target (``os.replace`` is atomic on one file
system), on any error or interruption it is removed. The file gets the permissions a plain ``open``
would give it (the process's umask), not the 0600 of a temporary file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator


def _read_umask() -> int:
    """The process's umask (read once, at import: setting and restoring it is not thread-safe)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``, on error removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes 0600; a plain open would respect the umask
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "w") -> None:
    """Call ``write(f)`` on a temporary file opened with ``mode`` and rename it to ``path``."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        write(f)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, lambda f: f.write(text))


LOCK_NAME = ".scratchlstm.lock"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (created if needed) for the duration of the block.

    The lock is the operating system's (``flock`` on a file named ``LOCK_NAME`` in the folder), so it
    dies with the process that holds it: a run killed with ``kill -9`` leaves no stale lock. A second
    run into the same folder is refused at once with a ``ConfigError`` naming the holder.
    """
    from .errors import ConfigError

    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path} is a file, not a folder; pass a folder to --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle = open(path / LOCK_NAME, "a+")
    except OSError as exc:
        raise ConfigError(f"cannot write to {path} ({exc.strerror}); choose another --out") from None
    try:
        if not _try_lock(handle):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ConfigError(f"{path} is in use by another scratchlstm run ({holder}); wait for it to finish or use another --out")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield path
    finally:
        handle.close()  # closing the file releases the lock


def _try_lock(handle) -> bool:
    """Take an exclusive, non-blocking lock on an open file; False when another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def display_name(path: str | os.PathLike) -> str:
    """``path`` as text any output can hold: bytes that are not UTF-8 (which Python keeps as surrogate
    escapes in file names) become U+FFFD, so a figure title, a JSON report or a terminal never fails on it."""
    return os.fspath(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
