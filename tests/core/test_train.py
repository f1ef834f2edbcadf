"""The training loop: it learns, it is deterministic, it resumes exactly, it stops on NaN."""

import math

import numpy as np
import pytest

from scratchlstm.checkpoint import load_model
from scratchlstm.errors import ConfigError, DtypeError, TrainingDiverged
from scratchlstm.nn.model import Model, ModelConfig
from scratchlstm.train import TrainConfig, train
from tests.helpers import ENGINES


def ar2_windows(n=900, window=12, seed=0):
    """Windows of an AR(2) series x_t = 1.6 x_{t-1} - 0.8 x_{t-2} + noise (strongly predictable)."""
    rng = np.random.default_rng(seed)
    s = np.zeros(n)
    for t in range(2, n):
        s[t] = 1.6 * s[t - 1] - 0.8 * s[t - 2] + 0.3 * rng.standard_normal()
    s = s / s.std()
    X = np.stack([s[i : i + window] for i in range(n - window)])[:, :, None]
    y = s[window:][:, None]
    cut = int(0.75 * len(X))
    X, y = X.astype(np.float32), y.astype(np.float32)
    return X[:cut], y[:cut], X[cut:], y[cut:]


def test_small_model_beats_naive_on_ar2_quickly():
    Xtr, ytr, Xva, yva = ar2_windows()
    model = Model.create(ModelConfig(hidden_sizes=(16,)), seed=0)
    history = train(model, Xtr, ytr, Xva, yva, TrainConfig(epochs=30, lr=1e-2, quiet=True))
    val_mse = float(np.mean((model.predict(Xva) - yva) ** 2))
    naive_mse = float(np.mean((Xva[:, -1, :] - yva) ** 2))
    assert val_mse < 0.5 * naive_mse, (val_mse, naive_mse)
    assert history.val_loss[history.best_epoch] == pytest.approx(val_mse, rel=1e-5)
    assert len(history.grad_norm) == 30 * math.ceil(len(Xtr) / 64) or history.stop_reason.startswith("early")


def test_same_seed_is_bit_identical_and_other_seed_differs():
    Xtr, ytr, Xva, yva = ar2_windows(n=300)
    cfg = TrainConfig(epochs=3, lr=1e-2, quiet=True)

    def run(seed):
        m = Model.create(ModelConfig(hidden_sizes=(6, 5), dropout=0.2), seed=1)
        train(m, Xtr, ytr, Xva, yva, TrainConfig(**{**cfg.__dict__, "seed": seed}))
        return m.named_params()

    a, b, c = run(0), run(0), run(1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_resume_after_interrupt_equals_uninterrupted_run(tmp_path):
    Xtr, ytr, Xva, yva = ar2_windows(n=300)
    cfg = TrainConfig(epochs=6, lr=1e-2, optimizer="adam", schedule="cosine", patience=None, quiet=True)
    mc = ModelConfig(hidden_sizes=(6,), dropout=0.1)

    full = Model.create(mc, seed=3)
    h_full = train(full, Xtr, ytr, Xva, yva, cfg)

    def interrupt_after_third(epoch, history):
        if epoch == 2:
            raise KeyboardInterrupt

    path = tmp_path / "run.npz"
    part = Model.create(mc, seed=3)
    with pytest.raises(KeyboardInterrupt):
        train(part, Xtr, ytr, Xva, yva, cfg, checkpoint=path, on_epoch_end=interrupt_after_third)
    assert path.exists() and not list(tmp_path.glob(".*tmp"))

    resumed = Model.create(mc, seed=99)  # different initial weights: the checkpoint must win
    h_res = train(resumed, Xtr, ytr, Xva, yva, cfg, checkpoint=path, resume=True)
    full_params, resumed_params = full.named_params(), resumed.named_params()
    assert all(np.array_equal(full_params[k], resumed_params[k]) for k in full_params)
    assert h_res.train_loss == h_full.train_loss and h_res.val_loss == h_full.val_loss

    loaded, meta = load_model(path)
    assert all(np.array_equal(loaded.named_params()[k], full_params[k]) for k in full_params)
    assert meta["model"]["hidden_sizes"] == [6] and meta["model"]["cell"] == "lstm"
    assert meta["optimizer"]["name"] == "adam" and meta["training"]["epochs"] == 6


def test_nan_loss_stops_with_step_and_cause_and_keeps_good_weights(tmp_path):
    Xtr, ytr, Xva, yva = ar2_windows(n=300)
    Xtr = Xtr * 1e4  # unscaled inputs...
    model = Model.create(ModelConfig(hidden_sizes=(4,)), seed=0)
    start = model.named_params()
    with pytest.raises(TrainingDiverged) as info:
        # ...and a huge learning rate without clipping: the loss overflows to inf or NaN
        with np.errstate(all="ignore"):
            train(model, Xtr, ytr * np.float32(1e30), Xva, yva, TrainConfig(epochs=5, lr=1e6, clip_norm=None, quiet=True), checkpoint=tmp_path / "c.npz")
    message = str(info.value)
    # at step 1 no update has happened, so the learning rate is no cause: the data are (it had been blamed)
    assert "diverged at step 1 " in message and "unscaled inputs" in message and "unscaled targets" in message
    assert "before any update" in message and "learning rate" not in message
    assert all(np.all(np.isfinite(v)) for v in model.named_params().values())
    assert all(np.array_equal(model.named_params()[k], start[k]) for k in start)
    assert (tmp_path / "c.npz").exists()
    assert info.value.history.stop_reason.startswith("training diverged")


def test_a_validation_loss_that_overflows_stops_training_rather_than_restoring_the_untrained_weights():
    """Targets of 3e19 overflow float32's squared error on validation alone: no epoch was ever best (inf < inf is
    false), and the untrained weights came back under "early stop: no validation improvement"."""
    Xtr, ytr, Xva, yva = ar2_windows(n=300)
    model = Model.create(ModelConfig(hidden_sizes=(4,)), seed=0)
    with pytest.raises(TrainingDiverged, match=r"the validation loss is inf at epoch 1, the training loss [\d.]+: the validation data "
                                               r"overflow the loss in float32 \(largest \|x\| = .*, \|y\| = 3e\+19\); scale the data"):
        train(model, Xtr, ytr, Xva, (Xva[:, -1, :] * 0 + 3e19).astype(np.float32), TrainConfig(epochs=15, patience=3, quiet=True))


def test_nan_gradients_after_a_good_epoch_restore_that_epoch():
    Xtr, ytr, Xva, yva = ar2_windows(n=300)
    model = Model.create(ModelConfig(hidden_sizes=(4,)), seed=0)
    kept = {}

    def poison_after_first_epoch(epoch, history):
        kept.update(model.named_params())
        model.layers[0]["W_h"] = model.layers[0]["W_h"] * np.float32(np.nan)

    with pytest.raises(TrainingDiverged, match=r"at step \d+ \(epoch 2\).*Kept the best weights so far \(epoch 1\)"):
        train(model, Xtr, ytr, Xva, yva, TrainConfig(epochs=3, quiet=True), on_epoch_end=poison_after_first_epoch)
    assert all(np.array_equal(model.named_params()[k], kept[k]) for k in kept)


def test_early_stopping_restores_best_weights():
    Xtr, ytr, Xva, yva = ar2_windows(n=300)
    model = Model.create(ModelConfig(hidden_sizes=(8,)), seed=0)
    snapshots = []
    history = train(model, Xtr, ytr, Xva, yva, TrainConfig(epochs=60, lr=3e-2, patience=2, quiet=True),
                    on_epoch_end=lambda e, h: snapshots.append(model.named_params()))
    assert history.stop_reason.startswith("early stop")
    best = history.best_epoch
    assert best == int(np.argmin(history.val_loss))
    assert all(np.array_equal(v, snapshots[best][k]) for k, v in model.named_params().items())


def test_truncated_bptt_carries_state_between_chunks():
    rng = np.random.default_rng(0)
    t = np.arange(600)
    s = np.sin(2 * np.pi * t / 40) + 0.05 * rng.standard_normal(600)
    X, y = s[None, :-1, None].astype(np.float32), s[None, 1:, None].astype(np.float32)  # target = next value
    model = Model.create(ModelConfig(hidden_sizes=(12,), head="all"), seed=0)
    history = train(model, X, y, config=TrainConfig(epochs=15, lr=1e-2, tbptt=50, quiet=True))
    assert len(history.grad_norm) == 15 * math.ceil(599 / 50)
    pred = model.predict(X)
    assert float(np.mean((pred - y) ** 2)) < 0.25 * float(np.mean((X - y) ** 2))
    with pytest.raises(ConfigError, match="head='all'"):
        train(Model.create(ModelConfig(hidden_sizes=(3,)), seed=0), X, y[:, -1, :], config=TrainConfig(tbptt=10, quiet=True))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=0.0), "lr must be above 0, got 0.0"),
        (dict(lr=-1e-3), "lr must be above 0"),
        (dict(lr=float("nan")), "lr must be a finite number"),
        (dict(optimizer="lbfgs"), "unknown optimizer 'lbfgs'; choose one of sgd, rmsprop, adam, adamw"),
        (dict(loss="hinge"), "choose one of mse, mae, huber"),
        (dict(epochs=0), "epochs must be at least 1, got 0"),
        (dict(epochs=2.5), "epochs must be an integer, got 2.5"),
        (dict(batch_size=0), "batch_size must be at least 1"),
        (dict(schedule="linear"), "choose one of constant, cosine, step"),
        (dict(seed=-1), "seed must be at least 0"),
        (dict(engine="turbo"), "unknown engine 'turbo'; choose one of reference, fast"),
        (dict(clip_norm=0), "clip_norm must be above 0"),
    ],
)
def test_bad_training_configs_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**kwargs)


def test_progress_bar_is_silent_when_quiet(capsys):
    Xtr, ytr, _, _ = ar2_windows(n=100)
    train(Model.create(ModelConfig(hidden_sizes=(3,)), seed=0), Xtr, ytr, config=TrainConfig(epochs=2, quiet=True))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    train(Model.create(ModelConfig(hidden_sizes=(3,)), seed=0), Xtr, ytr, config=TrainConfig(epochs=2, log_every=1))
    assert "epoch 2/2: training loss" in capsys.readouterr().err


def test_mixed_dtypes_are_refused():
    Xtr, ytr, _, _ = ar2_windows(n=100)
    with pytest.raises(DtypeError, match="X is float64 but the model is float32"):
        train(Model.create(ModelConfig(hidden_sizes=(3,)), seed=0), Xtr.astype(np.float64), ytr, config=TrainConfig(epochs=1, quiet=True))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_in_either_dtype_raises_no_floating_point_warnings(dtype):
    # pytest turns warnings into errors (pyproject.toml), so any overflow warning fails this test
    Xtr, ytr, Xva, yva = (a.astype(dtype) for a in ar2_windows(n=200))
    model = Model.create(ModelConfig(hidden_sizes=(5, 4), dropout=0.1), seed=0, dtype=dtype)
    history = train(model, Xtr, ytr, Xva, yva, TrainConfig(epochs=3, lr=1e-2, quiet=True))
    assert all(np.isfinite(history.train_loss)) and all(v.dtype == np.dtype(dtype) for v in model.named_params().values())


@pytest.mark.parametrize("engine", ENGINES)
def test_both_engines_train_to_the_same_weights(engine):
    """The engine is a choice of speed, never of result: a few epochs in float64 agree to rounding."""
    Xtr, ytr, Xva, yva = (a.astype("float64") for a in ar2_windows(n=200))
    models = {}
    for e in ("reference", engine):
        models[e] = Model.create(ModelConfig(hidden_sizes=(5,), dropout=0.1), seed=0, dtype="float64")
        train(models[e], Xtr, ytr, Xva, yva, TrainConfig(epochs=2, lr=1e-2, quiet=True, engine=e))
    ref, other = models["reference"].named_params(), models[engine].named_params()
    assert all(np.allclose(ref[k], other[k], rtol=1e-9, atol=1e-12) for k in ref)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_other_cells_train(cell):
    Xtr, ytr, Xva, yva = ar2_windows(n=300)
    model = Model.create(ModelConfig(cell=cell, hidden_sizes=(8,)), seed=0)
    history = train(model, Xtr, ytr, Xva, yva, TrainConfig(epochs=8, lr=1e-2, quiet=True))
    assert history.val_loss[history.best_epoch] < history.val_loss[0]


def test_a_resume_from_a_path_with_no_state_yet_says_it_starts_from_the_first_epoch(tmp_path, capsys):
    """A mistyped path started a fresh run without a word, which looked like a resume."""
    Xtr, ytr, _, _ = ar2_windows(n=120)
    model = Model.create(ModelConfig(hidden_sizes=(3,)), seed=0)
    path = tmp_path / "typo.npz"
    train(model, Xtr, ytr, config=TrainConfig(epochs=1, quiet=False), checkpoint=path, resume=True)
    assert f"no training state at {path} yet: training from the first epoch" in capsys.readouterr().err
    train(model, Xtr, ytr, config=TrainConfig(epochs=1, quiet=False), checkpoint=path, resume=True)  # now there is one
    assert "no training state" not in capsys.readouterr().err
