"""What the Keras converters refuse instead of converting something else, each with the fix.

A subclass of a Keras layer may compute something else (the one below reads each sequence last step
first); a quantized or LoRA Dense holds more than one kernel; ``SpatialDropout1D`` drops whole
channels. Where something still converts, its outputs are compared with Keras's own.
"""

import zipfile

import numpy as np
import pytest

from tests.helpers import keras_on_jax  # noqa: E402

keras, jax = keras_on_jax()

from scratchlstm import init_gru_params, init_lstm_params, init_rnn_params, interop  # noqa: E402
from scratchlstm.errors import ConfigError  # noqa: E402
from scratchlstm.nn.model import Model, ModelConfig  # noqa: E402

from tests.helpers import max_rel_diff  # noqa: E402

L = keras.layers
B, T, D, H = 3, 5, 2, 3


def _reversed_subclass(cls):
    """A subclass of the Keras class ``cls`` whose ``call`` reads each sequence last step first."""

    class Reversed(cls):
        def call(self, sequences, initial_state=None, mask=None, training=False):
            return super().call(sequences[:, ::-1], initial_state=initial_state, mask=mask, training=training)

    return Reversed


def _sequential(*layers):
    seq = keras.Sequential([keras.Input((T, D)), *layers])
    rng = np.random.default_rng(0)
    for v in seq.trainable_variables:
        v.assign(rng.normal(0, 0.5, size=v.shape).astype(v.dtype))
    return seq


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_a_subclass_that_computes_something_else_is_refused_by_both_converters(kind):
    cls = _reversed_subclass(getattr(L, kind))
    layer = cls(H, unroll=True)
    x = np.random.default_rng(1).normal(size=(B, T, D)).astype("float32")
    assert max_rel_diff(np.asarray(layer(x)), np.asarray(getattr(L, kind)(H, unroll=True)(x))) > 0  # it differs from Keras's
    message = rf"layer {layer.name!r} is a .*Reversed, a subclass of keras.layers.{kind}; only keras.layers.{kind} itself converts"
    with pytest.raises(ConfigError, match=message):
        getattr(interop, f"{dict(SimpleRNN='rnn').get(kind, kind.lower())}_from_keras")(layer)
    seq = _sequential(cls(H, unroll=True), L.Dense(1))
    with pytest.raises(ConfigError, match=f"a subclass of keras.layers.{kind}; only keras.layers.{kind} itself converts"):
        interop.model_from_keras(seq)


def test_a_layer_running_another_cell_class_is_refused():
    class OtherCell(L.LSTMCell):
        pass

    layer = L.LSTM(H)
    layer.cell = OtherCell(H)
    layer.build((None, T, D))
    with pytest.raises(ConfigError, match="runs a .*OtherCell cell, not keras.layers.LSTMCell"):
        interop.lstm_from_keras(layer)


def test_spatial_dropout_is_refused_like_a_noise_shape():
    seq = _sequential(L.LSTM(H, return_sequences=True), L.SpatialDropout1D(0.2), L.LSTM(H), L.Dense(1))
    with pytest.raises(ConfigError, match=r"\(SpatialDropout1D\) drops whole channels.*use Dropout"):
        interop.model_from_keras(seq, dropout=0.2)


@pytest.mark.parametrize("to_keras, params", [
    (interop.lstm_to_keras, init_lstm_params(D, H)),
    (interop.gru_to_keras, init_gru_params(D, H)),
    (interop.rnn_to_keras, init_rnn_params(D, H)),
])
def test_a_list_of_layers_given_for_one_layer_is_refused(to_keras, params):
    name = to_keras.__name__
    with pytest.raises(ConfigError, match=rf"got a list of 2 layer dicts: pass layers\[0\], or .*\[{name}\(p\) for p in layers\]"):
        to_keras([params, params])


def test_a_dense_head_with_lora_is_refused():
    seq = _sequential(L.LSTM(H), L.Dense(1))
    seq.layers[-1].enable_lora(2)
    with pytest.raises(ConfigError, match="has LoRA enabled.*merge it first"):
        interop.model_from_keras(seq)


# Keras 3.15's own quantizing code passes variables to np.array, which NumPy 2.4 warns about
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_a_quantized_dense_head_is_refused_as_quantized():
    seq = _sequential(L.LSTM(H), L.Dense(1))
    seq.layers[-1].quantize("int8")
    with pytest.raises(ConfigError, match=r"Dense layer .* is quantized \(int8\).*before quantizing"):
        interop.model_from_keras(seq)


def test_a_file_that_is_not_a_keras_archive_is_refused(tmp_path):
    garbage = tmp_path / "bad.keras"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(ConfigError, match="bad.keras exists but is not a readable .keras archive \\(it is not a zip file\\)"):
        interop.model_from_keras(garbage)
    empty_zip = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty_zip, "w") as z:
        z.writestr("notes.txt", "no model here")
    with pytest.raises(ConfigError, match="empty.keras exists but is not a readable .keras archive .*config.json"):
        interop.model_from_keras(str(empty_zip))


def test_model_to_keras_needs_a_model():
    with pytest.raises(TypeError, match="expected a scratchlstm Model, got a list"):
        interop.model_to_keras([init_lstm_params(D, H)])


@pytest.mark.parametrize("window", [7.0, 0, -3, True, "7"])
def test_model_to_keras_needs_a_positive_whole_window(window):
    model = Model.create(ModelConfig(input_size=D, hidden_sizes=(H,)), dtype="float32")
    with pytest.raises(ConfigError, match="window must be a positive whole number"):
        interop.model_to_keras(model, window=window)


def test_a_numpy_integer_window_is_a_window():
    model = Model.create(ModelConfig(input_size=D, hidden_sizes=(H,)), dtype="float32")
    seq = interop.model_to_keras(model, window=np.int64(T))
    assert seq.input_shape == (None, T, D)
    x = np.random.default_rng(2).normal(size=(B, T, D)).astype("float32")
    assert max_rel_diff(model.predict(x), np.asarray(seq(x, training=False))) < 1e-5
