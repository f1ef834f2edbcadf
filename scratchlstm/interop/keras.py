"""Exact weight converters between scratchlstm and Keras 3's ``LSTM``, ``GRU`` and ``SimpleRNN`` layers.

Keras stores one layer as (the names of ``layer.cell``'s variables):

    LSTM       kernel (D, 4H)   recurrent_kernel (H, 4H)   bias (4H,)      blocks i | f | c | o
    GRU        kernel (D, 3H)   recurrent_kernel (H, 3H)   bias (2, 3H)    blocks z | r | h
               (reset_after=False:                          bias (3H,))
    SimpleRNN  kernel (D, H)    recurrent_kernel (H, H)    bias (H,)

and runs the same products as this package, ``x_t kernel + h_{t-1} recurrent_kernel + bias``, so:

    LSTM       W_x = kernel, W_h = recurrent_kernel, b = bias     (Keras's c block is this package's g)
    SimpleRNN  W_x = kernel, W_h = recurrent_kernel, b = bias
    GRU        the first two blocks swap (z | r | h becomes r | z | n, PyTorch's order);
               reset_after=True:  b_x = bias[0], b_h = bias[1]    (Keras's r * (h W_hn + b_hn) is ours)
               reset_after=False: b_x = bias, b_h = 0             (the variant of ``gru_forward(..., reset_after=False)``,
                                                                  where b_h only adds to b_x; export writes b_x + b_h)

Keras is batch-first, ``x (B, T, D)``; the functions of this package are time-first, ``x (T, B, D)``:
``lstm_forward(params, x.transpose(1, 0, 2))`` gives Keras's sequence, transposed the same way.

What converts, what is refused, and what is only noted (a ``ConversionWarning``):

- refused (``ConfigError``): a subclass of Keras's layer or cell class (its ``call`` may compute
  something else), an activation other than tanh, a recurrent activation other than sigmoid
  (the math would differ), ``go_backwards=True`` (the layer reads the sequence last step first),
  a layer that is not built yet (it has no weights), a compute dtype other than the variables'
  (mixed precision), and a float64 layer whose variables hold float32 (JAX without its 64-bit mode,
  ``jax.config.update("jax_enable_x64", True)``), in either direction.
- noted: ``dropout`` and ``recurrent_dropout`` above 0, regularizers and constraints act only while
  Keras trains; the converted weights give exactly the same outputs, but training them here applies
  none of these. ``stateful=True``: the states Keras carries between calls are not weights and are not
  converted; pass them as ``h0``/``c0``.
- converted without a word: ``use_bias=False`` (zero biases here, which training here will move),
  ``unroll`` (the same math, run as an unrolled loop), ``unit_forget_bias`` and the initializers
  (they only chose the starting weights), ``return_sequences``/``return_state`` (what the layer
  returns, not what it computes).

Every converted array is a copy: it shares no memory with the Keras variables. Keras is imported
only when these functions are called.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from typing import Any, Mapping

import numpy as np

from ..backend import place, to_numpy
from ..errors import ConfigError
from ..nn.gru import gru_sizes
from ..nn.lstm import lstm_sizes
from ..nn.rnn import rnn_sizes
from ..nn.shapes import Params

DTYPES = ("float32", "float64")


class ConversionWarning(UserWarning):
    """The weights convert exactly, but a training-time setting of the Keras layer (or of the torch
    module) has no counterpart here."""


def _keras():
    try:
        import keras
    except ImportError as exc:
        if importlib.util.find_spec("keras") is not None:  # installed: its configured backend is what is missing
            backend = os.environ.get("KERAS_BACKEND", "its configured backend (tensorflow unless ~/.keras/keras.json says)")
            raise ImportError(f"Keras is installed but cannot start on {backend} ({exc}): install that backend, or run with "
                              "KERAS_BACKEND=jax (pip install 'jax[cpu]')") from exc
        raise ImportError("the Keras converters need Keras 3: pip install 'keras>=3' 'jax[cpu]' "
                          "(the 'keras' extra: pip install -e '.[keras]' in scratchlstm's folder)") from exc
    if int(keras.__version__.split(".")[0]) < 3:
        raise ImportError(f"the Keras converters need Keras 3, found Keras {keras.__version__}: pip install 'keras>=3'")
    return keras


def _host_copy(variable, *, built_here: bool = False) -> np.ndarray:
    """A host copy of a Keras variable, refused where it holds another dtype than it declares.

    JAX keeps float64 as float32 unless its 64-bit mode is on: a layer built with dtype='float64'
    then declares float64 and holds (and computes in) float32, and a converted float64 copy would
    not give Keras's outputs. ``built_here``: the layer is one this module made (converting to Keras).
    """
    # on the torch backend (and for JAX arrays on the CPU) the NumPy view can share the variable's
    # memory; a copy keeps a later Keras training step from changing the converted weights
    host = np.array(_keras().ops.convert_to_numpy(variable.value), copy=True)
    if str(host.dtype) != str(variable.dtype):
        raise ConfigError(f"Keras variable {variable.path!r} declares {variable.dtype} but holds {host.dtype}; "
                          + _stored_dtype_hint(built_here))
    return host


def _stored_dtype_hint(built_here: bool) -> str:
    """What to do about a Keras variable that holds another dtype than it declares."""
    if _keras().backend.backend() != "jax":
        return "build the layers with dtype='float32' or 'float64'"
    import jax

    turn_on = ("JAX keeps float64 as float32 unless its 64-bit mode is on: call jax.config.update('jax_enable_x64', True) "
               "(or set JAX_ENABLE_X64=1) before ")
    if built_here:
        return turn_on + "converting, or convert float32 params (.astype('float32'), or Model.create(..., dtype='float32'))"
    if jax.config.jax_enable_x64:
        return "the layer was built while JAX's 64-bit mode was off: build it again now that it is on"
    return turn_on + "building the layers, or build them with dtype='float32'"


def _name(fn) -> str:
    """Keras's name of one of its activations ('relu'), else the function's full name ('jax.numpy.tanh')."""
    name = getattr(fn, "__name__", None)
    if name is not None and getattr(_keras().activations, name, None) is fn:
        return name
    return f"{getattr(fn, '__module__', None) or '?'}.{name}" if name else repr(fn)


def _is(fn, name: str) -> bool:
    """True when ``fn`` is Keras's own ``name`` function (the test Keras itself uses for its cuDNN path)."""
    keras = _keras()
    return fn is getattr(keras.activations, name) or fn is getattr(keras.ops, name, None)


def _class_name(obj) -> str:
    """``module.Class`` of ``obj``'s class, as a user would import it."""
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _check_class(layer: Any, cls: type) -> None:
    """Refuse ``layer`` (already an instance of Keras's ``cls``) unless its class is ``cls`` itself, and its cell's
    class Keras's own cell: a subclass can override ``call`` and compute something else, which no converter sees."""
    if type(layer) is not cls:
        raise ConfigError(f"layer {layer.name!r} is a {_class_name(layer)}, a subclass of keras.layers.{cls.__name__}; only "
                          f"keras.layers.{cls.__name__} itself converts, since a subclass may compute something else: use a "
                          f"keras.layers.{cls.__name__} (if it computes the same, copy the weights: new.set_weights(layer.get_weights()))")
    cell_cls = getattr(_keras().layers, f"{cls.__name__}Cell", None)  # LSTMCell, GRUCell, SimpleRNNCell
    if cell_cls is not None and type(layer.cell) is not cell_cls:
        raise ConfigError(f"layer {layer.name!r} runs a {_class_name(layer.cell)} cell, not keras.layers.{cell_cls.__name__}; only "
                          f"Keras's own cell converts, since another may compute something else: use a plain keras.layers.{cls.__name__}")


def _check_not_quantized(layer: Any, where: str) -> None:
    """Refuse a quantized layer: its kernel holds integers and a scale, and the weights here are float32 or float64."""
    mode = getattr(layer, "quantization_mode", None)
    if mode is not None:
        raise ConfigError(f"{where} is quantized ({mode}): its weights are {mode} values with scales, which have no counterpart "
                          "here; convert the model before quantizing it")


def _check_layer(layer: Any, kind: str):
    """The dtype name of ``layer``, after checking that it is a built Keras ``kind`` layer whose math is here.

    Refuses (``TypeError``, ``ConfigError``) what would convert wrongly; warns (``ConversionWarning``)
    about training-time settings that have no counterpart here.
    """
    keras = _keras()
    cls = getattr(keras.layers, kind)
    if not isinstance(layer, cls):
        hint = "; convert each direction's layer (.forward_layer, .backward_layer) by hand" if isinstance(layer, keras.layers.Bidirectional) else ""
        raise TypeError(f"expected a keras.layers.{kind}, got {type(layer).__name__}{hint}")
    _check_class(layer, cls)
    where = f"Keras {kind} layer {layer.name!r}"
    if not layer.built:
        raise ConfigError(f"{where} is not built, so it has no weights yet; call it on an input (layer(x)) or build it "
                          "(layer.build((None, T, D))) first")
    cell = layer.cell
    if not _is(cell.activation, "tanh"):
        raise ConfigError(f"{where} has activation={_name(cell.activation)!r}; only 'tanh' has a counterpart here: rebuild it with activation='tanh'")
    if kind != "SimpleRNN" and not _is(cell.recurrent_activation, "sigmoid"):
        raise ConfigError(f"{where} has recurrent_activation={_name(cell.recurrent_activation)!r}; only 'sigmoid' has a counterpart "
                          "here: rebuild it with recurrent_activation='sigmoid'")
    if layer.go_backwards:
        raise ConfigError(f"{where} has go_backwards=True (it reads each sequence last step first); not supported: reverse the "
                          "time axis of x yourself and use a layer with go_backwards=False")
    policy = layer.dtype_policy
    if policy.variable_dtype not in DTYPES or policy.compute_dtype != policy.variable_dtype:
        raise ConfigError(f"{where} stores {policy.variable_dtype} and computes in {policy.compute_dtype} (dtype policy "
                          f"{policy.name!r}); only float32 or float64 throughout converts exactly: rebuild it with dtype='float32'")
    _check_not_quantized(layer, where)
    _note_training_only(layer, where)
    if layer.stateful:
        warnings.warn(f"{where} is stateful: the states it carries between calls are not weights and were not converted; "
                      "pass them as h0 (and c0) to run on from them", ConversionWarning, stacklevel=3)
    return policy.variable_dtype


def _note_training_only(layer, where: str) -> None:
    """Warn once about the settings that act only while Keras trains (dropout, regularizers, constraints)."""
    config = layer.get_config()
    settings = [f"{key}={config[key]}" for key in ("dropout", "recurrent_dropout") if config.get(key, 0.0)]
    settings += [key for key, value in config.items() if key.endswith(("_regularizer", "_constraint")) and value is not None]
    if settings:
        warnings.warn(f"{where} has {', '.join(settings)}: training-time only, with no counterpart here; the converted "
                      "weights give the same outputs, but training them here applies none of it", ConversionWarning, stacklevel=4)


def _weights(layer) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Host copies of ``kernel``, ``recurrent_kernel`` and ``bias`` (None when ``use_bias=False``)."""
    cell = layer.cell
    bias = _host_copy(cell.bias) if cell.use_bias else None
    return _host_copy(cell.kernel), _host_copy(cell.recurrent_kernel), bias


def _swap_r_z(a: np.ndarray, H: int) -> np.ndarray:
    """Keras's GRU blocks z | r | h as this package's r | z | n along the last axis, or back.

    Swapping the first two blocks is its own inverse.
    """
    return np.concatenate([a[..., 1 * H : 2 * H], a[..., 0 * H : 1 * H], a[..., 2 * H : 3 * H]], axis=-1)


def lstm_from_keras(layer: Any, *, xp=None, device=None) -> Params:
    """``{"W_x" (D, 4H), "W_h" (H, 4H), "b" (4H,)}`` of a built ``keras.layers.LSTM``, as copies.

    The gate blocks are in the same order (Keras's i | f | c | o is this package's i | f | g | o), so
    the arrays are Keras's, placed in namespace ``xp`` (NumPy when omitted) on ``device`` with the
    layer's dtype. The module docstring lists what is refused and what is only noted.
    """
    dtype = _check_layer(layer, "LSTM")
    kernel, recurrent, bias = _weights(layer)
    b = np.zeros(kernel.shape[1], dtype=kernel.dtype) if bias is None else bias
    return place({"W_x": kernel, "W_h": recurrent, "b": b}, xp=xp, dtype=dtype, device=device)


def rnn_from_keras(layer: Any, *, xp=None, device=None) -> Params:
    """``{"W_x" (D, H), "W_h" (H, H), "b" (H,)}`` of a built tanh ``keras.layers.SimpleRNN``, as copies."""
    dtype = _check_layer(layer, "SimpleRNN")
    kernel, recurrent, bias = _weights(layer)
    b = np.zeros(kernel.shape[1], dtype=kernel.dtype) if bias is None else bias
    return place({"W_x": kernel, "W_h": recurrent, "b": b}, xp=xp, dtype=dtype, device=device)


def gru_from_keras(layer: Any, *, reset_after: bool = True, xp=None, device=None) -> Params:
    """``{"W_x" (D, 3H), "W_h" (H, 3H), "b_x" (3H,), "b_h" (3H,)}`` of a built ``keras.layers.GRU``, as copies.

    Blocks r | z | n (Keras's z | r | h with the first two swapped). ``reset_after`` must match the
    layer's: it is the variant of ``gru_forward`` these weights belong to, so a Keras GRU with
    ``reset_after=False`` needs ``gru_from_keras(layer, reset_after=False)`` here and
    ``gru_forward(params, x, reset_after=False)`` to run; asking for the other variant is refused,
    because the same arrays would compute something else. In that variant ``b_x`` is Keras's bias and
    ``b_h`` is zero; training here then moves both, so one SGD step moves the bias twice as far as in
    Keras, where it is one array.
    """
    dtype = _check_layer(layer, "GRU")
    if layer.cell.reset_after != reset_after:
        raise ConfigError(f"Keras GRU layer {layer.name!r} has reset_after={layer.cell.reset_after}, but reset_after={reset_after} was asked "
                          f"for; pass reset_after={layer.cell.reset_after} here and to gru_forward (the two variants compute different things)")
    kernel, recurrent, bias = _weights(layer)
    H = recurrent.shape[0]
    zeros = np.zeros(3 * H, dtype=kernel.dtype)
    if bias is None:
        b_x, b_h = zeros, zeros.copy()
    elif reset_after:
        b_x, b_h = bias[0, :], bias[1, :]  # (3H,) each: input bias, recurrent bias
    else:
        b_x, b_h = bias, zeros
    host = {"W_x": _swap_r_z(kernel, H), "W_h": _swap_r_z(recurrent, H), "b_x": _swap_r_z(b_x, H), "b_h": _swap_r_z(b_h, H)}
    return place(host, xp=xp, dtype=dtype, device=device)


def _one_layer(params: Params, converter: str) -> Params:
    """``params`` when it is one layer's dict, refusing a list of them (whose keys the size check would call missing)."""
    if isinstance(params, Mapping):
        return params
    if isinstance(params, (list, tuple)):
        raise ConfigError(f"expected one layer's parameter dict, got a {type(params).__name__} of {len(params)} layer dicts: "
                          f"pass layers[0], or convert each layer ([{converter}(p) for p in layers])")
    raise TypeError(f"expected one layer's parameter dict (W_x, W_h, ...), got a {type(params).__name__}")


def _host_params(params: Params) -> tuple[dict[str, np.ndarray], str]:
    """Host copies of ``params`` and their dtype name (float32 or float64, refused otherwise)."""
    host = {name: np.array(to_numpy(a), copy=True) for name, a in params.items()}
    dtype = str(host["W_x"].dtype)
    if dtype not in DTYPES or any(str(a.dtype) != dtype for a in host.values()):
        raise ConfigError("Keras layers need float32 or float64 params of one dtype, got "
                          + ", ".join(f"{name} {a.dtype}" for name, a in host.items()))
    return host, dtype


def _build(layer, D: int, arrays: list[np.ndarray]):
    """Build ``layer`` for D inputs and assign its kernel, recurrent kernel and bias."""
    layer.build((None, None, D))
    cell = layer.cell
    for variable, a in zip((cell.kernel, cell.recurrent_kernel, cell.bias), arrays):
        variable.assign(a)
        _host_copy(variable, built_here=True)  # refuses a float64 layer that JAX stores as float32
    return layer


def lstm_to_keras(params: Params, *, return_sequences: bool = False, name: str | None = None):
    """A built ``keras.layers.LSTM`` holding exactly ``params`` (any namespace; float32 or float64).

    ``return_sequences`` is Keras's: True returns the whole (B, T, H) sequence, False its last step.
    """
    D, H = lstm_sizes(_one_layer(params, "lstm_to_keras"))
    host, dtype = _host_params(params)
    layer = _keras().layers.LSTM(H, return_sequences=return_sequences, dtype=dtype, name=name)
    return _build(layer, D, [host["W_x"], host["W_h"], host["b"]])


def rnn_to_keras(params: Params, *, return_sequences: bool = False, name: str | None = None):
    """A built tanh ``keras.layers.SimpleRNN`` holding exactly ``params``."""
    D, H = rnn_sizes(_one_layer(params, "rnn_to_keras"))
    host, dtype = _host_params(params)
    layer = _keras().layers.SimpleRNN(H, return_sequences=return_sequences, dtype=dtype, name=name)
    return _build(layer, D, [host["W_x"], host["W_h"], host["b"]])


def gru_to_keras(params: Params, *, reset_after: bool = True, return_sequences: bool = False, name: str | None = None):
    """A built ``keras.layers.GRU`` holding exactly ``params`` of the ``reset_after`` variant.

    ``reset_after=True``: Keras's bias is ``[b_x; b_h]`` (2, 3H). ``reset_after=False``: Keras has one
    bias and gets ``b_x + b_h`` (exactly ``b_x`` for weights that came from Keras, where ``b_h`` is 0).
    """
    D, H = gru_sizes(_one_layer(params, "gru_to_keras"))
    host, dtype = _host_params(params)
    if reset_after:
        bias = np.stack([host["b_x"], host["b_h"]], axis=0)  # (2, 3H)
    else:
        bias = host["b_x"] + host["b_h"]  # (3H,)
    layer = _keras().layers.GRU(H, reset_after=reset_after, return_sequences=return_sequences, dtype=dtype, name=name)
    return _build(layer, D, [_swap_r_z(host["W_x"], H), _swap_r_z(host["W_h"], H), _swap_r_z(bias, H)])
