"""The ``scratchlstm`` command's entry point, outside the package so that it can report a package that fails to import.

The docs invite an edit of ``scratchlstm/nn/lstm.py`` (then ``scratchlstm gradcheck`` says whether it is right).
An edit that does not parse stops the import of the package itself, before any of its code runs: the command
would end with Python's traceback and exit status 1, which promises nothing. Here it ends with one line that
names the file, the line and the fix, and status 2 (the user's input or environment, as ``scratchlstm.cli``'s
codes have it), as does a package that cannot import a library it needs.
"""

from __future__ import annotations

import signal
import sys

EXIT_USER_ERROR = 2  # scratchlstm.cli.EXIT_USER_ERROR (1 is a failed gradient check there); not imported from there, since the point is that it may not import
EXIT_INTERRUPTED = 130  # scratchlstm.cli.EXIT_INTERRUPTED, likewise
EXIT_TERMINATED = 143  # scratchlstm.cli.EXIT_TERMINATED, likewise

# The stop signals (SIGINT for Ctrl-C, SIGTERM) received while the package imports, before the command line's own
# handlers take over: handed to the command line, which honours one that a library's import swallowed (a Ctrl-C
# inside a C extension's import can come out as an ImportError that an optional import drops, and the run went on).
_asked: list[int] = []


def import_failure(exc: BaseException) -> str:
    """One line on why the package did not import: the file and line that do not parse, or the module missing."""
    if isinstance(exc, SyntaxError):
        where = f"{exc.filename}, line {exc.lineno}," if exc.lineno else str(exc.filename)
        text = (exc.text or "").strip()
        shown = f": {text!r}" if text else ""
        return (f"{where} does not parse ({exc.msg}){shown}, so scratchlstm cannot start. If you edited that file, fix "
                "the line (git diff shows your edits) or restore it (git checkout on the file); otherwise reinstall scratchlstm")
    return (f"importing scratchlstm failed ({type(exc).__name__}: {exc}). Reinstall it with the libraries it needs "
            "(pip install -e . in its folder, or pip install scratchlstm)")


def _on_stop(signum, frame) -> None:
    """SIGINT's and SIGTERM's handler while the package imports: the first is kept and stops the import; more
    (Ctrl-C pressed again) are only kept, so that the line saying so is not itself broken off."""
    _asked.append(signum)
    if len(_asked) == 1:
        raise KeyboardInterrupt


def run() -> None:
    """Import the command line and run it; a package that does not import ends with one line and status 2, and
    Ctrl-C or SIGTERM while it imports (the command's first fifth of a second) with one line and status 130 or
    143, as later. The handlers set here stay for the process, until the command line sets its own. A signal that
    the process started with ignored stays ignored (a command started with ``&`` by a script ignores Ctrl-C)."""
    for stop in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(stop) is not signal.SIG_IGN:
            signal.signal(stop, _on_stop)
    try:
        from scratchlstm.cli import run as run_command
    except (SyntaxError, ImportError, KeyboardInterrupt) as exc:
        if _asked:  # (a stop inside a library's import can come out as its ImportError)
            terminated = signal.SIGTERM in _asked[:1]
            print(f"scratchlstm: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
            sys.exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
        print(f"scratchlstm: error: {import_failure(exc)}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    run_command(stops_before=_asked)
