"""The package's own error types: each message says what was wrong and what to do.

The command-line program prints these as one or two lines (no traceback unless ``--debug``) and
exits non-zero; anything else escaping is a bug.
"""

from typing import Iterator


class ScratchLSTMError(Exception):
    """Base of every error the package raises on purpose."""


class ConfigError(ScratchLSTMError, ValueError):
    """A setting is out of range or unknown (the message lists the valid choices)."""


class DtypeError(ScratchLSTMError, TypeError):
    """Arrays of one call have different or unsupported dtypes (the message names the cast to make)."""


class DataError(ScratchLSTMError, ValueError):
    """A price file, or the arrays given to ``train``, cannot be used as they are (the message names the file or the
    array, the problem and the fix)."""


class CheckpointError(ScratchLSTMError, ValueError):
    """A checkpoint is corrupt, from another format version, or does not match the model or data."""


class TrainingDiverged(ScratchLSTMError, RuntimeError):
    """The loss or the gradients became NaN or infinite; the last good weights were kept."""


class WorkerError(ScratchLSTMError, RuntimeError):
    """A worker process of a parallel run stopped before its task was done (killed, out of memory, or unable to start)."""


def exception_chain(exc: BaseException | None, *, causes: bool = True) -> Iterator[BaseException]:
    """``exc`` and the exceptions behind it, each once: the one it was raised from (``__cause__``, when ``causes``),
    else the one being handled when it was raised (``__context__``), and so on down the chain."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        yield exc
        seen.add(id(exc))
        exc = (exc.__cause__ if causes else None) or exc.__context__
