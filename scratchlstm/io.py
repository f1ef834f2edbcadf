"""Checkpoints and atomic file writes.

A checkpoint is one ``.npz`` file: plain numeric arrays plus a JSON document stored as bytes under
the key ``__meta__``. Nothing is pickled, and loading uses ``allow_pickle=False``, so opening a
checkpoint can never run code. The metadata records the format version, the architecture (layer
sizes), the gate order, the dtype, the optimizer state, the data scaling and the training config.

Every file the package writes goes through :func:`atomic_write`: the content is written to a
temporary file in the same folder, flushed to disk, and renamed over the target, so an interrupted
write leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .errors import CheckpointError

FORMAT = "scratchlstm-checkpoint"
FORMAT_VERSION = 1
META_KEY = "__meta__"


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


def save_checkpoint(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` (numeric, host) and the JSON-able ``meta`` to ``path`` atomically."""
    for name, a in arrays.items():
        if name == META_KEY or np.asarray(a).dtype.kind not in "biuf":
            raise CheckpointError(f"checkpoint array {name!r} must be numeric, got dtype {np.asarray(a).dtype}")
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
    blob = np.frombuffer(json.dumps(document, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **{META_KEY: blob}, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write(path, lambda f: f.write(buffer.getvalue()), mode="wb")


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` from a checkpoint, refusing anything that is not one of ours.

    Raises :class:`CheckpointError` for a missing, truncated or foreign file, a pickled payload
    (refused before anything is unpickled), or another format version.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} does not exist")
    with open(p, "rb") as f:
        magic = f.read(4)
    if magic[:1] == b"\x80":
        raise CheckpointError(f"{p} is a pickle; refused without loading it (checkpoints hold only numeric arrays)")
    if magic != b"PK\x03\x04":
        raise CheckpointError(f"{p} is not a checkpoint (not an .npz archive); pass the model.npz a training run wrote")
    try:
        with open(p, "rb") as f:  # our own handle: np.load leaks its handle on a broken zip
            data = np.load(f, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise CheckpointError(f"{p} holds a single array, not a scratchlstm checkpoint (.npz with metadata)")
            with data:
                arrays = {name: data[name] for name in data.files}
    except CheckpointError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise CheckpointError(f"{p} carries a pickled object; refused without loading it (checkpoints hold only numeric arrays)") from exc
        raise CheckpointError(f"{p} is not a readable checkpoint: {exc}") from exc
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise CheckpointError(f"{p} is truncated or not a checkpoint ({type(exc).__name__}: {exc}); re-run the training or use another checkpoint") from exc
    if META_KEY not in arrays:
        raise CheckpointError(f"{p} has no scratchlstm metadata; it was not written by scratchlstm")
    try:
        meta = json.loads(arrays.pop(META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{p} has corrupt metadata ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{p} is not a scratchlstm checkpoint (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{p} has checkpoint format version {version}; this scratchlstm reads version {FORMAT_VERSION}")
    for name, a in arrays.items():
        if a.dtype.kind not in "biuf":
            raise CheckpointError(f"{p}: array {name!r} has dtype {a.dtype}; checkpoints hold only numeric arrays")
    return arrays, meta


def check_param_shapes(path, params: dict[str, np.ndarray], expected: dict[str, tuple[int, ...]]) -> None:
    """Raise :class:`CheckpointError` naming every parameter that is missing, extra or misshapen."""
    problems = []
    for name, shape in expected.items():
        if name not in params:
            problems.append(f"{name} missing")
        elif tuple(params[name].shape) != tuple(shape):
            problems.append(f"{name} has shape {tuple(params[name].shape)}, expected {tuple(shape)}")
    problems += [f"{name} is not part of the model" for name in params if name not in expected]
    if problems:
        raise CheckpointError(f"{path} does not match its model: " + "; ".join(problems))
