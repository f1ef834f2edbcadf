"""The output folder of a forecast or panel run: checked before the run, replaced as one unit after it.

A run's files live in one folder that scratchlstm owns. ``--out DIR`` is created when it is absent.
When it exists it must be empty, or hold only what scratchlstm wrote there: a previous run's files,
each still the file its manifest ``run.json`` records (same SHA-256), the training checkpoints of a
run that stopped, and the lock of a run in progress. A folder that holds anything else (a report.json
of the user's own, the price file, notes) is refused before any training, naming those files, and
nothing in it is touched. The current folder, or a folder above it, is refused too (``--out .``):
it would be replaced as a whole. A symbolic link is followed to its folder, which gets the same check.

The new files are written into a hidden folder beside ``DIR`` (``.DIR.<run>.tmp``); only when every
file is complete and on disk does that folder take ``DIR``'s place, in one step
(``io.replace_folder``), and the previous folder goes, with its checkpoints and lock. A failure or
an interruption before that step removes the hidden folder and leaves ``DIR`` as it was; a reader
never sees new files beside old ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable

from ..errors import ConfigError
from ..io import LOCK_NAME, replace_folder

MANIFEST = "run.json"
CHECKPOINTS = "checkpoints"
CHECKPOINT_FILE = re.compile(r"\.?fit-\d+-\d+\.npz(\..+\.tmp)?")  # walk_forward's training states, and their temporary files
SHOWN = 5  # foreign files named in the refusal


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recorded_files(folder: Path) -> dict[str, str]:
    """The files the folder's manifest records, by name (none when there is no readable manifest)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return {}
    return files


def manifest_disowning(path: Path) -> Path | None:
    """The manifest (of ``path``'s folder, or of the folder above for a panel's ``models/x.npz``) that records
    ``path`` with another SHA-256: the file was edited or replaced since its run wrote it; None otherwise."""
    path = Path(path)
    for folder in (path.parent, path.parent.parent):
        recorded = _recorded_files(folder)
        if not recorded:
            continue
        try:
            name = path.resolve().relative_to(folder.resolve()).as_posix()
        except (ValueError, OSError):
            return None
        return folder / MANIFEST if name in recorded and recorded[name] != sha256(path) else None
    return None


def foreign_entries(folder: Path) -> list[str]:
    """The names in ``folder`` that scratchlstm did not write there (see the module docstring)."""
    names = set(os.listdir(folder))
    ours = {LOCK_NAME}
    checkpoints = folder / CHECKPOINTS
    if checkpoints.is_dir() and not checkpoints.is_symlink() and all(CHECKPOINT_FILE.fullmatch(n) for n in os.listdir(checkpoints)):
        ours.add(CHECKPOINTS)
    recorded = _recorded_files(folder)
    if recorded:
        ours.add(MANIFEST)
        ours.update(name for name in names if _written_here(folder, name, recorded))
    return sorted(names - ours)


def _written_here(folder: Path, name: str, recorded: dict[str, str]) -> bool:
    """Whether the entry ``name`` of ``folder`` is a file the manifest records, unchanged, or a folder (a panel's
    ``models/``) holding only such files, recorded by their paths below ``folder`` (``models/x.npz``)."""
    path = folder / name
    if path.is_symlink():
        return False
    if path.is_file():
        return name in recorded and sha256(path) == recorded[name]
    if not path.is_dir():
        return False
    inside = list(path.rglob("*"))
    if any(p.is_symlink() for p in inside):
        return False
    return all(p.is_file() and recorded.get(p.relative_to(folder).as_posix()) == sha256(p) for p in inside if not p.is_dir())


def check_output_folder(out: str | os.PathLike) -> Path:
    """The folder a run may write to, ``out`` with symbolic links followed; ``ConfigError`` when it
    is empty text, a file, the current folder or one above it, or a folder holding files
    scratchlstm did not write."""
    text = os.fspath(out)
    if not text.strip():
        raise ConfigError("--out is empty; name a folder for the run's files, e.g. --out forecast-out")
    try:
        folder = Path(text).resolve()
    except (RuntimeError, OSError) as exc:  # a loop of symbolic links (RuntimeError before Python 3.13)
        raise ConfigError(f"--out {text} cannot be followed to a folder ({exc}); give a folder, not a loop of links") from None
    if Path(text).is_symlink() and not folder.exists():  # (writing through it failed with "File exists")
        raise ConfigError(f"--out {text} is a symbolic link to {os.readlink(text)}, which does not exist; create that "
                          "folder, or give another --out")
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{text} is a file, not a folder; pass a folder to --out")
    here = Path.cwd().resolve()
    if folder == here or folder in here.parents:
        raise ConfigError(f"--out {text} is the current folder or one above it, and a run replaces its output folder as a "
                          f"whole; name a folder of its own, e.g. --out {os.path.join(text, 'forecast-out')}")
    made_in = next(p for p in (folder.parent, *folder.parent.parents) if p.exists())  # the run's folder is made there
    if not made_in.is_dir():  # (os.access said "permission denied" of a file: no folder can be made inside one)
        raise ConfigError(f"--out {text} is inside {made_in}, which is a file, not a folder; choose another --out")
    if not os.access(made_in, os.W_OK | os.X_OK):  # (found before the training, not after it)
        raise ConfigError(f"cannot write to {made_in} (permission denied), where the run's folder is made; choose another --out")
    if folder.is_dir():
        foreign = foreign_entries(folder)
        if foreign:
            listed = ", ".join(foreign[:SHOWN]) + (f" and {len(foreign) - SHOWN} more" if len(foreign) > SHOWN else "")
            raise ConfigError(f"{text} holds files scratchlstm did not write, or changed since it wrote them ({listed}); they "
                              "are left as they are: give --out a new or empty folder")
    return folder


def write_folder(out: str | os.PathLike, writers: dict[str, Callable[[Path], None]]) -> dict[str, Path]:
    """Write one file per entry of ``writers`` (``writer(path)``) and ``run.json``, the manifest
    naming them with their SHA-256, and put them at ``out`` as one unit (see the module docstring).

    Returns the path of each file under ``out`` as given. Raises ``ConfigError`` when ``out`` cannot
    be the output folder, and lets an ``OSError`` such as a full disk through after removing the
    hidden folder.
    """
    folder = check_output_folder(out)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the folder {folder.parent} ({exc.strerror}); choose another --out") from None
    run_id = uuid.uuid4().hex[:12]
    staged = folder.parent / f".{folder.name}.{run_id}.tmp"
    try:
        staged.mkdir()
        for name, write in writers.items():
            (staged / name).parent.mkdir(parents=True, exist_ok=True)  # a name may hold a folder: models/x.npz
            write(staged / name)
        manifest = {"run": run_id, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "files": {name: sha256(staged / name) for name in writers}}
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for name in (*writers, MANIFEST):
            with open(staged / name, "rb+") as f:
                os.fsync(f.fileno())
        replace_folder(staged, folder)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return {name: Path(out) / name for name in writers}
