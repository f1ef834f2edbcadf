"""The whole model (stack + dropout with a fixed mask + head + loss) against finite differences."""

import re

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm import gradcheck
from scratchlstm.errors import ConfigError
from scratchlstm.losses import huber, mse
from scratchlstm.nn.model import Model, ModelConfig, draw_dropout_masks, model_backward, model_forward
from tests.helpers import ENGINES, assert_same_kind, max_rel_diff


def _masks(config, T, B, seed, ref):
    return draw_dropout_masks(config.dropout, T, B, config.hidden_sizes, np.random.default_rng(seed), ref)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("head", ["last", "all"])
@pytest.mark.parametrize("loss", [mse, huber])
def test_whole_model_gradients_pass_gradcheck(cell, head, loss):
    """Every weight, the input and every layer's initial state, with dropout after every layer."""
    config = ModelConfig(cell=cell, input_size=3, hidden_sizes=(5, 4), output_size=2, dropout=0.3, head=head)
    model = Model.create(config, seed=1, dtype="float64")
    rng = np.random.default_rng(2)
    params = {k: v + 0.1 * rng.normal(size=v.shape) for k, v in model.named_params().items()}  # non-zero biases
    B, T = 4, 6
    x = rng.normal(size=(B, T, 3))
    target = rng.normal(size=(B, 2) if head == "last" else (B, T, 2))
    masks = _masks(config, T, B, 9, x)
    assert any(np.any(m == 0) for m in masks)
    n_states = 2 if cell == "lstm" else 1
    states = {f"s{l}_{k}": rng.uniform(-0.5, 0.5, (B, H)) for l, H in enumerate(config.hidden_sizes) for k in range(n_states)}

    def run(values):
        layered = [tuple(values[f"s{l}_{k}"] for k in range(n_states)) for l in range(len(config.hidden_sizes))]
        return model_forward(Model.from_named_params(config, {k: values[k] for k in params}), values["x"], masks, layered)

    def loss_fn(values):
        return loss(run(values)[0], target)[0]

    y, _, cache = run({**params, "x": x, **states})
    grads, dx, dstates_0 = model_backward(cache, loss(y, target)[1])
    assert set(grads) == set(params) and len(dstates_0) == 2 and all(len(d) == n_states for d in dstates_0)
    analytic = {**grads, "x": dx, **{f"s{l}_{k}": d[k] for l, d in enumerate(dstates_0) for k in range(n_states)}}
    report = gradcheck(loss_fn, {**params, "x": x, **states}, analytic)
    assert report.passed, str(report)


def test_named_params_round_trip_and_refuse_what_does_not_fit():
    config = ModelConfig(hidden_sizes=(3, 2), output_size=2)
    model = Model.create(config, seed=0)
    flat = model.named_params()
    assert list(flat) == list(config.param_shapes())
    assert {k: tuple(v.shape) for k, v in flat.items()} == config.param_shapes()
    again = Model.from_named_params(config, flat)
    assert all(np.array_equal(again.named_params()[k], v) for k, v in flat.items())
    with pytest.raises(KeyError, match=r"missing \['head.c'\]"):
        Model.from_named_params(config, {k: v for k, v in flat.items() if k != "head.c"})
    with pytest.raises(ValueError, match=r"lstm1.W_h has shape \(3, 8\), expected \(2, 8\)"):
        Model.from_named_params(config, {**flat, "lstm1.W_h": np.zeros((3, 8), np.float32)})


def test_dropout_is_off_at_evaluation_and_keeps_expectation():
    config = ModelConfig(input_size=2, hidden_sizes=(6,), dropout=0.5)
    model = Model.create(config, seed=0, dtype="float64")
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    y1 = model.predict(x)
    y2, _, _ = model_forward(model, x, None)
    assert np.array_equal(y1, y2)
    masks = _masks(config, 400, 50, 1, x)
    assert set(np.unique(masks[0])) == {0.0, 2.0}
    assert abs(masks[0].mean() - 1.0) < 0.02


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_give_the_same_model_outputs(engine):
    config = ModelConfig(input_size=2, hidden_sizes=(4, 3), dropout=0.2)
    model = Model.create(config, seed=5, dtype="float64")
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    y_ref = model.predict(x)
    assert max_rel_diff(model.predict(x, engine=engine), y_ref) < 1e-13


def test_model_on_every_backend(case):
    config = ModelConfig(input_size=2, hidden_sizes=(4, 3), output_size=1, dropout=0.2)
    ref = Model.create(config, seed=5, dtype="float64")
    model = Model.create(config, seed=5, xp=case.xp, dtype=case.dtype, device=case.device)
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    xc = case.array(x)
    y_ref, _, cache_ref = model_forward(ref, x, _masks(config, 5, 3, 3, x))
    y, _, cache = model_forward(model, xc, _masks(config, 5, 3, 3, xc))
    assert max_rel_diff(y, y_ref) < case.rtol
    g_ref, _, _ = model_backward(cache_ref, np.ones_like(y_ref))
    g, dx, _ = model_backward(cache, case.array(np.ones((3, 1))))
    for k in g_ref:
        assert max_rel_diff(g[k], g_ref[k]) < case.rtol * 10, k
        assert_same_kind(g[k], case)
    assert_same_kind(dx, case)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(hidden_sizes=(0,)), r"hidden_sizes must have every entry at least 1, got \(0,\)"),
        (dict(hidden_sizes="32"), r"hidden_sizes must be a list of integers such as \[32, 32\], got the string '32'"),
        (dict(dropout=1.0), "dropout must be at least 0 and below 1, got 1.0"),
        (dict(dropout=-0.1), "dropout must be at least 0 and below 1"),
        (dict(head="first"), "unknown head 'first'; choose one of last, all"),
        (dict(cell="transformer"), "unknown cell 'transformer'; choose one of lstm, gru, rnn"),
        (dict(init="he"), "unknown init 'he'; choose one of pytorch, glorot"),
    ],
)
def test_bad_model_configs_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**kwargs)


def test_a_float64_input_to_a_float32_model_names_the_input_to_cast():
    """Keras users pass NumPy's default float64 to a float32 model; the refusal told them to cast
    "the model's weights" (with the code "the model's weights.astype('float64')"), not their x."""
    from scratchlstm.errors import DtypeError

    model = Model.create(ModelConfig(input_size=1, hidden_sizes=(3,)), seed=0, dtype="float32")
    x = np.zeros((2, 5, 1))  # (B, T, D) float64
    with pytest.raises(DtypeError, match=r"x is float64 but the model is float32.*cast x \(for NumPy: x.astype\('float32'\)\)"):
        model.predict(x)


def test_a_model_without_weights_is_refused_where_it_is_made():
    """``Model(config)`` built a model with no weights, which failed later inside train as ``KeyError: 'W'``."""
    config = ModelConfig(hidden_sizes=(3, 2))
    with pytest.raises(ValueError, match=r"^Model\(config\) alone holds no weights: make fresh weights with Model.create"):
        Model(config)
    one = Model.create(ModelConfig(hidden_sizes=(3,)), seed=0)
    with pytest.raises(ValueError, match="^this Model has 1 layer dicts and a head for 2 hidden sizes"):
        Model(config, one.layers, one.head)
    model = Model.create(config, seed=0)
    assert Model(config, model.layers, model.head).named_params() == model.named_params()  # given weights: as ever
    # weights of other names or shapes failed later (KeyError: 'W', a matmul's core dimension): refused here
    with pytest.raises(KeyError, match=r"missing \['head.W', 'head.c'\], not part of it \['head.x'\]"):
        Model(config, model.layers, {"x": model.head["W"]})
    with pytest.raises(ValueError, match=r"head.W has shape \(7, 1\), expected \(2, 1\)"):
        Model(config, model.layers, {"W": np.zeros((7, 1), np.float32), "c": model.head["c"]})
    from scratchlstm.errors import DtypeError

    with pytest.raises(DtypeError, match=r"^head.W is float64 but lstm0.W_x is float32"):
        Model(config, model.layers, {k: v.astype(np.float64) for k, v in model.head.items()})
    mixed = {k: v.astype(np.float64) if k.startswith("head.") else v for k, v in model.named_params().items()}
    with pytest.raises(DtypeError, match=r"^head.W is float64 but lstm0.W_x is float32"):
        model.load_named_params(mixed)
    assert all(v.dtype == np.float32 for v in model.named_params().values())  # refused before any weight changed


@pytest.mark.parametrize("head, shape", [("last", (0, 2)), ("all", (0, 5, 2))])
@pytest.mark.parametrize("engine", ENGINES)
def test_predict_on_no_windows_is_an_empty_array_of_the_output_shape(head, shape, engine):
    """It failed inside NumPy: 'need at least one array to concatenate'."""
    model = Model.create(ModelConfig(hidden_sizes=(3,), output_size=2, head=head), seed=0)
    y = model.predict(np.zeros((0, 5, 1), np.float32), engine=engine)
    assert y.shape == shape and y.dtype == np.float32


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, np.int64(0), "2"])
def test_predict_refuses_a_batch_size_that_is_not_a_positive_whole_number(batch_size):
    """0 failed as "range() arg 3 must not be zero"; -1 as "need at least one array to concatenate"."""
    model = Model.create(ModelConfig(hidden_sizes=(3,)), seed=0)
    with pytest.raises(ValueError, match=f"^batch_size must be a whole number of windows, at least 1, got {re.escape(repr(batch_size))}$"):
        model.predict(np.zeros((4, 5, 1), np.float32), batch_size=batch_size)


def test_predict_takes_a_numpy_integer_batch_size():
    model = Model.create(ModelConfig(hidden_sizes=(3,)), seed=0)
    x = np.random.default_rng(0).normal(size=(5, 4, 1)).astype(np.float32)
    # against the same batches given as a Python int (against one batch of 5, a BLAS with other kernels, OpenBLAS's
    # AVX-512 ones, sums a batch of 2 in another order: the last bits differ, the batch size was taken all the same)
    assert np.array_equal(model.predict(x, batch_size=np.int64(2)), model.predict(x, batch_size=2))
    np.testing.assert_allclose(model.predict(x, batch_size=np.int64(2)), model.predict(x), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_refuses_a_list_with_the_cast_to_the_models_dtype(dtype):
    model = Model.create(ModelConfig(hidden_sizes=(3,)), seed=0, dtype=dtype)
    with pytest.raises(TypeError, match=rf"^x must be an array \(N, T, D\), got a list; make one with np.asarray\(x, dtype='{dtype}'\)"):
        model.predict([[[0.0]] * 5] * 2)


def test_predict_and_the_forward_refuse_a_pandas_series_as_not_an_array():
    """A Series has a shape and a dtype: it was refused by its 1-d shape, not as a Series (``train`` named it), and
    the sequence forward did the same. One check of what an array is now serves all three."""
    pd = pytest.importorskip("pandas")
    model = Model.create(ModelConfig(hidden_sizes=(3,)), seed=0)
    with pytest.raises(TypeError, match=r"^x must be an array \(N, T, D\), got a Series; make one with np.asarray"):
        model.predict(pd.Series(np.zeros(5, np.float32)))
    with pytest.raises(TypeError, match=r"^x must be an array \(T, B, D\) of NumPy, CuPy or another array-API library, got a Series"):
        sl.lstm_forward(model.layers[0], pd.Series(np.zeros(5, np.float32)))


@pytest.mark.parametrize("x", [np.float32(1.0), np.zeros(3, np.float32)], ids=["0-d", "1-d"])
def test_predict_names_the_shape_it_needs(x):
    """A 0-d array failed as 'tuple index out of range'."""
    model = Model.create(ModelConfig(hidden_sizes=(3,)), seed=0)
    with pytest.raises(ValueError, match=r"^x must have shape \(N, T, D\) with D = 1, got \("):
        model.predict(x)
