"""Keras 3 is a reference: the converted layers and models compute what Keras computes.

Forward outputs, final states and every gradient are compared with Keras's own layers run on the JAX
backend, the gradients with ``jax.grad`` of the same loss: float32 within 1e-5 relative, float64
within 1e-10.

float64 needs care: Keras 3 computes its ``tanh`` activation in float32 even for float64 input under
JAX (``keras.ops.tanh`` promotes float64 with a Python float to float32), so a float64 Keras layer is
only float32-accurate. The float64 reference is therefore Keras's own layer code with its ``tanh``
replaced by ``jax.numpy.tanh`` (float64 throughout): the equations Keras runs, in jax.numpy float64.
Each float64 test also checks the unmodified Keras layer to float32 accuracy (1e-5), so the swap is
the only difference (not for SimpleRNN, whose unmodified float64 layer fails under JAX).

The weights are drawn on the host (non-zero biases everywhere) and assigned to the Keras layers, and
the Keras gradients are mapped to this package's layout by hand below, not by the converters.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from tests.helpers import keras_on_jax  # noqa: E402

keras, jax = keras_on_jax()
jnp = jax.numpy

from scratchlstm import interop  # noqa: E402
from scratchlstm.errors import ConfigError  # noqa: E402
from scratchlstm.nn.gru import gru_backward, gru_forward  # noqa: E402
from scratchlstm.nn.lstm import lstm_backward, lstm_forward  # noqa: E402
from scratchlstm.nn.model import Model, ModelConfig, model_backward, model_forward  # noqa: E402
from scratchlstm.nn.rnn import rnn_backward, rnn_forward  # noqa: E402

from tests.helpers import max_rel_diff  # noqa: E402

B, T, D = 3, 7, 2
SIZES = (5, 5, 5)  # hidden sizes of layers 0, 1, 2 (the model tests use unequal ones)
RTOL = {"float32": 1e-5, "float64": 1e-10}


def _swap_first_two(a, H):
    """Keras's GRU blocks z | r | h as r | z | n: written here by hand, independently of the converter."""
    return np.concatenate([a[..., H : 2 * H], a[..., :H], a[..., 2 * H :]], axis=-1)


def _gru_grads(g, H, reset_after):
    kernel, recurrent, bias = g
    if reset_after:
        b_x, b_h = bias[0], bias[1]
    else:
        b_x = b_h = bias  # b_h adds to b_x wherever b_x appears: the same gradient
    return {"W_x": _swap_first_two(kernel, H), "W_h": _swap_first_two(recurrent, H),
            "b_x": _swap_first_two(b_x, H), "b_h": _swap_first_two(b_h, H)}


@dataclass(frozen=True)
class Kind:
    layer: Callable  # (H, **options) -> an unbuilt Keras layer
    from_keras: Callable  # the converter under test
    forward: Callable  # this package's (params, x (T, B, D), *states)
    backward: Callable
    n_states: int  # 2 for the LSTM's (h, c), 1 otherwise
    keras_grads: Callable  # ((kernel, recurrent, bias) gradients, H) -> the same in this package's layout


KINDS = {
    "lstm": Kind(lambda H, **kw: keras.layers.LSTM(H, **kw), interop.lstm_from_keras, lstm_forward, lstm_backward, 2,
                 lambda g, H: {"W_x": g[0], "W_h": g[1], "b": g[2]}),
    "gru": Kind(lambda H, **kw: keras.layers.GRU(H, **kw), interop.gru_from_keras, gru_forward, gru_backward, 1,
                lambda g, H: _gru_grads(g, H, True)),
    "gru-reset-before": Kind(lambda H, **kw: keras.layers.GRU(H, reset_after=False, **kw),
                             lambda layer: interop.gru_from_keras(layer, reset_after=False),
                             lambda p, x, h0: gru_forward(p, x, h0, reset_after=False), gru_backward, 1,
                             lambda g, H: _gru_grads(g, H, False)),
    "rnn": Kind(lambda H, **kw: keras.layers.SimpleRNN(H, **kw), interop.rnn_from_keras, rnn_forward, rnn_backward, 1,
                lambda g, H: {"W_x": g[0], "W_h": g[1], "b": g[2]}),
}


def keras_layer(kind, H, D_in, dtype, seed, **options):
    """A built Keras layer of ``kind`` with random host weights (non-zero biases)."""
    layer = KINDS[kind].layer(H, dtype=dtype, **options)
    layer.build((None, None, D_in))
    rng = np.random.default_rng(seed)
    for v in layer.trainable_variables:
        v.assign(rng.normal(0, 0.5, size=v.shape).astype(v.dtype))
    return layer


def float64_tanh(layers):
    """Swap Keras's float32-computing tanh for jax.numpy's float64 one (see the module docstring)."""
    for layer in layers:
        layer.cell.activation = jnp.tanh


def keras_stack(layers, x, states, R, finals):
    """Keras's outputs, final states and ``jax.grad`` of L = sum(R * out) + sum(r * final state).

    Returns ``(out (B, T, H), finals per layer, grads per layer, dx (B, T, D), dstates per layer)``.
    """

    def loss(variables, x, states):
        seq, total, last = x, 0.0, []
        for layer, tv, s0, rs in zip(layers, variables, states, finals):
            fixed = [v.value for v in layer.non_trainable_variables]  # the dropout seed's state
            out, _ = layer.stateless_call(tv, fixed, seq, initial_state=list(s0))
            seq, fin = out[0], out[1:]
            total = total + sum(jnp.sum(r * f) for r, f in zip(rs, fin))
            last.append(fin)
        return total + jnp.sum(R * seq), (seq, last)

    variables = [[v.value for v in layer.trainable_variables] for layer in layers]
    (_, (out, last)), (dvars, dx, dstates) = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(variables, x, states)
    to_host = lambda tree: jax.tree_util.tree_map(np.asarray, tree)  # noqa: E731
    return to_host(out), to_host(last), to_host(dvars), to_host(dx), to_host(dstates)


def keras_forward(layers, x, states):
    """The top layer's output sequence (B, T, H) of a Keras run, without gradients."""
    seq = x
    for layer, s0 in zip(layers, states):
        seq = layer(seq, initial_state=list(s0))[0]
    return np.asarray(seq)


def our_stack(kind, layers_params, x, states, R, finals):
    """The same run with this package's functions, time first, stacked by hand."""
    forward, backward = KINDS[kind].forward, KINDS[kind].backward
    seq, caches, last = x.transpose(1, 0, 2), [], []  # (T, B, D)
    for params, s0 in zip(layers_params, states):
        seq, fin, cache = forward(params, seq, *s0)
        caches.append(cache)
        last.append(fin if isinstance(fin, tuple) else (fin,))
    dseq, grads, dstates = R.transpose(1, 0, 2), [None] * len(caches), [None] * len(caches)
    for l in reversed(range(len(caches))):
        grads[l], dseq, *dstates[l] = backward(caches[l], dseq, *finals[l])
    return seq.transpose(1, 0, 2), last, grads, dseq.transpose(1, 0, 2), dstates


def random_run(kind, num_layers, dtype, seed=0, unroll=True):
    """Layers, input, initial states and the loss's random projections for one comparison.

    ``unroll=True`` runs Keras's step loop as plain Python, the same cell math as its default
    ``lax.scan`` loop; JAX then reuses its compiled steps from test to test instead of compiling a
    scan for every new layer (seconds each). ``test_the_default_scanned_layers_match_too`` covers the
    default loop.
    """
    n_states = KINDS[kind].n_states
    rng = np.random.default_rng(100 + seed)
    sizes = SIZES[:num_layers]
    layers = [keras_layer(kind, H, D if l == 0 else sizes[l - 1], dtype, seed=10 * seed + l, return_sequences=True, return_state=True,
                          unroll=unroll) for l, H in enumerate(sizes)]
    draw = lambda *shape: rng.normal(size=shape).astype(dtype)  # noqa: E731
    x = draw(B, T, D)
    states = [tuple(0.5 * draw(B, H) for _ in range(n_states)) for H in sizes]
    finals = [tuple(draw(B, H) for _ in range(n_states)) for H in sizes]
    R = draw(B, T, sizes[-1])
    return layers, x, states, R, finals


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_outputs_states_and_gradients_match_keras(kind, num_layers, dtype, unroll=True):
    to_ours = KINDS[kind].keras_grads
    layers, x, states, R, finals = random_run(kind, num_layers, dtype, unroll=unroll)
    converted = [KINDS[kind].from_keras(layer) for layer in layers]
    plain = None
    if dtype == "float64":
        # Keras's own float64 SimpleRNN fails under JAX: its float32 tanh changes the dtype of the state it carries
        if kind != "rnn":
            plain = keras_forward(layers, x, states)
        float64_tanh(layers)
    ref_out, ref_last, ref_dvars, ref_dx, ref_dstates = keras_stack(layers, x, states, R, finals)
    out, last, grads, dx, dstates = our_stack(kind, converted, x, states, R, finals)
    tol = RTOL[dtype]
    assert out.dtype == np.dtype(dtype)
    assert max_rel_diff(out, ref_out) < tol, "outputs"
    assert max_rel_diff(dx, ref_dx) < tol, "dx"
    for l, H in enumerate(SIZES[:num_layers]):
        for k in range(len(last[l])):
            assert max_rel_diff(last[l][k], ref_last[l][k]) < tol, f"final state {k} of layer {l}"
            assert max_rel_diff(dstates[l][k], ref_dstates[l][k]) < tol, f"gradient of initial state {k} of layer {l}"
        expected = to_ours(ref_dvars[l], H)
        assert set(grads[l]) == set(expected)
        for name in expected:
            assert max_rel_diff(grads[l][name], expected[name]) < tol, f"{name} of layer {l}"
    if plain is not None:
        assert max_rel_diff(out, plain) < 1e-5, "the unmodified float64 Keras layer, to the accuracy of its float32 tanh"


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_default_scanned_layers_match_too(kind):
    test_outputs_states_and_gradients_match_keras(kind, 2, "float32", unroll=False)


# ----------------------------------------------------------------------------------------------
# round trips and copies


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_keras_to_scratchlstm_to_keras_is_exact(kind, dtype):
    layer = keras_layer(kind, 4, D, dtype, seed=1, return_sequences=True)
    to_keras = {"lstm": interop.lstm_to_keras, "gru": interop.gru_to_keras, "rnn": interop.rnn_to_keras,
                "gru-reset-before": lambda p, **kw: interop.gru_to_keras(p, reset_after=False, **kw)}[kind]
    back = to_keras(KINDS[kind].from_keras(layer), return_sequences=True)
    assert type(back) is type(layer) and back.dtype_policy.name == dtype
    for a, b in zip(layer.trainable_variables, back.trainable_variables):
        assert a.path.rsplit("/", 1)[1] == b.path.rsplit("/", 1)[1]
        assert np.array_equal(np.asarray(a.value), np.asarray(b.value)), a.path
    if dtype == "float64":
        float64_tanh([layer, back])  # Keras's own float64 SimpleRNN fails under JAX
    x = np.random.default_rng(0).normal(size=(B, T, D)).astype(dtype)
    assert np.array_equal(np.asarray(layer(x)), np.asarray(back(x)))


@pytest.mark.parametrize("kind", list(KINDS))
def test_converted_arrays_share_no_memory_with_keras(kind):
    layer = keras_layer(kind, 4, D, "float64", seed=2)
    params = KINDS[kind].from_keras(layer)
    variables = [np.asarray(v.value) for v in layer.trainable_variables]
    for name, a in params.items():
        assert not any(np.shares_memory(a, v) for v in variables), name
    before = [v.copy() for v in variables]
    for a in params.values():
        a += 1.0  # an in-place update here, as an optimizer might do
    for v, b in zip(layer.trainable_variables, before):
        assert np.array_equal(np.asarray(v.value), b)
    copies = {name: a.copy() for name, a in params.items()}
    for v in layer.trainable_variables:  # a Keras update, as its optimizer would do
        v.assign(v.value * 2.0)
    for name, a in params.items():
        assert np.array_equal(a, copies[name]), name


def test_converted_arrays_can_live_in_another_namespace():
    xps = pytest.importorskip("array_api_strict")
    layer = keras_layer("gru", 4, D, "float64", seed=3)
    on_numpy = interop.gru_from_keras(layer)
    on_strict = interop.gru_from_keras(layer, xp=xps, device=xps.Device("device1"))
    for name, a in on_strict.items():
        assert a.device == xps.Device("device1") and a.dtype == xps.float64
        assert np.array_equal(np.asarray(a.to_device(xps.Device("CPU_DEVICE"))), on_numpy[name]), name


def test_layers_without_bias_convert_with_zero_biases():
    layer = keras_layer("lstm", 4, D, "float64", seed=4, use_bias=False, return_sequences=True)
    params = interop.lstm_from_keras(layer)
    assert np.array_equal(params["b"], np.zeros(16))
    float64_tanh([layer])
    x = np.random.default_rng(0).normal(size=(B, T, D))
    assert max_rel_diff(lstm_forward(params, x.transpose(1, 0, 2))[0].transpose(1, 0, 2), np.asarray(layer(x))) < 1e-10


# ----------------------------------------------------------------------------------------------
# what is refused, what is noted


@pytest.mark.parametrize("options, message", [
    ({"activation": "relu"}, "activation='relu'; only 'tanh'"),
    ({"recurrent_activation": "hard_sigmoid"}, "recurrent_activation='hard_sigmoid'; only 'sigmoid'"),
    ({"go_backwards": True}, "go_backwards=True"),
    ({"dtype": "mixed_float16"}, "computes in float16"),
])
def test_layers_whose_math_differs_are_refused(options, message):
    layer = keras_layer("lstm", 3, D, options.pop("dtype", "float32"), seed=0, **options)
    with pytest.raises(ConfigError, match=message):
        interop.lstm_from_keras(layer)


def test_unbuilt_layers_wrong_classes_and_the_other_gru_variant_are_refused():
    with pytest.raises(ConfigError, match="is not built.*layer.build"):
        interop.lstm_from_keras(keras.layers.LSTM(3))
    with pytest.raises(TypeError, match="expected a keras.layers.LSTM, got GRU"):
        interop.lstm_from_keras(keras_layer("gru", 3, D, "float32", seed=0))
    wrapped = keras.layers.Bidirectional(keras.layers.LSTM(3))
    wrapped.build((None, T, D))
    with pytest.raises(TypeError, match="forward_layer"):
        interop.lstm_from_keras(wrapped)
    with pytest.raises(ConfigError, match="reset_after=False, but reset_after=True was asked"):
        interop.gru_from_keras(keras_layer("gru-reset-before", 3, D, "float32", seed=0))
    with pytest.raises(ConfigError, match="reset_after=True, but reset_after=False was asked"):
        interop.gru_from_keras(keras_layer("gru", 3, D, "float32", seed=0), reset_after=False)


@pytest.mark.parametrize("options, message", [
    ({"dropout": 0.2}, "dropout=0.2: training-time only"),
    ({"recurrent_dropout": 0.1}, "recurrent_dropout=0.1: training-time only"),
    ({"kernel_regularizer": "l2"}, "kernel_regularizer: training-time only"),
    ({"stateful": True}, "stateful: the states it carries"),
])
def test_training_time_settings_are_noted_and_the_weights_still_convert(options, message):
    layer = keras.layers.LSTM(3, return_sequences=True, **options)
    x = np.random.default_rng(0).normal(size=(B, T, D)).astype("float32")
    expected = np.asarray(layer(x))  # inference: no dropout
    with pytest.warns(interop.ConversionWarning, match=message):
        params = interop.lstm_from_keras(layer)
    assert max_rel_diff(lstm_forward(params, x.transpose(1, 0, 2))[0].transpose(1, 0, 2), expected) < 1e-5


def test_unroll_and_unit_forget_bias_convert_silently():
    layer = keras_layer("lstm", 3, D, "float32", seed=5, unroll=True, unit_forget_bias=False, return_sequences=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        params = interop.lstm_from_keras(layer)
    x = np.random.default_rng(0).normal(size=(B, T, D)).astype("float32")
    assert max_rel_diff(lstm_forward(params, x.transpose(1, 0, 2))[0].transpose(1, 0, 2), np.asarray(layer(x))) < 1e-5


# ----------------------------------------------------------------------------------------------
# the tutorial's Sequential, whole

L = keras.layers


def randomized(seq, dtype, seed=0):
    rng = np.random.default_rng(seed)
    for v in seq.trainable_variables:
        v.assign(rng.normal(0, 0.5, size=v.shape).astype(dtype))
    return seq


def tutorial(sizes=(6, 4), rate=0.2, dtype="float32", seed=0, every_step=False, input_layer=True, unroll=True):
    """The tutorials' ``LSTM, Dropout, LSTM, Dropout, Dense(1)``, small, with random weights.

    ``unroll=True`` for speed, as in ``random_run``; the saved-file test uses Keras's default loop.
    """
    layers = [keras.Input((T, D), dtype=dtype)] if input_layer else []
    for l, H in enumerate(sizes):
        layers.append(L.LSTM(H, return_sequences=l < len(sizes) - 1 or every_step, dtype=dtype, unroll=unroll))
        if rate:
            layers.append(L.Dropout(rate, dtype=dtype))  # without dtype, Keras casts to float32 here
    layers.append(L.Dense(1, dtype=dtype))
    seq = keras.Sequential(layers)
    if not input_layer:
        seq(np.zeros((1, T, D), dtype=dtype))  # builds it
    return randomized(seq, dtype, seed)


def keras_predict(seq, x, dtype):
    if dtype == "float64":
        float64_tanh([layer for layer in seq.layers if isinstance(layer, L.LSTM)])
    return np.asarray(seq(x, training=False))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("input_layer", [True, False])
def test_the_tutorial_model_predicts_what_keras_predicts(dtype, input_layer):
    seq = tutorial(dtype=dtype, input_layer=input_layer)
    model = interop.model_from_keras(seq)
    assert model.config == ModelConfig(input_size=D, hidden_sizes=(6, 4), output_size=1, dropout=0.2, head="last")
    assert set(model.named_params()) == {f"lstm{l}.{n}" for l in range(2) for n in ("W_x", "W_h", "b")} | {"head.W", "head.c"}
    x = np.random.default_rng(1).normal(size=(B, T, D)).astype(dtype)
    y = model.predict(x)
    assert y.shape == (B, 1) and y.dtype == np.dtype(dtype)
    assert max_rel_diff(y, keras_predict(seq, x, dtype)) < RTOL[dtype]


def test_a_head_on_every_step_is_head_all():
    seq = tutorial(rate=0.0, every_step=True, dtype="float64")
    model = interop.model_from_keras(seq)
    assert model.config.head == "all" and model.config.dropout == 0.0
    x = np.random.default_rng(1).normal(size=(B, T, D))
    y = model.predict(x)
    assert y.shape == (B, T, 1)
    assert max_rel_diff(y, keras_predict(seq, x, "float64")) < 1e-10


def test_the_models_gradients_match_jax_grad():
    seq = tutorial(dtype="float64")
    model = interop.model_from_keras(seq)
    float64_tanh([layer for layer in seq.layers if isinstance(layer, L.LSTM)])
    rng = np.random.default_rng(2)
    x, R = rng.normal(size=(B, T, D)), rng.normal(size=(B, 1))

    def loss(variables, x):
        y, _ = seq.stateless_call(variables, [v.value for v in seq.non_trainable_variables], x, training=False)
        return jnp.sum(R * y)

    dvars, dx_ref = jax.grad(loss, argnums=(0, 1))([v.value for v in seq.trainable_variables], x)
    names = [f"lstm{l}.{n}" for l in range(2) for n in ("W_x", "W_h", "b")] + ["head.W", "head.c"]  # Keras's variable order
    y, _, cache = model_forward(model, x)
    grads, dx, _ = model_backward(cache, R)
    for name, g in zip(names, dvars):
        assert max_rel_diff(grads[name], np.asarray(g)) < 1e-10, name
    assert max_rel_diff(dx, np.asarray(dx_ref)) < 1e-10


@pytest.mark.parametrize("cell, keras_kind", [("lstm", "LSTM"), ("gru", "GRU"), ("rnn", "SimpleRNN")])
@pytest.mark.parametrize("dropout, head, kinds", [
    (0.1, "last", ["{k}", "Dropout", "{k}", "Dropout", "Dense"]),
    (0.0, "all", ["{k}", "{k}", "Dense"]),
])
def test_model_to_keras_and_back(cell, keras_kind, dropout, head, kinds):
    config = ModelConfig(cell=cell, input_size=D, hidden_sizes=(6, 4), dropout=dropout, head=head, init="pytorch")
    model = Model.create(config, seed=3, dtype="float64")
    seq = interop.model_to_keras(model, window=T)
    assert [type(layer).__name__ for layer in seq.layers] == [k.format(k=keras_kind) for k in kinds]
    again = interop.model_from_keras(seq)
    if cell != "lstm":  # after the conversion, which refuses any tanh but Keras's own
        float64_tanh([layer for layer in seq.layers if type(layer).__name__ == keras_kind])
    x = np.random.default_rng(4).normal(size=(B, T, D))
    assert max_rel_diff(model.predict(x), keras_predict(seq, x, "float64")) < 1e-10
    assert again.config == dataclasses.replace(model.config, init=again.config.init)  # the init scheme is not a weight
    row = next(line for line in (Path(__file__).parents[2] / "docs" / "keras.md").read_text().splitlines()
               if line.startswith("|") and f"`{keras_kind}" in line)  # what the page says of this layer kind
    assert "refused by `model_from_keras` (the model has LSTM" not in row and (cell == "lstm" or f'"{cell}"' in row)
    for name, a in model.named_params().items():
        b = again.named_params()[name]
        assert np.array_equal(b, a), name
        assert not np.shares_memory(b, a), name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_keras_to_model_to_keras_is_exact(dtype):
    seq = tutorial(dtype=dtype, seed=5)
    back = interop.model_to_keras(interop.model_from_keras(seq))
    for a, b in zip(seq.trainable_variables, back.trainable_variables):
        assert np.array_equal(np.asarray(a.value), np.asarray(b.value)), a.path
        assert str(b.dtype) == dtype


# Keras 3.15's own saving code passes variables to np.array, which NumPy 2.4 warns about
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_a_saved_keras_file_converts(tmp_path):
    seq = tutorial(seed=6, unroll=False)
    path = tmp_path / "tutorial.keras"
    seq.save(path)
    model = interop.model_from_keras(path)
    x = np.random.default_rng(7).normal(size=(B, T, D)).astype("float32")
    assert max_rel_diff(model.predict(x), keras_predict(seq, x, "float32")) < 1e-5
    with pytest.raises(ConfigError, match="no such file"):
        interop.model_from_keras(tmp_path / "missing.keras")


def test_one_dropout_rate_can_be_chosen_when_the_layers_differ():
    seq = randomized(keras.Sequential([keras.Input((T, D)), L.LSTM(4, return_sequences=True), L.Dropout(0.2), L.LSTM(3), L.Dense(1)]), "float32")
    with pytest.raises(ConfigError, match="one dropout rate.*0.2 after 'lstm.*0 after 'lstm.*dropout=p"):
        interop.model_from_keras(seq)
    model = interop.model_from_keras(seq, dropout=0.3)
    assert model.config.dropout == 0.3
    x = np.random.default_rng(8).normal(size=(B, T, D)).astype("float32")
    assert max_rel_diff(model.predict(x), keras_predict(seq, x, "float32")) < 1e-5


def _built(*layers):
    return keras.Sequential([keras.Input((T, D)), *layers])


@pytest.mark.parametrize("make, error, message", [
    (lambda: _built(L.GRU(3, reset_after=False), L.Dense(1)), ConfigError, "reset_after=False; the model's GRU cell resets after"),
    (lambda: _built(L.LSTM(3, return_sequences=True), L.GRU(3), L.Dense(1)), ConfigError, "mixes GRU and LSTM layers; the model stacks one cell kind"),
    (lambda: _built(L.Dropout(0.1), L.LSTM(3), L.Dense(1)), ConfigError, "before the first recurrent layer"),
    (lambda: _built(L.LSTM(3), L.Dropout(0.1), L.Dropout(0.1), L.Dense(1)), ConfigError, "follows another Dropout"),
    (lambda: _built(L.LSTM(3), L.Dense(1, activation="relu")), ConfigError, "activation='relu'; the model's head is linear"),
    (lambda: _built(L.LSTM(3, return_sequences=True), L.Flatten(), L.Dense(1)), ConfigError, "\\(Flatten\\) has no counterpart"),
    (lambda: _built(L.LSTM(3)), ConfigError, "does not end with a Dense"),
    (lambda: _built(L.LSTM(3), L.Dense(2), L.Dense(1)), ConfigError, "comes after the Dense layer"),
    (lambda: _built(L.Dense(2), L.Dense(1)), ConfigError, "comes after the Dense layer"),
    (lambda: _built(L.LSTM(3, dtype="float64"), L.Dense(1)), ConfigError, "the layers mix dtypes \\(float32, float64\\)"),
    (lambda: keras.Sequential([L.LSTM(3), L.Dense(1)]), ConfigError, "not built"),
    (lambda: keras.Model(*(lambda i: (i, L.Dense(1)(L.LSTM(3)(i))))(keras.Input((T, D)))), TypeError, "expected a keras.Sequential"),
])
def test_what_the_model_cannot_hold_is_refused(make, error, message):
    with pytest.raises(error, match=message):
        interop.model_from_keras(make())


@pytest.fixture
def jax_without_x64():
    """JAX in its default 32-bit mode for one test: a float64 Keras layer then holds float32 weights."""
    jax.config.update("jax_enable_x64", False)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", True)


@pytest.mark.usefixtures("jax_without_x64")
@pytest.mark.filterwarnings("ignore:Explicitly requested dtype float64")  # JAX's warning, which the user sees first
def test_a_float64_layer_that_jax_keeps_in_float32_is_refused_with_the_fix():
    # Without 64-bit mode the layer declares float64 and computes in float32: a float64 copy would
    # not give Keras's outputs, and the model converter used to blame "the layers mix dtypes".
    fix = "declares float64 but holds float32; .*jax_enable_x64"
    layer = L.LSTM(3, dtype="float64")
    layer.build((None, T, D))
    with pytest.raises(ConfigError, match=fix):
        interop.lstm_from_keras(layer)
    with pytest.raises(ConfigError, match=fix):
        interop.model_from_keras(_built(L.LSTM(3, dtype="float64"), L.Dense(1, dtype="float64")))
    params = {"W_x": np.zeros((D, 12)), "W_h": np.zeros((3, 12)), "b": np.zeros(12)}  # float64
    with pytest.raises(ConfigError, match=r"declares float64 but holds float32; .*jax_enable_x64.* before converting, or convert "
                                          r"float32 params"):
        interop.lstm_to_keras(params)
    interop.lstm_to_keras({k: v.astype("float32") for k, v in params.items()})  # float32 converts as ever
    jax.config.update("jax_enable_x64", True)  # turned on after the layer was built: the layer must be built again
    with pytest.raises(ConfigError, match="the layer was built while JAX's 64-bit mode was off: build it again"):
        interop.lstm_from_keras(layer)


def test_keras_without_its_backend_is_named_as_such_not_as_a_missing_keras():
    """With Keras 3 installed and its backend (tensorflow by default) missing, the error said "need Keras 3: pip install
    'keras>=3'", which was installed."""
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("tensorflow is installed here: Keras starts on it")
    code = ("from scratchlstm.interop import keras as k\ntry:\n    k._keras()\nexcept ImportError as e:\n    print(e)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "KERAS_BACKEND": "tensorflow"})
    assert run.stdout.startswith("Keras is installed but cannot start on tensorflow (No module named 'tensorflow'): "
                                 "install that backend, or run with KERAS_BACKEND=jax"), run.stdout + run.stderr
