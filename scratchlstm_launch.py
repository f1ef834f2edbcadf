"""The ``scratchlstm`` command's entry point, outside the package so that it can report a package that fails to import.

The docs invite an edit of ``scratchlstm/nn/lstm.py`` (then ``scratchlstm gradcheck`` says whether it is right).
An edit that does not parse stops the import of the package itself, before any of its code runs: the command
would end with Python's traceback and exit status 1, which promises nothing. Here it ends with one line that
names the file, the line and the fix, and status 2 (the user's input or environment, as ``scratchlstm.cli``'s
codes have it), as does a package that cannot import a library it needs.
"""

from __future__ import annotations

import sys

EXIT_USER_ERROR = 2  # scratchlstm.cli.EXIT_USER_ERROR (1 is a failed gradient check there); not imported from there, since the point is that it may not import
EXIT_INTERRUPTED = 130  # scratchlstm.cli.EXIT_INTERRUPTED, likewise


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


def _interrupted(exc: BaseException | None) -> bool:
    """Whether Ctrl-C caused ``exc``: a KeyboardInterrupt in its chain of causes and contexts."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def run() -> None:
    """Import the command line and run it; a package that does not import ends with one line and status 2, and
    Ctrl-C while it imports (the command's first fifth of a second) with one line and status 130, as later."""
    try:
        from scratchlstm.cli import run as run_command
    except (SyntaxError, ImportError, KeyboardInterrupt) as exc:
        if _interrupted(exc):  # (Ctrl-C inside a library's import can come out as its ImportError)
            print("scratchlstm: interrupted", file=sys.stderr)
            sys.exit(EXIT_INTERRUPTED)
        print(f"scratchlstm: error: {import_failure(exc)}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    run_command()
