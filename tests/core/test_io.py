"""Checkpoints: round trip, and every kind of bad file refused with a message that says why."""

import json
import os
import pickle

import numpy as np
import pytest

from scratchlstm.errors import CheckpointError
from scratchlstm.io import FORMAT_VERSION, atomic_write_text, load_checkpoint, save_checkpoint
from scratchlstm.nn.model import Model, ModelConfig
from scratchlstm.train import TrainConfig, load_trained_model, train


@pytest.fixture
def checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5, 1)).astype(np.float32), rng.normal(size=(40, 1)).astype(np.float32)
    path = tmp_path / "model.npz"
    model = Model.create(ModelConfig(hidden_sizes=(4,)), seed=0)
    train(model, X, y, config=TrainConfig(epochs=2, quiet=True), checkpoint=path, checkpoint_meta={"scaling": {"mean": 1.5}})
    return path, model


def test_round_trip(checkpoint):
    path, model = checkpoint
    loaded, meta = load_trained_model(path)
    assert loaded.config == model.config
    assert all(np.array_equal(loaded.params[k], model.params[k]) for k in model.params)
    assert meta["format_version"] == FORMAT_VERSION and meta["scaling"] == {"mean": 1.5}
    assert meta["dtype"] == "float32" and loaded.params["head.W"].dtype == np.float32


def test_truncated_file_is_refused(checkpoint, tmp_path):
    path, _ = checkpoint
    data = path.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or not a checkpoint"):
        load_trained_model(bad)


def test_other_format_version_is_refused(tmp_path):
    path = tmp_path / "v.npz"
    blob = np.frombuffer(json.dumps({"format": "scratchlstm-checkpoint", "format_version": 99}).encode(), dtype=np.uint8)
    np.savez(path, __meta__=blob)
    with pytest.raises(CheckpointError, match="format version 99; this scratchlstm reads version 1"):
        load_checkpoint(path)


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
            load_checkpoint(path)
    assert not marker.exists()


def test_mismatched_shapes_are_named(checkpoint, tmp_path):
    path, _ = checkpoint
    arrays, meta = load_checkpoint(path)
    arrays["best/lstm0.W_h"] = np.zeros((3, 3), dtype=np.float32)
    bad = tmp_path / "bad.npz"
    save_checkpoint(bad, arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    with pytest.raises(CheckpointError, match=r"lstm0.W_h has shape \(3, 3\), expected \(4, 16\)"):
        load_trained_model(bad)


def test_resume_with_other_architecture_is_refused(checkpoint):
    path, _ = checkpoint
    X, y = np.zeros((10, 5, 1), np.float32), np.zeros((10, 1), np.float32)
    with pytest.raises(CheckpointError, match="was trained with model"):
        train(Model.create(ModelConfig(hidden_sizes=(7,)), seed=0), X, y, config=TrainConfig(epochs=3, quiet=True), checkpoint=path, resume=True)


def test_not_a_checkpoint_and_missing_file(tmp_path):
    text = tmp_path / "prices.csv"
    text.write_text("Date,Close\n2020-01-01,1\n")
    with pytest.raises(CheckpointError):
        load_checkpoint(text)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.npz")


def test_interrupted_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    atomic_write_text(target, "old")

    def failing(f):
        f.write("half of the new conte")
        raise KeyboardInterrupt

    from scratchlstm.io import atomic_write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, failing)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
