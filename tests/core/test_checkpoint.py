"""Checkpoints: round trip, and every kind of bad file refused, before it is decompressed, with a message that says why."""

import io
import json
import os
import pickle
import time
import zipfile

import numpy as np
import pytest

from scratchlstm.checkpoint import (FORMAT_VERSION, load_model, load_training_state, read_checkpoint, save_model,
                                    save_models, write_checkpoint)
from scratchlstm.errors import CheckpointError
from scratchlstm.io import atomic_write, atomic_write_text
from scratchlstm.nn.model import Model, ModelConfig
from scratchlstm.train import TrainConfig, train


@pytest.fixture
def checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5, 1)).astype(np.float32), rng.normal(size=(40, 1)).astype(np.float32)
    path = tmp_path / "model.npz"
    model = Model.create(ModelConfig(hidden_sizes=(4,)), seed=0)
    train(model, X, y, config=TrainConfig(epochs=2, quiet=True), checkpoint=path, checkpoint_meta={"scaling": {"mean": 1.5}})
    return path, model


def _rewrite(path, out, change):
    """Copy the zip ``path`` to ``out`` with ``change(members)`` applied to its {name: bytes} members."""
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    change(members)
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out


def _meta_bytes(meta: dict) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    return buffer.getvalue()


def test_round_trip(checkpoint):
    path, model = checkpoint
    loaded, meta = load_model(path)
    assert loaded.config == model.config
    assert all(np.array_equal(loaded.named_params()[k], v) for k, v in model.named_params().items())
    assert meta["scaling"] == {"mean": 1.5} and meta["dtype"] == "float32"
    assert loaded.head["W"].dtype == np.float32
    arrays, meta = read_checkpoint(path)
    assert meta["format_version"] == FORMAT_VERSION and "arrays" not in meta  # the manifest is checked, then dropped


def test_saved_model_round_trip(tmp_path):
    model = Model.create(ModelConfig(cell="gru", hidden_sizes=(3, 2), output_size=2), seed=4, dtype="float64")
    save_model(tmp_path / "m.npz", model, {"note": "x"})
    loaded, meta = load_model(tmp_path / "m.npz")
    assert meta["note"] == "x" and loaded.config.cell == "gru"
    assert all(np.array_equal(loaded.named_params()[k], v) for k, v in model.named_params().items())


def _train_one_epoch(path, meta):
    X, y = np.zeros((8, 5, 1), np.float32), np.zeros((8, 1), np.float32)
    train(Model.create(ModelConfig(hidden_sizes=(3,)), seed=0), X, y, config=TrainConfig(epochs=1, quiet=True),
          checkpoint=path, checkpoint_meta=meta)


@pytest.mark.parametrize("save, key", [
    (lambda path, meta: save_model(path, Model.create(ModelConfig(hidden_sizes=(3,)), seed=0), meta), "model"),
    (lambda path, meta: save_model(path, Model.create(ModelConfig(hidden_sizes=(3,)), seed=0), meta), "dtype"),
    (lambda path, meta: save_model(path, Model.create(ModelConfig(hidden_sizes=(3,)), seed=0), meta), "members"),
    (lambda path, meta: save_model(path, Model.create(ModelConfig(hidden_sizes=(3,)), seed=0), meta), "format"),
    (lambda path, meta: write_checkpoint(path, {"a": np.zeros(2)}, meta), "arrays"),
    (_train_one_epoch, "training"),
    (_train_one_epoch, "optimizer"),
    (_train_one_epoch, "trainer_state"),
], ids=["save_model-model", "save_model-dtype", "save_model-members", "save_model-format", "write_checkpoint-arrays",
        "train-training", "train-optimizer", "train-trainer_state"])
def test_metadata_that_uses_the_files_own_keys_is_refused_when_saving(tmp_path, save, key):
    """The caller's key replaced the file's own: the save succeeded and every load then refused the file."""
    path = tmp_path / "m.npz"
    with pytest.raises(CheckpointError, match=f"the metadata uses the checkpoint's own key '{key}'"):
        save(path, {key: "mine", "note": "fine"})
    assert not path.exists()


def test_save_models_refuses_members_of_different_dtypes(tmp_path):
    """The file records one dtype (member 0's), and loading refused member 1's arrays."""
    config = ModelConfig(hidden_sizes=(3,))
    members = [Model.create(config, seed=0, dtype="float32"), Model.create(config, seed=1, dtype="float64")]
    with pytest.raises(CheckpointError, match="members must share one dtype: member 0 is float32, member 1 is float64"):
        save_models(tmp_path / "ens.npz", members)
    assert not (tmp_path / "ens.npz").exists()


def test_truncated_file_is_refused(checkpoint, tmp_path):
    path, _ = checkpoint
    data = path.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or not a checkpoint"):
        load_model(bad)


def test_an_extra_member_is_refused_before_anything_is_decompressed(checkpoint, tmp_path):
    """A big compressed member (here 400 MB of zeros, 0.4 MB on disk) is never decompressed."""
    path, _ = checkpoint
    bad = tmp_path / "extra.npz"
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    with zipfile.ZipFile(bad, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        with z.open("bomb.npy", "w") as f:  # streamed, so the test itself never holds 400 MB
            np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (50_000_000,)})
            zero = bytes(1 << 20)
            for _ in range(400):
                f.write(zero)
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match=r"members not declared \['bomb'\]"):
        read_checkpoint(bad)
    assert time.perf_counter() - start < 0.5


def test_declared_sizes_must_fit_the_manifest(checkpoint, tmp_path):
    path, _ = checkpoint
    name = "param/lstm0.W_h.npy"
    bigger = np.zeros((400, 16), np.float32)  # the manifest says (4, 16)
    buffer = io.BytesIO()
    np.save(buffer, bigger)
    bad = _rewrite(path, tmp_path / "size.npz", lambda m: m.__setitem__(name, buffer.getvalue()))
    with pytest.raises(CheckpointError, match="does not fit"):
        read_checkpoint(bad)


def test_a_header_that_disagrees_with_the_manifest_is_refused(checkpoint, tmp_path):
    path, _ = checkpoint
    name = "param/lstm0.W_h.npy"
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((16, 4), np.float32))  # same size, other shape
    bad = _rewrite(path, tmp_path / "shape.npz", lambda m: m.__setitem__(name, buffer.getvalue()))
    with pytest.raises(CheckpointError, match=r"manifest says <f4 \(4, 16\)"):
        read_checkpoint(bad)


@pytest.mark.parametrize("meta, message", [
    ([1, 2, 3], "a JSON list, not an object"),
    (None, "a JSON NoneType, not an object"),
    ({"format": "scratchlstm-checkpoint", "format_version": 99}, "format version 99; this scratchlstm reads versions 2, 3"),
    ({"format": "something else"}, "format 'something else'"),
    ({"format": "scratchlstm-checkpoint", "format_version": 2, "arrays": "all of them"}, "corrupt array manifest"),
    ({"format": "scratchlstm-checkpoint", "format_version": 2, "arrays": {"a": {"shape": [-1], "dtype": "<f4"}}}, "corrupt array manifest"),
    ({"format": "scratchlstm-checkpoint", "format_version": 2, "arrays": {"a": {"shape": [2], "dtype": "|O"}}}, "corrupt array manifest"),
])
def test_malformed_metadata_is_refused(tmp_path, meta, message):
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__meta__.npy", _meta_bytes(meta))
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(path)


def test_deeply_nested_metadata_is_refused(tmp_path):
    path = tmp_path / "deep.npz"
    with zipfile.ZipFile(path, "w") as z:
        buffer = io.BytesIO()
        np.save(buffer, np.frombuffer(("[" * 100_000 + "]" * 100_000).encode(), dtype=np.uint8))
        z.writestr("__meta__.npy", buffer.getvalue())
    with pytest.raises(CheckpointError, match="corrupt metadata"):
        read_checkpoint(path)


@pytest.mark.parametrize("key, value, message", [
    ("epoch", "three", "epoch is 'three', not a count"),
    ("step", -1, "step is -1, not a count"),
    ("rng_state", {"bit_generator": "PCG64"}, "random generator's state is not valid"),
    ("history", [1, 2], "history is not a set of lists"),
    ("finished", "yes", "finished is not true or false"),
])
def test_a_tampered_training_state_is_refused(checkpoint, tmp_path, key, value, message):
    path, model = checkpoint
    arrays, meta = read_checkpoint(path)
    meta["trainer_state"][key] = value
    bad = tmp_path / "tampered.npz"
    write_checkpoint(bad, arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    with pytest.raises(CheckpointError, match=message):
        load_training_state(bad, Model.create(model.config, seed=0))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_training_state_with_weights_that_are_not_finite_is_refused(checkpoint, tmp_path, bad):
    """A NaN in a saved W_h was resumed, and training then reported a divergence with advice on the learning rate."""
    path, model = checkpoint
    arrays, meta = read_checkpoint(path)
    name = next(k for k in arrays if k.startswith("param/") and k.endswith("W_h"))
    arrays[name] = arrays[name].copy()
    arrays[name].flat[0] = bad
    broken = tmp_path / "broken.npz"
    write_checkpoint(broken, arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    with pytest.raises(CheckpointError, match=r"holds weights that are not finite \(.*W_h\): a damaged file, or a run that diverged"):
        load_training_state(broken, Model.create(model.config, seed=0))


def test_other_format_version_is_refused(tmp_path):
    path = tmp_path / "v.npz"
    np.savez(path, __meta__=np.frombuffer(json.dumps({"format": "scratchlstm-checkpoint", "format_version": 1}).encode(), dtype=np.uint8))
    with pytest.raises(CheckpointError, match="format version 1; this scratchlstm reads versions 2, 3"):
        read_checkpoint(path)


def test_pickled_payloads_are_refused_without_running_them(tmp_path):
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    npz = tmp_path / "evil.npz"
    np.savez(npz, __meta__=np.array([Exploit()], dtype=object))
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(Exploit()))
    for path in (npz, raw):
        with pytest.raises(CheckpointError, match="pickle"):
            read_checkpoint(path)
    assert not marker.exists()


def test_mismatched_shapes_are_named(checkpoint, tmp_path):
    path, _ = checkpoint
    arrays, meta = read_checkpoint(path)
    arrays["best/lstm0.W_h"] = np.zeros((3, 3), dtype=np.float32)
    bad = tmp_path / "bad.npz"
    write_checkpoint(bad, arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    with pytest.raises(CheckpointError, match=r"lstm0.W_h has shape \(3, 3\), expected \(4, 16\)"):
        load_model(bad)


def test_resume_with_other_architecture_is_refused(checkpoint):
    path, _ = checkpoint
    X, y = np.zeros((10, 5, 1), np.float32), np.zeros((10, 1), np.float32)
    with pytest.raises(CheckpointError, match="was trained with model"):
        train(Model.create(ModelConfig(hidden_sizes=(7,)), seed=0), X, y, config=TrainConfig(epochs=3, quiet=True), checkpoint=path, resume=True)


def test_not_a_checkpoint_and_missing_file(tmp_path):
    text = tmp_path / "prices.csv"
    text.write_text("Date,Close\n2020-01-01,1\n")
    with pytest.raises(CheckpointError, match="not an .npz archive"):
        read_checkpoint(text)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "nope.npz")


def test_interrupted_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    atomic_write_text(target, "old")

    def failing(f):
        f.write("half of the new conte")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, failing)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_written_files_respect_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        import importlib

        import scratchlstm.io as io_module

        importlib.reload(io_module)  # the umask is read at import
        io_module.atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
        importlib.reload(io_module)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640


def test_a_folder_or_a_damaged_fit_state_gets_the_advice_that_applies(tmp_path):
    """A run's folder given to predict said "does not exist"; a damaged fit-0-1.npz met by --resume got predict's advice."""
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(CheckpointError, match=r"checkpoint .*run is a folder; give the model.npz a forecast run wrote"):
        read_checkpoint(run)
    (run / "model.npz").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"is a folder; give the model file inside it, .*run/model.npz"):
        read_checkpoint(run)
    panel = tmp_path / "panel-out"
    (panel / "models").mkdir(parents=True)
    for name in ("b", "a", "c", "d"):
        (panel / "models" / f"{name}.npz").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"panel-out is a folder; a panel's folder holds one model file per series in "
                                              r".*panel-out/models \(a.npz, b.npz, c.npz, \.\.\.\): give one of them"):
        read_checkpoint(panel)
    (run / "fit-0-1.npz").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match=r"it is a fit's training state, damaged: run without --resume to start afresh"):
        read_checkpoint(run / "fit-0-1.npz")


def test_a_second_stop_during_the_cleanup_of_a_write_still_removes_its_temporary_file(tmp_path, monkeypatch):
    """Ctrl-C to the group stopped a worker's checkpoint write; the parent's SIGTERM then came inside the cleanup, and
    the temporary file stayed behind (the stop's exit code was right; a .tmp was left in checkpoints/)."""
    import os

    from scratchlstm import io

    unlink, calls = os.unlink, []

    def stopped_once(path):
        calls.append(path)
        if len(calls) == 1:
            raise KeyboardInterrupt  # the second stop, arriving as the cleanup removes the file
        unlink(path)

    def write(f):
        f.write("half")
        raise KeyboardInterrupt  # the first stop, in the middle of the write

    monkeypatch.setattr(io.os, "unlink", stopped_once)
    with pytest.raises(KeyboardInterrupt):
        io.atomic_write(tmp_path / "state.npz", write)
    assert len(calls) == 2 and list(tmp_path.iterdir()) == []


def test_a_stop_while_the_temporary_file_is_made_leaves_no_file(tmp_path, monkeypatch):
    """SIGTERM during a checkpoint write left an empty .fit-0-0.npz.*.tmp beside the saved states, about 1 run in 12
    under load: the stop came while the file was created (mkstemp), before the write knew the name to remove."""
    import os
    import signal

    from scratchlstm import io

    made, real_open = [], os.open

    def stopped_as_made(path, flags, mode=0o777, **kwargs):
        made.append(path)
        fd = real_open(path, flags, mode, **kwargs)
        signal.raise_signal(signal.SIGINT)  # Ctrl-C, arriving as the file is created
        return fd

    monkeypatch.setattr(io.os, "open", stopped_as_made)
    with pytest.raises(KeyboardInterrupt):
        io.atomic_write(tmp_path / "state.npz", lambda f: f.write("state"))
    assert len(made) == 1 and list(tmp_path.iterdir()) == []
