"""The Keras tutorial's forecaster, whole: a ``keras.Sequential`` to and from this package's ``Model``.

The model every bitcoin tutorial builds:

    Sequential([Input((60, 1)),
                LSTM(50, return_sequences=True), Dropout(0.2),
                LSTM(100),                       Dropout(0.2),
                Dense(1)])

is ``Model.create(ModelConfig(input_size=1, hidden_sizes=(50, 100), dropout=0.2, head="last"))``, with:

    lstm{l}.W_x, lstm{l}.W_h, lstm{l}.b   <-  the l-th LSTM layer (see ``lstm_from_keras``)
    head.W (H_L, K), head.c (K,)          <-  Dense kernel, bias

Both run batch-first ``x (B, T, D)`` and predict ``(B, K)``. What maps:

- every recurrent layer but the last returns sequences; the last returns its last step
  (``head="last"``) or, with ``return_sequences=True``, every step (``head="all"``, Dense on each);
- the model has one dropout rate, applied after every LSTM layer (the last included), so the
  Sequential needs one ``Dropout`` of the same rate after every LSTM layer, or none at all;
  ``model_from_keras(seq, dropout=p)`` chooses the rate instead (predictions do not depend on it);
- ``Dense`` with the ``linear`` activation only, as the last layer; an ``Input`` layer is fine.

Anything else is refused with a message that names the layer, subclasses of these Keras classes
(``SpatialDropout1D`` among them) and a quantized ``Dense`` or one with LoRA enabled included. The
model holds one cell kind (LSTM, GRU with ``reset_after=True`` or SimpleRNN); ``MODEL_CELLS`` maps
each Keras layer class the model can hold to its cell and converters, so a cell kind the model
learns is one entry there.
"""

from __future__ import annotations

import numbers
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import place, to_numpy
from ..errors import ConfigError
from ..nn.model import Model, ModelConfig
from .keras import (DTYPES, _check_class, _check_not_quantized, _host_copy, _is, _keras, _name, gru_from_keras, gru_to_keras,
                    lstm_from_keras, lstm_to_keras, rnn_from_keras, rnn_to_keras)

# Keras layer class -> (the model's cell, from_keras, to_keras). The model's GRU is the reset-after
# variant (Keras's default and PyTorch's); a reset_after=False GRU converts layer by layer.
MODEL_CELLS = {"LSTM": ("lstm", lstm_from_keras, lstm_to_keras), "GRU": ("gru", gru_from_keras, gru_to_keras),
               "SimpleRNN": ("rnn", rnn_from_keras, rnn_to_keras)}
KERAS_CLASS = {cell: kind for kind, (cell, _, _) in MODEL_CELLS.items()}


def model_from_keras(seq: Any, *, dropout: float | None = None, xp=None, device=None) -> Model:
    """This package's forecasting ``Model`` with exactly the weights of a Keras ``Sequential``.

    Parameters
    ----------
    seq : keras.Sequential or str or os.PathLike
        A built Sequential of LSTM layers, Dropout layers and a final Dense (module docstring), or the
        path of a ``.keras`` file holding one (loaded with ``keras.saving.load_model``).
    dropout : float, optional
        The model's dropout rate. By default it is read from the Dropout layers, which must then all
        have one rate and follow every LSTM layer (or be absent); give it to choose the rate yourself.
    xp : array namespace, optional
        Where the parameters live (NumPy when omitted).
    device : optional
        Device of ``xp`` for the parameters.

    Returns
    -------
    model : Model
        Its ``predict(x)`` for ``x (N, T, D)`` equals Keras's ``seq.predict(x)``; its arrays are copies.
    """
    keras = _keras()
    if isinstance(seq, (str, os.PathLike)):
        seq = _load(Path(seq), keras)
    if not isinstance(seq, keras.Sequential):
        raise TypeError(f"expected a keras.Sequential (or the path of a .keras file holding one), got {type(seq).__name__}; "
                        "rebuild a functional model as a Sequential of LSTM, Dropout and Dense layers")
    if not seq.built:
        raise ConfigError("the Sequential is not built, so it has no weights yet; start it with keras.Input((T, D)) or call it on data first")
    cells, rates, dense = _read_layers(seq.layers, keras)
    if dropout is None:
        dropout = _one_rate(cells, rates)
    params: dict[str, np.ndarray] = {}
    dtypes = set()
    for l, layer in enumerate(cells):
        if layer.return_state:
            raise ConfigError(f"Keras layer {layer.name!r} has return_state=True; the model returns predictions only: set it to False")
        last = l == len(cells) - 1
        if not last and not layer.return_sequences:
            raise ConfigError(f"Keras layer {layer.name!r} returns its last step only, but layer {cells[l + 1].name!r} after it needs "
                              "the whole sequence: set return_sequences=True on every recurrent layer but the last")
        cell, from_keras, _ = MODEL_CELLS[type(layer).__name__]
        converted = from_keras(layer)
        params.update({f"{cell}{l}.{name}": a for name, a in converted.items()})
        dtypes.add(str(converted["W_x"].dtype))
        if l == 0:
            input_size = converted["W_x"].shape[0]  # W_x (D, gates * H)
    W, c = _dense_weights(dense, keras)
    dtypes.add(str(W.dtype))
    if len(dtypes) > 1:
        raise ConfigError(f"the layers mix dtypes ({', '.join(sorted(dtypes))}); the model has one: rebuild them with one dtype")
    params.update({"head.W": W, "head.c": c})
    config = ModelConfig(cell=cell, input_size=input_size, hidden_sizes=tuple(layer.cell.units for layer in cells),
                         output_size=W.shape[1], dropout=dropout, head="all" if cells[-1].return_sequences else "last")
    return Model.from_named_params(config, place(params, xp=xp, dtype=dtypes.pop(), device=device))


def _load(path: Path, keras):
    """The model saved at ``path``, or a ``ConfigError`` saying why the file cannot be one."""
    fix = "give the path of a .keras file saved with model.save('name.keras')"
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; {fix}")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):  # Keras would say "File not found"
        raise ConfigError(f"{path} exists but is not a readable .keras archive (it is not a zip file); {fix}")
    try:
        return keras.saving.load_model(path)
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:  # a zip without config.json gives a KeyError
        raise ConfigError(f"{path} exists but is not a readable .keras archive ({exc}); {fix}") from exc


def _read_layers(layers, keras):
    """``(cells, rates, dense)``: the recurrent layers, the Dropout rate after each (None: none), the Dense."""
    cells, rates, dense = [], [], None
    supported = ", ".join(MODEL_CELLS)
    for layer in layers:
        where = f"layer {layer.name!r} ({type(layer).__name__})"
        if dense is not None:
            raise ConfigError(f"{where} comes after the Dense layer; the model ends with its Dense head: remove it")
        if isinstance(layer, keras.layers.InputLayer):
            continue
        cell_class = next((getattr(keras.layers, k) for k in MODEL_CELLS if isinstance(layer, getattr(keras.layers, k))), None)
        if cell_class is not None:
            _check_class(layer, cell_class)
            cells.append(layer)
            rates.append(None)
        elif isinstance(layer, keras.layers.Dropout):
            if not cells:
                raise ConfigError(f"{where} comes before the first recurrent layer; the model has no input dropout: remove it")
            if rates[-1] is not None:
                raise ConfigError(f"{where} follows another Dropout after {cells[-1].name!r}; use one Dropout there "
                                  "(rate 1 - (1 - p1)(1 - p2) drops the same share)")
            if isinstance(layer, keras.layers.SpatialDropout1D):
                raise ConfigError(f"{where} drops whole channels (a unit at every step at once); the model drops every unit of "
                                  "every step independently: use Dropout")
            _check_class(layer, keras.layers.Dropout)
            if layer.noise_shape is not None:
                raise ConfigError(f"{where} has noise_shape={layer.noise_shape}; the model drops every unit of every step "
                                  "independently: remove noise_shape")
            rates[-1] = float(layer.rate)
        elif isinstance(layer, keras.layers.Dense):
            dense = layer
        else:
            raise ConfigError(f"{where} has no counterpart in the forecasting model, which is {supported} layers, each "
                              "optionally followed by Dropout, then one Dense: remove it or convert the layers one by one")
    if not cells:
        raise ConfigError(f"the Sequential has no recurrent layer; the model needs at least one {supported} layer")
    kinds = sorted({type(layer).__name__ for layer in cells})
    if len(kinds) > 1:
        raise ConfigError(f"the Sequential mixes {' and '.join(kinds)} layers; the model stacks one cell kind: convert the "
                          "layers one by one (scratchlstm.interop.lstm_from_keras, gru_from_keras, rnn_from_keras)")
    gru_variants = [layer for layer in cells if type(layer).__name__ == "GRU" and not layer.reset_after]
    if gru_variants:
        raise ConfigError(f"GRU layer {gru_variants[0].name!r} has reset_after=False; the model's GRU cell resets after the "
                          "recurrent product (Keras's default): convert it with gru_from_keras(layer, reset_after=False) and run "
                          "it with gru_forward(params, x, reset_after=False)")
    if dense is None:
        raise ConfigError("the Sequential does not end with a Dense layer; the model's head is one Dense (linear) layer")
    return cells, rates, dense


def _one_rate(cells, rates) -> float:
    """The single dropout rate of the Sequential, or a refusal that shows the rates it has."""
    found = [0.0 if r is None else r for r in rates]
    if len(set(found)) > 1:
        listed = ", ".join(f"{r:g} after {layer.name!r}" for layer, r in zip(cells, found))
        raise ConfigError(f"the model has one dropout rate, applied after every recurrent layer, but this Sequential has {listed}; "
                          "use equal Dropout layers after every recurrent layer, or choose the rate with model_from_keras(seq, dropout=p) "
                          "(predictions do not depend on it, training does)")
    return found[0]


def _dense_weights(dense, keras) -> tuple[np.ndarray, np.ndarray]:
    """Host copies of the Dense head's kernel (H_L, K) and bias (K,), after checking that they map."""
    where = f"Dense layer {dense.name!r}"
    _check_class(dense, keras.layers.Dense)
    _check_not_quantized(dense, where)
    if getattr(dense, "lora_enabled", False):
        raise ConfigError(f"{where} has LoRA enabled: its kernel is kernel + lora_kernel_a @ lora_kernel_b, which the model has no "
                          "counterpart for; merge it first (a plain Dense whose kernel is assigned the layer's merged .kernel)")
    if not _is(dense.activation, "linear"):
        raise ConfigError(f"{where} has activation={_name(dense.activation)!r}; the model's head is linear: use activation=None")
    policy = dense.dtype_policy
    if policy.variable_dtype not in DTYPES or policy.compute_dtype != policy.variable_dtype:
        raise ConfigError(f"{where} computes in {policy.compute_dtype} with {policy.variable_dtype} weights; only float32 or float64 "
                          "throughout converts exactly")
    W = _host_copy(dense.kernel)  # (H_L, K)
    c = _host_copy(dense.bias) if dense.use_bias else np.zeros(W.shape[1], dtype=W.dtype)
    return W, c


def model_to_keras(model: Model, *, window: int | None = None):
    """A ``keras.Sequential`` holding exactly ``model``'s weights, whose ``predict`` equals ``model.predict``.

    Parameters
    ----------
    model : Model
        A forecasting model (any namespace; float32 or float64).
    window : int, optional
        Time steps of the Keras ``Input``, at least 1; None accepts any length.

    Returns
    -------
    seq : keras.Sequential
        ``Input((window, D))``, then per layer an LSTM (all but the last return sequences; the last
        too when the head is ``"all"``) and, when the model has dropout, a Dropout of its rate, then
        the Dense head.
    """
    keras = _keras()
    if not isinstance(model, Model):
        raise TypeError(f"expected a scratchlstm Model, got a {type(model).__name__}; build one with Model.from_named_params(config, "
                        "params), or convert single layers with lstm_to_keras, gru_to_keras or rnn_to_keras")
    if window is not None and (isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 1):
        raise ConfigError(f"window must be a positive whole number of time steps (or None for any length), got {window!r}")
    config = model.config
    W = np.array(to_numpy(model.head["W"]), copy=True)  # (H_L, K)
    c = np.array(to_numpy(model.head["c"]), copy=True)  # (K,)
    dtypes = {str(to_numpy(a).dtype) for a in model.named_params().values()}
    dtype = dtypes.pop()
    if dtypes or dtype not in DTYPES:
        raise ConfigError(f"a Keras model needs float32 or float64 params of one dtype; this model has {', '.join(sorted(dtypes | {dtype}))}")
    layers: list[Any] = [keras.Input((None if window is None else int(window), config.input_size), dtype=dtype)]
    _, _, to_keras = MODEL_CELLS[KERAS_CLASS[config.cell]]
    for l, params in enumerate(model.layers):
        last = l == len(model.layers) - 1
        layers.append(to_keras(params, return_sequences=not last or config.head == "all", name=f"{config.cell}{l}"))
        if config.dropout > 0:
            layers.append(keras.layers.Dropout(config.dropout, dtype=dtype, name=f"dropout{l}"))  # else it computes in floatx
    dense = keras.layers.Dense(config.output_size, dtype=dtype, name="head")
    dense.build((None, config.hidden_sizes[-1]))
    dense.kernel.assign(W)
    dense.bias.assign(c)
    layers.append(dense)
    return keras.Sequential(layers)
