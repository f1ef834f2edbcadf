"""Checkpoints: model files and resumable training state, checked before anything is decompressed.

A checkpoint is one ``.npz`` file: plain numeric arrays, plus a JSON document stored as bytes under the
key ``__meta__``. Nothing is pickled and loading uses ``allow_pickle=False``, so opening a checkpoint
can never run code. The metadata records the format version, a manifest of every array (name, shape,
dtype), the architecture, the dtype, and for training state the optimizer state, the training
configuration, the trainer's counters and history, and whatever the caller adds (the forecaster
stores its data scaling there) under keys of its own: metadata that uses one of ``RESERVED_KEYS`` is
refused when saving, as a file whose own keys it replaced could never be loaded.

**Checked before it is read.** ``read_checkpoint`` looks at the zip's directory first: every member
must be in the manifest (an extra member is refused at once), every declared size must fit the
manifest's shape and dtype, and the total must stay under a bound, all before a byte of an array is
decompressed; then each array's header is compared with the manifest before its data are read.
Malformed metadata (not an object, wrong types, absurd nesting) and a tampered training state are
refused with a ``CheckpointError`` that says what is wrong.

Every file is written through ``scratchlstm.io.atomic_write``: a temporary file beside the target,
flushed, then renamed over it, so an interrupted write leaves the old file or the new one.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .backend import Array, like, place, to_numpy
from .errors import CheckpointError, ConfigError
from .io import atomic_write
from .nn.model import Model, ModelConfig
from .settings import from_mapping

FORMAT = "scratchlstm-checkpoint"
FORMAT_VERSION = 3  # 3: a model file holds one or more members (the models whose forecasts are averaged)
READABLE_VERSIONS = (2, 3)  # a version-2 model file holds one model, under "param/"
META_KEY = "__meta__"
MAX_META_BYTES = 4 * 2**20  # the JSON document
MAX_TOTAL_BYTES = 2 * 2**30  # every array together, as declared in the zip directory
MAX_MODEL_BYTES = 256 * 2**20  # the weights of a model file: far above any forecast model (hidden 1,000 x 2: 32 MB)
MAX_MEMBERS = 1000
NUMERIC_KINDS = "biuf"
FILE_KEYS = ("format", "format_version", "arrays")  # what write_checkpoint records of every file
# what the model files and the training states record besides: a caller's metadata may use none of these
RESERVED_KEYS = FILE_KEYS + ("model", "dtype", "members", "optimizer", "training", "trainer_state")


# ----------------------------------------------------------------------------------------------
# the file format


def write_checkpoint(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write numeric host ``arrays`` and the JSON-able ``meta`` to ``path`` atomically, with a manifest."""
    check_caller_meta(meta, FILE_KEYS)
    arrays = {name: np.asarray(a) for name, a in arrays.items()}
    for name, a in arrays.items():
        if name == META_KEY or a.dtype.kind not in NUMERIC_KINDS:
            raise CheckpointError(f"checkpoint array {name!r} must be numeric, got dtype {a.dtype}")
    manifest = {name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in arrays.items()}
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "arrays": manifest, **meta}
    blob = np.frombuffer(json.dumps(document, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **{META_KEY: blob}, **arrays)
    atomic_write(path, lambda f: f.write(buffer.getvalue()), mode="wb")


def check_caller_meta(meta: dict[str, Any] | None, reserved: tuple[str, ...] = RESERVED_KEYS) -> None:
    """Refuse metadata that would replace the checkpoint's own keys: the save succeeded and no load could read the file."""
    clash = sorted(set(meta or {}) & set(reserved))
    if clash:
        raise CheckpointError(f"the metadata uses the checkpoint's own key{'s' if len(clash) > 1 else ''} {', '.join(map(repr, clash))} "
                              f"(reserved: {', '.join(reserved)}); use other names, or put your metadata under a key of your own")
    try:  # now, not at the first save after an epoch of training
        json.dumps(meta or {})
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"the metadata cannot be written as JSON ({exc}); give Python numbers, strings, lists and dicts "
                              "(float(x) of a NumPy number)") from None


def _fail(path: Path, problem: str) -> CheckpointError:
    return CheckpointError(f"{path}: {problem}")


def _opened(path: Path) -> zipfile.ZipFile:
    if path.is_dir():
        inside, models = path / "model.npz", sorted((path / "models").glob("*.npz"))
        if inside.is_file():
            hint = f"; give the model file inside it, {inside}"
        elif models:  # a panel's folder: one model file per series
            shown = ", ".join(m.name for m in models[:3]) + (", ..." if len(models) > 3 else "")
            hint = (f"; a panel's folder holds one model file per series in {path / 'models'} ({shown}): give one of them "
                    "(summary.csv's model_file names each series' file)")
        else:
            hint = "; give the model.npz a forecast run wrote (or a panel's models/SERIES.npz)"
        raise CheckpointError(f"checkpoint {path} is a folder{hint}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:1] == b"\x80":
        raise _fail(path, "is a pickle; refused without loading it (checkpoints hold only numeric arrays)")
    if magic != b"PK\x03\x04":
        raise _fail(path, "is not a checkpoint (not an .npz archive)" + (
            "; it is a fit's training state, damaged: run without --resume to start afresh" if path.name.startswith("fit-")
            else "; pass the model.npz a training run wrote"))
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(path, f"is truncated or not a checkpoint ({exc}); re-run the training or use another checkpoint") from None


def _read_member(path: Path, z: zipfile.ZipFile, info: zipfile.ZipInfo, shape=None, dtype=None) -> np.ndarray:
    """One array, its header compared with the manifest's ``shape``/``dtype`` before its data are read."""
    try:
        with z.open(info) as f:
            version = np.lib.format.read_magic(f)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            got_shape, _, got_dtype = reader(f, max_header_size=10000)
        if got_dtype.hasobject:
            raise _fail(path, f"array {info.filename!r} carries pickled objects; refused without loading it")
        if shape is not None and (tuple(got_shape) != tuple(shape) or got_dtype.str != dtype):
            raise _fail(path, f"array {info.filename!r} is {got_dtype.str} {tuple(got_shape)}, "
                              f"but its manifest says {dtype} {tuple(shape)}")
        with z.open(info) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except CheckpointError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise _fail(path, f"array {info.filename!r} is not readable ({type(exc).__name__}: {exc})") from None


def read_checkpoint(path: str | Path, *, max_total_bytes: int = MAX_TOTAL_BYTES,
                    check_manifest=None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` from a checkpoint, after checking its directory against its manifest.

    Raises ``CheckpointError`` for a missing, truncated, foreign or pickled file, another format
    version, malformed metadata, or any member that the manifest does not declare or that does not
    fit it; the checks on names and sizes come before any array is decompressed. ``check_manifest``,
    when given, is called as ``check_manifest(meta, manifest)`` before any array is read, to compare
    the manifest with what the metadata say the file must hold (``load_models`` does).
    """
    path = Path(path)
    with _opened(path) as z:
        infos = {info.filename: info for info in z.infolist()}
        meta_info = infos.pop(META_KEY + ".npy", None)
        if meta_info is None:
            raise _fail(path, "has no scratchlstm metadata; it was not written by scratchlstm")
        if meta_info.file_size > MAX_META_BYTES:
            raise _fail(path, f"its metadata declares {meta_info.file_size} bytes (at most {MAX_META_BYTES} are read); refused")
        meta = _parse_meta(path, _read_member(path, z, meta_info))
        manifest = meta.pop("arrays")
        if check_manifest is not None:
            check_manifest(meta, manifest)
        members = {name[: -len(".npy")] if name.endswith(".npy") else name: info for name, info in infos.items()}
        extra = sorted(set(members) - set(manifest))
        missing = sorted(set(manifest) - set(members))
        if extra or missing:
            raise _fail(path, "does not match its manifest" + (f": members not declared {extra}" if extra else "")
                        + (f"; declared but absent {missing}" if missing else "") + "; refused without reading it")
        total = 0
        for name, info in members.items():
            shape, dtype = manifest[name]["shape"], manifest[name]["dtype"]
            data = math.prod(shape) * np.dtype(dtype).itemsize
            if not data <= info.file_size <= data + 4096:
                raise _fail(path, f"array {name!r} declares {info.file_size} bytes, which does not fit {dtype} {tuple(shape)}; refused")
            total += info.file_size
        if total > max_total_bytes:
            raise _fail(path, f"declares {total} bytes of arrays (at most {max_total_bytes}); refused")
        arrays = {name: _read_member(path, z, info, manifest[name]["shape"], manifest[name]["dtype"]) for name, info in members.items()}
    return arrays, meta


def _parse_meta(path: Path, blob: np.ndarray) -> dict[str, Any]:
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise _fail(path, "has corrupt metadata (not a byte string)")
    try:
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _fail(path, f"has corrupt metadata ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise _fail(path, f"has corrupt metadata (a JSON {type(meta).__name__}, not an object)")
    if meta.get("format") != FORMAT:
        raise _fail(path, f"is not a scratchlstm checkpoint (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if version not in READABLE_VERSIONS:
        raise _fail(path, f"has checkpoint format version {version!r}; this scratchlstm reads versions "
                          f"{', '.join(map(str, READABLE_VERSIONS))} (train again with this version)")
    manifest = meta.get("arrays")
    ok = isinstance(manifest, dict) and all(
        isinstance(v, dict) and isinstance(v.get("shape"), list) and all(isinstance(n, int) and 0 <= n < 2**31 for n in v["shape"])
        and isinstance(v.get("dtype"), str) and _numeric_dtype(v["dtype"]) for v in manifest.values())
    if not ok:
        raise _fail(path, "has a corrupt array manifest")
    return meta


def _numeric_dtype(text: str) -> bool:
    try:
        return np.dtype(text).kind in NUMERIC_KINDS
    except TypeError:
        return False


# ----------------------------------------------------------------------------------------------
# model files


def model_meta(model: Model) -> dict[str, Any]:
    """The metadata every checkpoint carries about its model."""
    return {"model": model.config.to_dict(), "dtype": str(to_numpy(model.head["W"]).dtype)}


def model_config_of(path, meta: dict[str, Any]) -> ModelConfig:
    """The architecture a checkpoint records, or a ``CheckpointError`` saying what is wrong with it."""
    try:
        return from_mapping(ModelConfig, meta.get("model"), source="its model description")
    except ConfigError as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def _section(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays saved under ``prefix/``, keyed without it."""
    return {k[len(prefix) + 1 :]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def _check_params(path, host: dict[str, np.ndarray], config: ModelConfig, section: str) -> None:
    """Raise ``CheckpointError`` naming every parameter that is missing, extra or misshapen."""
    expected = config.param_shapes()
    problems = [f"{name} missing" for name in expected if name not in host]
    problems += [f"{name} has shape {tuple(host[name].shape)}, expected {shape}" for name, shape in expected.items()
                 if name in host and tuple(host[name].shape) != shape]
    problems += [f"{name} is not part of the model" for name in host if name not in expected]
    if problems:
        raise CheckpointError(f"{path} does not match its model ({section}): " + "; ".join(problems))


def save_model(path: str | Path, model: Model, meta: dict[str, Any] | None = None) -> None:
    """Save the model's weights and architecture (no training state), for ``load_model``."""
    save_models(path, [model], meta)


def save_models(path: str | Path, models: list[Model], meta: dict[str, Any] | None = None) -> None:
    """Save models of one architecture (the members of an averaged forecast) in one file, for ``load_models``.

    Member ``k``'s parameters are stored as ``member{k}/<name>``; the metadata record how many there are.
    """
    if not models or any(m.config != models[0].config for m in models):
        raise CheckpointError("save_models needs one or more models of the same architecture")
    check_caller_meta(meta)
    host = [{name: to_numpy(v) for name, v in m.named_params().items()} for m in models]
    _check_one_dtype(host)
    arrays = {f"member{k}/{name}": a for k, params in enumerate(host) for name, a in params.items()}
    write_checkpoint(path, arrays, {**model_meta(models[0]), "members": len(models), **(meta or {})})


def _check_one_dtype(members: list[dict[str, np.ndarray]]) -> None:
    """Refuse members (host parameters) of different dtypes: the file records one, and loading refused the others' arrays."""
    dtypes = [sorted({str(a.dtype) for a in params.values()}) for params in members]
    if any(d != dtypes[0] or len(d) > 1 for d in dtypes):
        described = ", ".join(f"member {k} is {'/'.join(d)}" for k, d in enumerate(dtypes))
        raise CheckpointError(f"members must share one dtype: {described}; cast them to one before saving")


def _model_layout(meta: dict[str, Any]) -> tuple[str, list[str]]:
    """Which sections of a file hold models: a training state's kept weights, a version-2 model file's
    one model, or a version-3 model file's members."""
    if "trainer_state" in meta:
        return "state", ["best"]
    if meta.get("format_version") == 2 or "members" not in meta:
        return "model", ["param"]
    return "model", [f"member{k}" for k in range(meta["members"])]


def _expect_models(path: Path, max_bytes: int):
    """A ``check_manifest`` for model files: every array the architecture in the metadata needs, of
    its shape and dtype, and nothing else, within ``max_bytes``, checked before anything is decompressed."""
    def check(meta: dict[str, Any], manifest: dict[str, Any]) -> None:
        members = meta.get("members", 1)
        if not (isinstance(members, int) and not isinstance(members, bool) and 1 <= members <= MAX_MEMBERS):
            raise _fail(path, f"records {members!r} members (1 to {MAX_MEMBERS} expected); refused")
        config = model_config_of(path, meta)
        dtype = meta.get("dtype")
        if dtype not in ("float32", "float64"):
            raise CheckpointError(f"{path} records dtype {dtype!r}; expected float32 or float64")
        kind, sections = _model_layout(meta)
        if kind == "state":
            return  # a training state also holds the optimizer's arrays; its sizes are bounded by read_checkpoint
        expected = {f"{s}/{name}": {"shape": list(shape), "dtype": np.dtype(dtype).str}
                    for s in sections for name, shape in config.param_shapes().items()}
        if manifest != expected:
            wrong = sorted(set(manifest) ^ set(expected)) or sorted(n for n in manifest if manifest[n] != expected[n])
            raise _fail(path, f"its arrays do not fit the model it describes ({', '.join(wrong[:3])}); refused without reading them")
        total = sum(math.prod(a["shape"]) * np.dtype(a["dtype"]).itemsize for a in expected.values())
        if total > max_bytes:
            raise _fail(path, f"declares {total} bytes of weights (a model file holds at most {max_bytes}); refused without reading "
                              "them; if you trained it yourself, load it in Python with load_models(path, max_bytes=...)")
    return check


def load_models(path: str | Path, *, xp=None, dtype: str | None = None, device=None,
                max_bytes: int = MAX_MODEL_BYTES) -> tuple[list[Model], dict[str, Any]]:
    """Every model a file holds (the members of an averaged forecast; one for a single model or a
    training state's kept weights) and the metadata.

    Before anything is decompressed, the file's manifest must list exactly the arrays that the
    architecture in its metadata needs, for each member, and those must total at most ``max_bytes``.
    """
    path = Path(path)
    arrays, meta = read_checkpoint(path, check_manifest=_expect_models(path, max_bytes))
    config = model_config_of(path, meta)
    kind, sections = _model_layout(meta)
    if kind == "state" and not _section(arrays, "best"):
        sections = ["param"]  # a state saved before any epoch was kept
    dtype = dtype or meta.get("dtype")
    if dtype not in ("float32", "float64"):
        raise CheckpointError(f"{path} records dtype {dtype!r}; expected float32 or float64")
    models = []
    for section in sections:
        host = _section(arrays, section)
        _check_params(path, host, config, section)
        models.append(Model.from_named_params(config, place(host, xp=xp, dtype=dtype, device=device)))
    return models, meta


def load_model(path: str | Path, *, xp=None, dtype: str | None = None, device=None) -> tuple[Model, dict[str, Any]]:
    """The model a file holds (a training state's kept weights, or a saved model) and its metadata.

    A file of several members (``save_models``) is refused: their forecast is the average of all of
    them, which ``load_models`` gives.
    """
    models, meta = load_models(path, xp=xp, dtype=dtype, device=device)
    if len(models) > 1:
        raise CheckpointError(f"{path} holds {len(models)} models whose forecasts are averaged; load them all with load_models")
    return models[0], meta


# ----------------------------------------------------------------------------------------------
# resumable training state


@dataclass
class TrainingState:
    """Everything needed to continue a training run exactly: what a training checkpoint holds."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken
    best_val: float = math.inf  # best validation (or training) loss so far
    bad_epochs: int = 0  # epochs since it improved
    params: dict[str, Array] = field(default_factory=dict)  # weights at the end of epoch ``epoch``
    best_params: dict[str, Array] = field(default_factory=dict)  # the weights that scored best_val
    optimizer: tuple[dict, dict] = ({}, {})  # the optimizer's state_dict() at the same moment
    rng_state: dict[str, Any] = field(default_factory=dict)  # the host generator's bit_generator.state
    history: dict[str, Any] = field(default_factory=dict)  # History.to_dict()
    finished: bool = False  # the run ended; resuming only restores the kept weights


def save_training_state(path: str | Path, model: Model, train_config: dict[str, Any], state: TrainingState,
                        extra: dict[str, Any] | None = None) -> None:
    """Write ``state`` (and the model's architecture, the training configuration and ``extra``) to ``path``."""
    check_caller_meta(extra)
    opt_meta, opt_arrays = state.optimizer
    arrays = {f"param/{k}": to_numpy(v) for k, v in state.params.items()}
    arrays.update({f"best/{k}": to_numpy(v) for k, v in state.best_params.items()})
    arrays.update({f"opt/{k}": np.asarray(v) for k, v in opt_arrays.items()})
    counters = {"epoch": state.epoch, "step": state.step, "best_val": state.best_val if math.isfinite(state.best_val) else None,
                "bad_epochs": state.bad_epochs, "rng_state": state.rng_state, "history": state.history, "finished": state.finished}
    write_checkpoint(path, arrays, {**model_meta(model), "optimizer": opt_meta, "training": train_config,
                                    "trainer_state": counters, **(extra or {})})


def load_training_state(path: str | Path, model: Model) -> tuple[TrainingState, dict[str, Any]]:
    """The training state saved in ``path`` for ``model`` (its arrays placed like the model's), and the metadata.

    Refuses, with a ``CheckpointError`` naming the problem, a state written for another architecture
    and a tampered or malformed one (counters of the wrong type, a generator state NumPy would not
    accept, parameter sets that do not fit the model).
    """
    arrays, meta = read_checkpoint(path)
    saved = model_config_of(path, meta)
    if saved != model.config:
        raise CheckpointError(f"{path} was trained with model {saved}, not {model.config}; use a fresh checkpoint path")
    ref = next(iter(model.named_params().values()))
    if meta.get("dtype") is not None and str(meta["dtype"]) != str(to_numpy(ref).dtype):  # cast, it matched neither run
        raise CheckpointError(f"{path} was trained in {meta['dtype']}, and this model is {to_numpy(ref).dtype}: resume with a "
                              f"{meta['dtype']} model and data, or start afresh without --resume")
    for section in ("param", "best"):
        _check_params(path, _section(arrays, section), model.config, section)
        bad = sorted(k for k, v in _section(arrays, section).items() if not np.all(np.isfinite(v)))
        if bad:  # training from them reported a divergence, and advised a smaller learning rate
            raise CheckpointError(f"{path} holds weights that are not finite ({', '.join(bad)}): a damaged file, or a run that "
                                  "diverged; start afresh without --resume")
    ts = meta.get("trainer_state")
    problem = _trainer_state_problem(ts)
    if problem:
        raise CheckpointError(f"{path} has a corrupt training state ({problem}); start afresh without --resume")

    def placed(section: str) -> dict[str, Array]:
        return {k: like(v, ref) for k, v in _section(arrays, section).items()}

    best_val = math.inf if ts["best_val"] is None else float(ts["best_val"])
    state = TrainingState(epoch=ts["epoch"], step=ts["step"], best_val=best_val, bad_epochs=ts["bad_epochs"],
                          params=placed("param"), best_params=placed("best"),
                          optimizer=(meta.get("optimizer"), _section(arrays, "opt")), rng_state=ts["rng_state"],
                          history=ts["history"], finished=ts["finished"])
    return state, meta


def _trainer_state_problem(ts) -> str:
    """What is wrong with a saved ``trainer_state`` document, or '' when nothing is."""
    if not isinstance(ts, dict):
        return "no trainer_state object"
    for key in ("epoch", "step", "bad_epochs"):
        if not (isinstance(ts.get(key), int) and not isinstance(ts.get(key), bool) and ts[key] >= 0):
            return f"{key} is {ts.get(key)!r}, not a count"
    if not (ts.get("best_val") is None or isinstance(ts["best_val"], (int, float))):
        return f"best_val is {ts.get('best_val')!r}"
    if not isinstance(ts.get("finished"), bool):
        return "finished is not true or false"
    history = ts.get("history")
    if not isinstance(history, dict) or not all(isinstance(history.get(k), list) for k in ("train_loss", "val_loss", "grad_norm", "lr")):
        return "the history is not a set of lists"
    try:
        np.random.default_rng().bit_generator.state = ts.get("rng_state")
    except (TypeError, ValueError, KeyError) as exc:
        return f"the random generator's state is not valid ({exc})"
    return ""


__all__ = ["FORMAT_VERSION", "RESERVED_KEYS", "TrainingState", "check_caller_meta", "load_model", "load_models",
           "load_training_state", "model_config_of", "model_meta", "read_checkpoint", "save_model", "save_models", "save_training_state", "write_checkpoint"]
