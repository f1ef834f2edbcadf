"""The training loop: it learns, it is deterministic, it resumes exactly, it stops on NaN."""

import math

import numpy as np
import pytest

from scratchlstm.errors import ConfigError, TrainingDiverged
from scratchlstm.nn.model import Model, ModelConfig
from scratchlstm.train import TrainConfig, load_trained_model, train


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
        return m.params

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
    assert all(np.array_equal(full.params[k], resumed.params[k]) for k in full.params)
    assert h_res.train_loss == h_full.train_loss and h_res.val_loss == h_full.val_loss

    loaded, meta = load_trained_model(path)
    assert all(np.array_equal(loaded.params[k], full.params[k]) for k in full.params)
    assert meta["model"]["hidden_sizes"] == [6] and meta["gate_order"] == "i,f,g,o"
    assert meta["optimizer"]["name"] == "adam" and meta["training"]["epochs"] == 6


def test_nan_loss_stops_with_step_and_cause_and_keeps_good_weights(tmp_path):
    Xtr, ytr, Xva, yva = ar2_windows(n=300)
    Xtr = Xtr * 1e4  # unscaled inputs...
    model = Model.create(ModelConfig(hidden_sizes=(4,)), seed=0)
    start = dict(model.params)
    with pytest.raises(TrainingDiverged) as info:
        # ...and a huge learning rate without clipping: the loss overflows to inf or NaN
        with np.errstate(all="ignore"):
            train(model, Xtr, ytr * np.float32(1e30), Xva, yva, TrainConfig(epochs=5, lr=1e6, clip_norm=None, quiet=True), checkpoint=tmp_path / "c.npz")
    message = str(info.value)
    assert "diverged at step 1 " in message and "learning rate" in message and "unscaled inputs" in message
    assert all(np.all(np.isfinite(v)) for v in model.params.values())
    assert all(np.array_equal(model.params[k], start[k]) for k in start)
    assert (tmp_path / "c.npz").exists()
    assert info.value.history.stop_reason.startswith("training diverged")


def test_nan_gradients_after_a_good_epoch_restore_that_epoch():
    Xtr, ytr, Xva, yva = ar2_windows(n=300)
    model = Model.create(ModelConfig(hidden_sizes=(4,)), seed=0)
    kept = {}

    def poison_after_first_epoch(epoch, history):
        kept.update(model.params)
        model.params["lstm0.W_h"] = model.params["lstm0.W_h"] * np.float32(np.nan)

    with pytest.raises(TrainingDiverged, match=r"at step \d+ \(epoch 2\).*Kept the best weights so far \(epoch 1\)"):
        train(model, Xtr, ytr, Xva, yva, TrainConfig(epochs=3, quiet=True), on_epoch_end=poison_after_first_epoch)
    assert all(np.array_equal(model.params[k], kept[k]) for k in kept)


def test_early_stopping_restores_best_weights():
    Xtr, ytr, Xva, yva = ar2_windows(n=300)
    model = Model.create(ModelConfig(hidden_sizes=(8,)), seed=0)
    snapshots = []
    history = train(model, Xtr, ytr, Xva, yva, TrainConfig(epochs=60, lr=3e-2, patience=2, quiet=True),
                    on_epoch_end=lambda e, h: snapshots.append(dict(model.params)))
    assert history.stop_reason.startswith("early stop")
    best = history.best_epoch
    assert best == int(np.argmin(history.val_loss))
    assert all(np.array_equal(model.params[k], snapshots[best][k]) for k in model.params)


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
        (dict(lr=0.0), "learning rate must be a positive"),
        (dict(lr=-1e-3), "learning rate must be a positive"),
        (dict(optimizer="lbfgs"), "choose one of sgd, rmsprop, adam, adamw"),
        (dict(loss="hinge"), "choose one of mse, mae, huber"),
        (dict(epochs=0), "epochs must be at least 1"),
        (dict(batch_size=0), "batch size"),
        (dict(schedule="linear"), "choose one of constant, cosine, step"),
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
    with pytest.raises(ConfigError, match="X is float64 but the model is float32"):
        train(Model.create(ModelConfig(hidden_sizes=(3,)), seed=0), Xtr.astype(np.float64), ytr, config=TrainConfig(epochs=1, quiet=True))


def test_keep_initial_keeps_an_untrained_model_unless_training_is_significantly_better():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 8, 1)).astype(np.float32)  # pure noise: nothing to learn
    y = rng.standard_normal((300, 1)).astype(np.float32)
    config = ModelConfig(hidden_sizes=(4,), head_init="zeros")
    model = Model.create(config, seed=0)
    start = dict(model.params)
    history = train(model, X[:200], y[:200], X[200:], y[200:], TrainConfig(epochs=5, lr=1e-2, keep_initial=True, quiet=True))
    assert history.initial_val_loss is not None
    assert history.best_epoch == -1 and "kept the untrained weights" in history.stop_reason
    assert all(np.array_equal(model.params[k], start[k]) for k in start)
    Xs, ys, Xv, yv = ar2_windows(n=300)  # with something to learn, training wins
    learner = Model.create(config, seed=0)
    h = train(learner, Xs, ys, Xv, yv, TrainConfig(epochs=5, lr=1e-2, keep_initial=True, quiet=True))
    assert h.best_epoch >= 0 and h.val_loss[h.best_epoch] < h.initial_val_loss
    assert not np.array_equal(learner.params["head.W"], 0 * learner.params["head.W"])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_in_either_dtype_raises_no_floating_point_warnings(dtype):
    # pytest turns warnings into errors (pyproject.toml), so any overflow warning fails this test
    Xtr, ytr, Xva, yva = (a.astype(dtype) for a in ar2_windows(n=200))
    model = Model.create(ModelConfig(hidden_sizes=(5, 4), dropout=0.1), seed=0, dtype=dtype)
    history = train(model, Xtr, ytr, Xva, yva, TrainConfig(epochs=3, lr=1e-2, quiet=True))
    assert all(np.isfinite(history.train_loss)) and model.params["head.W"].dtype == np.dtype(dtype)


def test_resume_mid_run_keeps_judging_against_the_true_untrained_weights(tmp_path):
    from scratchlstm.io import load_checkpoint

    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 8, 1)).astype(np.float32)  # pure noise: the untrained model should be kept
    y = rng.standard_normal((300, 1)).astype(np.float32)
    config = ModelConfig(hidden_sizes=(4,), head_init="zeros")
    cfg = TrainConfig(epochs=4, lr=1e-2, keep_initial=True, patience=None, quiet=True)
    untrained = Model.create(config, seed=0)
    full = Model.create(config, seed=0)
    h_full = train(full, X[:200], y[:200], X[200:], y[200:], cfg)
    assert h_full.best_epoch == -1 and all(np.array_equal(full.params[k], untrained.params[k]) for k in full.params)

    def stop(epoch, history):
        if epoch == 1:
            raise KeyboardInterrupt

    path = tmp_path / "c.npz"
    with pytest.raises(KeyboardInterrupt):
        train(Model.create(config, seed=0), X[:200], y[:200], X[200:], y[200:], cfg, checkpoint=path, on_epoch_end=stop)
    arrays, _ = load_checkpoint(path)
    assert all(np.array_equal(arrays[f"init/{k}"], untrained.params[k]) for k in untrained.params)
    resumed = Model.create(config, seed=7)
    h_res = train(resumed, X[:200], y[:200], X[200:], y[200:], cfg, checkpoint=path, resume=True)
    assert h_res.best_epoch == -1
    assert all(np.array_equal(resumed.params[k], untrained.params[k]) for k in untrained.params)
