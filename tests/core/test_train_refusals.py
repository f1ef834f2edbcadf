"""What ``train`` refuses before it trains, with one line that names the array or the setting: data that are not
arrays, not finite or empty, half a validation set, and a resume with other settings than the checkpoint's."""

import numpy as np
import pytest

from scratchlstm.errors import CheckpointError, ConfigError, DataError
from scratchlstm.nn.model import Model, ModelConfig
from scratchlstm.train import TrainConfig, train

QUICK = TrainConfig(epochs=2, quiet=True)


def _data(n=24, T=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, T, 1)).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)


def _model():
    return Model.create(ModelConfig(hidden_sizes=(3,)), seed=0)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("name, index", [("X", (5, 2, 0)), ("y", (7, 0)), ("X_val", (1, 4, 0)), ("y_val", (3, 0))])
def test_data_that_are_not_finite_are_refused_naming_the_array_and_the_first_index(name, index, value):
    """A NaN in X was blamed on the learning rate, and one in y_val gave NaN validation losses, so that no epoch was
    kept and the untrained weights came back without a word."""
    X, y = _data()
    arrays = {"X": X, "y": y, "X_val": X[:8].copy(), "y_val": y[:8].copy()}
    arrays[name][index] = value
    later = tuple(i + 1 for i in index[:1]) + index[1:]  # a second bad value after the first: the first is named
    arrays[name][later] = np.nan
    model = _model()
    before = model.named_params()
    with pytest.raises(DataError) as info:
        train(model, arrays["X"], arrays["y"], arrays["X_val"], arrays["y_val"], QUICK)
    where = f"{name}[{', '.join(map(str, index))}] (sample {index[0]})"
    assert f"{name} holds 2 values that are not finite, the first {value} at {where}" in str(info.value)
    assert "\n" not in str(info.value)
    assert all(np.array_equal(v, before[k]) for k, v in model.named_params().items())  # refused before training


@pytest.mark.parametrize("given, missing", [("X_val", "y_val"), ("y_val", "X_val")])
def test_half_a_validation_set_is_refused(given, missing):
    """``X_val`` without ``y_val`` trained without validation, and said nothing."""
    X, y = _data()
    val = {"X_val": X[:4], "y_val": y[:4]}
    with pytest.raises(ConfigError, match=f"^{given} was given without {missing}: pass both to validate, or neither$"):
        train(_model(), X, y, config=QUICK, **{given: val[given]})


@pytest.mark.parametrize("name", ["X", "y", "X_val", "y_val"])
def test_data_that_are_not_arrays_are_refused_with_the_cast(name):
    """Python lists failed as "'list' object has no attribute 'shape'"."""
    X, y = _data()
    arrays = {"X": X, "y": y, "X_val": X[:4], "y_val": y[:4]}
    arrays[name] = arrays[name].tolist()
    with pytest.raises(TypeError, match=rf"^{name} must be an array, got a list; make one with np.asarray\({name}, dtype='float32'\)"):
        train(_model(), arrays["X"], arrays["y"], arrays["X_val"], arrays["y_val"], QUICK)


def test_a_pandas_series_is_refused_with_the_cast():
    """It has a shape and a dtype, and failed later as 'Series is not a supported array type'."""
    pd = pytest.importorskip("pandas")
    X, y = _data()
    with pytest.raises(TypeError, match=r"^y must be an array, got a Series; make one with np.asarray\(y, dtype='float32'\)"):
        train(_model(), X, pd.Series(y[:, 0]), config=QUICK)


def test_missing_or_single_number_data_are_refused():
    """None for X failed as "'NoneType' object has no attribute 'shape'", a 0-d array as 'tuple index out of range'."""
    X, y = _data()
    with pytest.raises(TypeError, match=r"^X must be an array, got None; make one with np.asarray"):
        train(_model(), None, y, config=QUICK)
    with pytest.raises(ValueError, match=r"^y is a single number; it needs one row per sample \(targets \(N, K\)\)$"):
        train(_model(), X, np.float32(1.0), config=QUICK)


def test_evaluate_on_no_windows_is_refused():
    """It divided by zero inside the loss (ZeroDivisionError) once predict returned an empty array for no windows."""
    from scratchlstm.train import evaluate

    X, y = _data()
    with pytest.raises(DataError, match="^X holds no windows: evaluate needs at least one$"):
        evaluate(_model(), X[:0], y[:0])


def test_empty_training_data_are_refused():
    """N = 0 "finished 2 epochs" with NaN losses."""
    X, y = _data()
    with pytest.raises(DataError, match="^X and y hold no samples: train needs at least one window$"):
        train(_model(), X[:0], y[:0], config=QUICK)


def test_an_empty_validation_set_is_refused():
    """It failed inside NumPy: 'need at least one array to concatenate'."""
    X, y = _data()
    with pytest.raises(DataError, match="^X_val and y_val hold no samples: pass at least one validation window, or neither"):
        train(_model(), X, y, X[:0], y[:0], QUICK)


def _interrupted_run(path, config):
    """Train until the end of the second epoch, then stop as Ctrl-C would; the state is saved in ``path``."""
    def stop(epoch, history):
        if epoch == 1:
            raise KeyboardInterrupt

    X, y = _data()
    with pytest.raises(KeyboardInterrupt):
        train(_model(), X, y, config=config, checkpoint=path, on_epoch_end=stop)


def test_a_resume_with_other_settings_names_each_one(tmp_path):
    """lr=0.5 and batch_size=3 went on from an Adam run at 1e-3 and 64 without a word: lr per epoch 0.001, 0.001, 0.5, ..."""
    path = tmp_path / "run.npz"
    _interrupted_run(path, TrainConfig(epochs=6, quiet=True))
    X, y = _data()
    with pytest.raises(CheckpointError) as info:
        train(_model(), X, y, config=TrainConfig(epochs=6, quiet=True, lr=0.5, batch_size=3), checkpoint=path, resume=True)
    assert "was trained with other settings (batch_size 64 then, 3 now; lr 0.001 then, 0.5 now)" in str(info.value)


def test_a_resume_with_a_model_of_another_dtype_is_refused(tmp_path):
    """A float32 run resumed with a float64 model went on, its weights and moments cast, matching neither run."""
    path = tmp_path / "run.npz"
    _interrupted_run(path, TrainConfig(epochs=6, quiet=True))
    X, y = _data()
    model = Model.create(ModelConfig(hidden_sizes=(3,)), seed=0, dtype="float64")
    with pytest.raises(CheckpointError, match=r"run.npz was trained in float32, and this model is float64: resume with a float32 "
                                              r"model and data, or start afresh without --resume"):
        train(model, X.astype(np.float64), y.astype(np.float64), config=TrainConfig(epochs=6, quiet=True), checkpoint=path,
              resume=True)


def test_a_resume_with_another_optimizer_names_the_setting_not_a_corrupt_file(tmp_path):
    path = tmp_path / "run.npz"
    _interrupted_run(path, TrainConfig(epochs=6, quiet=True, optimizer="adam"))
    X, y = _data()
    with pytest.raises(CheckpointError) as info:
        train(_model(), X, y, config=TrainConfig(epochs=6, quiet=True, optimizer="sgd"), checkpoint=path, resume=True)
    assert "other settings (optimizer 'adam' then, 'sgd' now)" in str(info.value) and "corrupt" not in str(info.value)


def test_a_resume_may_change_what_is_shown(tmp_path, capsys):
    """quiet and log_every change the output, never the weights: the resumed run ends where an uninterrupted one does."""
    config = TrainConfig(epochs=4, quiet=True, patience=None)
    X, y = _data()
    full = _model()
    train(full, X, y, config=config)
    path = tmp_path / "run.npz"
    _interrupted_run(path, config)
    resumed = _model()
    train(resumed, X, y, config=TrainConfig(epochs=4, patience=None, log_every=1), checkpoint=path, resume=True)
    assert "epoch 4/4: training loss" in capsys.readouterr().err
    assert all(np.array_equal(v, resumed.named_params()[k]) for k, v in full.named_params().items())


@pytest.mark.parametrize("tbptt", [None, 2])
def test_targets_of_another_shape_than_the_head_gives_are_refused_before_training(tbptt):
    """With tbptt a 2-d target (N, T) for a head on every step was sliced as 3-d: a bare IndexError."""
    X, _ = _data(n=8)
    model = Model.create(ModelConfig(hidden_sizes=(3,), head="all"), seed=0)
    config = TrainConfig(epochs=1, quiet=True, tbptt=tbptt)
    with pytest.raises(ValueError, match=r"^y must have shape \(N, T, K\) = \(8, 5, 1\) for a model with head='all' and 1 output, got \(8, 5\)$"):
        train(model, X, np.zeros((8, 5), np.float32), config=config)
    with pytest.raises(ValueError, match=r"^X must have shape \(N, T, D\) with D = 1, got \(8, 5, 2\)$"):
        train(model, np.zeros((8, 5, 2), np.float32), np.zeros((8, 5, 1), np.float32), config=config)


def test_targets_for_a_head_on_the_last_step_are_n_by_k():
    X, y = _data(n=8)
    with pytest.raises(ValueError, match=r"^y_val must have shape \(N, K\) = \(4, 1\) for a model with head='last' and 1 output, got \(4,\)$"):
        train(_model(), X, y, X[:4], y[:4, 0], config=QUICK)
