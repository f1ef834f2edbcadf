"""Atomic writes: a file, or a folder of files, is either the old one or the whole new one, never half of one.

``atomic_path`` yields a temporary path beside the target; the caller writes there; on success the
temporary file is flushed to disk and renamed over the target (``os.replace`` is atomic on one file
system), on any error or interruption it is removed. The file gets the permissions a plain ``open``
would give it (the process's umask), not 0600 of a temporary file.

``replace_folder`` puts a complete folder in place of another in one step: on Linux one
``renameat2(RENAME_EXCHANGE)`` swaps the two; elsewhere two renames, with Ctrl-C and SIGTERM held
until both are done. ``folder_lock`` keeps two runs out of one folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Iterator


def _read_umask() -> int:
    """The process's umask (read once, at import: setting and restoring it is not thread-safe)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()


def check_file_target(path: str | os.PathLike) -> None:
    """Raise an ``OSError`` naming ``path`` when a file cannot be written there: a folder, a pipe or a device (which
    the rename of an atomic write would replace, as root even ``/dev/null``), or a path under a file. Writers call it
    before their work, so that a wrong ``--out`` costs nothing (a download, a training)."""
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder, not a file: name a file to write", str(target))
    if target.exists() and not target.is_file():
        raise OSError(errno.EINVAL, "not a regular file (a pipe or a device): name a file to write", str(target))
    parent = next((p for p in target.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{parent} is a file, so nothing can be written under it", str(target))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``, on error removed.

    The temporary file's name is drawn before the file is made, so a stop that arrives while it is created (SIGTERM
    inside ``open``) finds a name to remove: with ``mkstemp`` the name came back only after the file existed, and such
    a stop left an empty ``.NAME.*.tmp`` behind. The name holds the process id and 48 random bits, and the file is
    made with ``O_EXCL``, as ``mkstemp`` makes it.
    """
    target = Path(path)
    check_file_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(6)}.tmp"
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~UMASK)  # made 0600 while written, as mkstemp makes it; a plain open would respect the umask
        os.replace(tmp, target)
    except BaseException:
        _remove_despite_stops(tmp)
        raise


def _remove_despite_stops(path: str | os.PathLike) -> None:
    """Remove ``path``, even when a second stop arrives meanwhile: Ctrl-C to the group, then the parent's SIGTERM,
    reached a worker inside this cleanup, and the temporary file of the checkpoint it was writing stayed behind. The
    first stop is already on its way out; a later one only repeats it."""
    while True:
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return
        except KeyboardInterrupt:  # (Terminated too)
            continue


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "w") -> None:
    """Call ``write(f)`` on a temporary file opened with ``mode`` and rename it to ``path``."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        write(f)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, lambda f: f.write(text))


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block ends; they are delivered then (POSIX)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


RENAME_EXCHANGE = 2  # linux/fs.h
AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one atomic step; False where the system cannot (not Linux,
    an old kernel, a file system without it)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), os.fspath(b))


def replace_folder(staged: str | os.PathLike, target: str | os.PathLike) -> None:
    """Put the complete folder ``staged`` at ``target`` (a sibling on the same file system) in one
    step, and remove the folder that was there. Ctrl-C and SIGTERM wait until it is done."""
    staged, target = Path(staged), Path(target)
    with signals_held():
        if not target.exists():
            os.rename(staged, target)
            return
        if _exchange(staged, target):
            old = staged  # the exchange left the old folder where the new one was
        else:
            old = staged.with_name(staged.name + ".old")
            os.rename(target, old)
            os.rename(staged, target)
        shutil.rmtree(old, ignore_errors=True)


LOCK_NAME = ".scratchlstm.lock"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (created if needed) for the duration of the block.

    The lock is the operating system's (``flock`` on a file named ``LOCK_NAME`` in the folder), so it
    dies with the process that holds it: a run killed with ``kill -9`` leaves no stale lock. A second
    run into the same folder is refused at once with a ``ConfigError`` naming the holder. The lock
    file is removed when the block ends, and the folder too when it was created here and is empty.
    """
    from .errors import ConfigError

    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path} is a file, not a folder; pass a folder to --out")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle = _locked(path / LOCK_NAME)
    except OSError as exc:
        raise ConfigError(f"cannot write to {path} ({exc.strerror}); choose another --out") from None
    try:
        if handle is None:
            with contextlib.suppress(OSError), open(path / LOCK_NAME) as f:
                holder = f.read().strip()
            raise ConfigError(f"{path} is in use by another scratchlstm run ({holder or 'another process'}); wait for it to "
                              "finish or use another --out")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield path
    finally:
        if handle is not None:
            with contextlib.suppress(OSError):
                if _same_file(handle, path / LOCK_NAME):  # not one a later run made after this folder was replaced
                    os.unlink(path / LOCK_NAME)
            handle.close()  # closing the file releases the lock
        if created:
            with contextlib.suppress(OSError):
                path.rmdir()  # only when empty: a run that stopped before writing anything leaves no folder


def _locked(lock: Path):
    """The lock file ``lock``, opened and locked by this process; None when another process holds it.

    The file is removed when its holder is done, so the lock taken must be on the file that is
    at ``lock`` now, not on one that was removed while this process waited: checked, and retried."""
    for _ in range(100):
        handle = open(lock, "a+")
        if not _try_lock(handle):
            handle.close()
            return None
        if _same_file(handle, lock):
            return handle
        handle.close()
    raise OSError(errno.EAGAIN, "the lock file keeps being replaced", str(lock))


def _same_file(handle, path: Path) -> bool:
    try:
        mine, there = os.fstat(handle.fileno()), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


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
