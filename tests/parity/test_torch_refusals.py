"""What the PyTorch converters refuse, or only note, instead of converting something else.

``Parameter.copy_`` broadcasts and casts, so an exporter that checked nothing filled every unit from
a (1,) bias and cast a float64 array into a float32 module; an importer handed torch's own errors
for a bfloat16 module or one on the meta device, and dropped ``dropout`` between layers silently.
"""

import warnings

import numpy as np
import pytest

from scratchlstm import init_gru_params, init_lstm_params, init_rnn_params, interop
from scratchlstm.errors import ConfigError, DtypeError
from scratchlstm.nn.gru import gru_forward
from scratchlstm.nn.lstm import lstm_forward
from scratchlstm.nn.rnn import rnn_forward

from tests.helpers import max_rel_diff

torch = pytest.importorskip("torch")

D, H = 2, 3
INIT = {"lstm": init_lstm_params, "gru": init_gru_params, "rnn": init_rnn_params}
MODULES = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
FORWARD = {"lstm": lstm_forward, "gru": gru_forward, "rnn": rnn_forward}


def _layers(kind, dtype="float64", n=2):
    return [INIT[kind](D if l == 0 else H, H, dtype=dtype, seed=l) for l in range(n)]


def _to_torch(kind):
    return getattr(interop, f"{kind}_to_torch")


def _from_torch(kind):
    return getattr(interop, f"{kind}_from_torch")


@pytest.mark.parametrize("kind, layer, message", [
    ("rnn", lambda p: {**p, "b": np.array([0.7])}, r"layer 1 cannot be a torch.nn.RNN layer: .*b \(1,\)"),
    ("gru", lambda p: {**p, "b_h": np.array([0.5])}, r"layer 1 cannot be a torch.nn.GRU layer: .*b_h \(1,\)"),
    ("lstm", lambda p: {**p, "W_h": p["W_h"][:1]}, r"layer 1 cannot be a torch.nn.LSTM layer: .*W_h \(1, 12\)"),
    ("gru", lambda p: init_lstm_params(H, H, dtype="float64"), r"layer 1 cannot be a torch.nn.GRU layer: .*missing \['b_x', 'b_h'\]"),
    ("rnn", lambda p: init_lstm_params(H, H, dtype="float64"), r"layer 1 cannot be a torch.nn.RNN layer: .*W_x \(3, 12\)"),
])
def test_each_layer_is_checked_with_its_own_cells_sizes(kind, layer, message):
    # a (1,) bias used to fill every unit of the torch module without a word
    layers = _layers(kind)
    layers[1] = layer(layers[1])
    with pytest.raises(ConfigError, match=message):
        _to_torch(kind)(layers)


@pytest.mark.parametrize("kind", sorted(INIT))
def test_a_layer_whose_input_is_not_the_hidden_size_below_is_refused(kind):
    layers = _layers(kind)
    layers[1] = INIT[kind](D, H, dtype="float64")  # D = 2 inputs, but layer 0 gives H = 3
    with pytest.raises(ValueError, match="layer 1 has \\(D, H\\) = \\(2, 3\\)"):
        _to_torch(kind)(layers)


@pytest.mark.parametrize("kind", sorted(INIT))
def test_params_of_mixed_dtypes_are_refused_not_cast(kind):
    mixed_layers = [INIT[kind](D, H, dtype="float32"), INIT[kind](H, H, dtype="float64")]
    with pytest.raises(DtypeError, match=r"one dtype: layers\[1\]\['W_x'\] is float64 but layers\[0\]\['W_x'\] is float32"):
        _to_torch(kind)(mixed_layers)
    first = INIT[kind](D, H, dtype="float32")
    bias = "b_h" if kind == "gru" else "b"
    with pytest.raises(DtypeError, match=rf"layers\[0\]\['{bias}'\] is float64 .*\.astype\('float32'\)"):
        _to_torch(kind)([{**first, bias: first[bias].astype("float64")}])


@pytest.mark.parametrize("dtype", ["float16", "int64"])
@pytest.mark.parametrize("kind", sorted(INIT))
def test_params_that_are_not_float32_or_float64_are_refused_with_the_cast(kind, dtype):
    layers = [{name: a.astype(dtype) for name, a in p.items()} for p in _layers(kind)]
    with pytest.raises(DtypeError, match=rf"layers\[0\]\['W_x'\] is {dtype}; .*\.astype\('float32'\)"):
        _to_torch(kind)(layers)


@pytest.mark.parametrize("kind", sorted(INIT))
def test_a_list_entry_that_is_not_a_dict_is_refused(kind):
    with pytest.raises(ConfigError, match="layer 0 is a list, not a dict"):
        _to_torch(kind)([_layers(kind)])


@pytest.mark.parametrize("kind", sorted(MODULES))
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_a_module_in_half_precision_is_refused_with_the_fix(kind, dtype):
    module = MODULES[kind](D, H).to(getattr(torch, dtype))
    with pytest.raises(DtypeError, match=rf"is {dtype}: convert it with module.float\(\) or module.double\(\) first"):
        _from_torch(kind)(module)


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_a_module_on_the_meta_device_is_refused_with_the_fix(kind):
    module = MODULES[kind](D, H, device="meta")
    with pytest.raises(ConfigError, match="on the meta device.*load or materialise them first"):
        _from_torch(kind)(module)


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_dropout_between_layers_is_noted_and_the_weights_still_convert(kind):
    torch.manual_seed(0)
    module = MODULES[kind](D, H, num_layers=2, dropout=0.5, dtype=torch.float64).eval()
    with pytest.warns(interop.ConversionWarning, match="dropout=0.5 between its 2 layers: training-time only"):
        layers = _from_torch(kind)(module)
    x = np.random.default_rng(1).normal(size=(5, 4, D))  # (T, B, D)
    seq = x
    for params in layers:
        seq = FORWARD[kind](params, seq)[0]
    with torch.no_grad():
        expected, _ = module(torch.tensor(x))  # eval mode: torch applies no dropout either
    assert max_rel_diff(seq, expected.numpy()) < 1e-12


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_modules_without_active_dropout_convert_silently(kind):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _from_torch(kind)(MODULES[kind](D, H, num_layers=2))
        _from_torch(kind)(MODULES[kind](D, H, num_layers=1, dropout=0.0))
