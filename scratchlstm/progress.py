"""Progress for long work, in the form the place it is shown in can use.

- In a Jupyter notebook: tqdm's notebook bar when ipywidgets is installed, tqdm's text bar
  otherwise (never the "IProgress not found" warning).
- In a terminal: tqdm's text bar, updated in place.
- Anywhere else (a log file, a pipe, CI): no carriage returns; one line when the work is done,
  with what it ended at (for training, one line per fit).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from typing import Any


def in_notebook() -> bool:
    """True inside a Jupyter kernel."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return get is not None and type(get()).__name__ == "ZMQInteractiveShell"


class LineProgress:
    """A bar for output that is not a terminal: it says nothing until it closes, then one line."""

    def __init__(self, total: int, desc: str, unit: str, initial: int = 0, file=None):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.file = file or sys.stderr
        self.postfix: dict[str, Any] = {}
        self.start = time.perf_counter()
        self.closed = False

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, **values) -> None:
        self.postfix = values

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        after = "".join(f", {k} {v}" for k, v in self.postfix.items())
        print(f"{self.desc}: {self.n}/{self.total} {self.unit}s in {time.perf_counter() - self.start:.1f} s{after}",
              file=self.file, flush=True)

    def write(self, line: str) -> None:
        print(line, file=self.file, flush=True)


class NoProgress:
    """The bar of quiet work."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values) -> None:
        pass

    def close(self) -> None:
        pass

    def write(self, line: str) -> None:
        pass


def progress_bar(total: int, desc: str, *, unit: str = "step", initial: int = 0, quiet: bool = False):
    """A progress display for ``total`` steps, chosen for where the output goes (see the module docstring).

    The returned object has ``update(n)``, ``set_postfix(**values)``, ``write(line)`` and ``close()``.
    """
    if quiet:
        return NoProgress()
    if in_notebook():
        if importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.notebook import tqdm
        else:
            from tqdm.std import tqdm
        return _Tqdm(tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=False))
    if sys.stderr.isatty():
        from tqdm.std import tqdm

        return _Tqdm(tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=False, file=sys.stderr))
    return LineProgress(total, desc, unit, initial)


class _Tqdm:
    """tqdm's bar with ``write`` that does not break it."""

    def __init__(self, bar):
        self.bar = bar

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def set_postfix(self, **values) -> None:
        self.bar.set_postfix(**values)

    def write(self, line: str) -> None:
        self.bar.write(line, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()
