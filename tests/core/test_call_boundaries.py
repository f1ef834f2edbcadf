"""Calls of the public functions that NumPy would broadcast, promote or answer with a raw error: each refused with one
line that names the shape, dtype or cache it needs (found by a review that called them as a learner would)."""

import re

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.errors import ConfigError, DtypeError
from scratchlstm.nn import Model, ModelConfig, model_backward, model_forward
from scratchlstm.nn.gru import gru_backward
from scratchlstm.nn.layer import LSTM
from scratchlstm.nn.stack import draw_dropout_masks, stack_backward, stack_forward

P32 = sl.init_lstm_params(2, 3)  # float32, D=2, H=3
H32 = np.zeros((4, 3), np.float32)


@pytest.mark.parametrize("x_t, h_prev, c_prev, error, message", [
    (np.random.default_rng(0).random((4, 2)), H32, H32, DtypeError, "W_x is float32 but x_t is float64"),  # was promoted
    (np.ones((4, 2), int), H32, H32, DtypeError, "x_t is int64"),
    (np.ones((4, 2), np.float32), np.zeros((1, 3), np.float32), H32, ValueError, r"h_prev must have shape \(B, H\) = \(4, 3\)"),
    (np.ones((4, 2), np.float32), H32, np.zeros((4, 1), np.float32), ValueError, r"c_prev must have shape \(B, H\) = \(4, 3\)"),
    (np.ones((4, 5), np.float32), H32, H32, ValueError, r"x_t must have shape \(B, D\) with D = 2"),
])
def test_the_one_step_forward_checks_what_the_sequence_forward_checks(x_t, h_prev, c_prev, error, message):
    with pytest.raises(error, match=message):
        sl.lstm_cell_forward(P32, x_t, h_prev, c_prev)


def test_the_one_step_backward_checks_its_gradients():
    _, _, step = sl.lstm_cell_forward(P32, np.ones((4, 2), np.float32), H32, H32)
    with pytest.raises(ValueError, match=r"dh must have shape \(B, H\) = \(4, 3\), got \(3,\)"):
        sl.lstm_cell_backward(P32, np.ones(3, np.float32), np.ones((4, 3), np.float32), step)
    with pytest.raises(DtypeError, match="dc is float64"):
        sl.lstm_cell_backward(P32, np.ones((4, 3), np.float32), np.ones((4, 3)), step)
    grads, dx, dh, dc = sl.lstm_cell_backward(P32, np.ones((4, 3), np.float32), np.ones((4, 3), np.float32), step)
    assert dx.shape == (4, 2) and dh.shape == dc.shape == (4, 3) and grads["b"].dtype == np.float32


P64 = sl.init_lstm_params(3, 4, dtype="float64")
X64 = np.random.default_rng(1).random((5, 2, 3))


@pytest.mark.parametrize("mask", [np.ones((5, 1, 4)), np.ones(4), np.ones((5, 2, 3))])
def test_a_dropout_mask_of_another_shape_is_refused_not_broadcast(mask):
    with pytest.raises(ValueError, match=r"dropout_masks\[0\] must have shape \(T, B, H_l\) = \(5, 2, 4\)"):
        stack_forward("lstm", [P64], X64, dropout_masks=[mask])


def test_stack_backward_checks_the_gradients_it_is_given():
    out, _, cache = stack_forward("lstm", [P64], X64)
    with pytest.raises(ValueError, match=r"dout_last must have shape \(B, H_last\) = \(2, 4\), got \(4,\)"):
        stack_backward(cache, None, dout_last=np.ones(4))
    with pytest.raises(ValueError, match=r"dout_last must have shape \(B, H_last\) = \(2, 4\), got \(1, 4\)"):
        stack_backward(cache, None, [(np.ones((2, 4)), None)], dout_last=np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"dout must have shape \(T, B, H_last\) = \(5, 2, 4\)"):
        stack_backward(cache, np.ones((5, 1, 4)))
    with pytest.raises(ValueError, match=r"dstates_T must hold one entry per layer \(1"):
        stack_backward(cache, None, [None, None])
    grads, dx, _ = stack_backward(cache, np.ones_like(out))
    assert dx.shape == X64.shape


@pytest.mark.parametrize("head, shape", [("all", (3, 6)), ("all", (3, 1, 1)), ("all", (6, 3, 1)), ("last", (3,)),
                                         ("last", (3, 6)), ("last", (1, 1))])
def test_model_backward_refuses_a_dy_of_another_shape(head, shape):
    model = Model.create(ModelConfig(hidden_sizes=(4,), head=head), dtype="float64")
    y, _, cache = model_forward(model, np.random.default_rng(2).random((3, 6, 1)))
    with pytest.raises(ValueError, match=r"dy must have shape \(B, (T, )?output_size\) = " + str(tuple(y.shape)).replace("(", r"\(").replace(")", r"\)")):
        model_backward(cache, np.ones(shape))
    grads, dx, _ = model_backward(cache, np.ones(y.shape))
    assert dx.shape == (3, 6, 1)


@pytest.mark.parametrize("states", [3, 1, "2-D"])
def test_the_lstm_class_refuses_states_of_another_number_of_layers(states):
    layer = LSTM(2, 4, num_layers=2)
    x = np.random.default_rng(3).random((5, 3, 2)).astype(np.float32)
    state = np.zeros((3, 4), np.float32) if states == "2-D" else np.zeros((states, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"state\[0\] must have shape \(num_layers, B, H\) = \(2, B, 4\)"):
        layer(x, (state, state))
    out, (h, c) = layer(x, (np.zeros((2, 3, 4), np.float32),) * 2)
    with pytest.raises(ValueError, match=r"dstate\[0\] must have shape"):
        layer.backward(np.ones_like(out), (np.zeros((3, 3, 4), np.float32), None))


@pytest.mark.parametrize("p", [1.0, -0.5, 1.5, float("nan")])
def test_dropout_masks_need_a_probability_below_one(p):
    """1 gave masks of NaN with a RuntimeWarning only, -0.5 scaled every output by 2/3, 1.5 zeroed them."""
    with pytest.raises(ConfigError, match="dropout must be at least 0 and below 1"):
        draw_dropout_masks(p, 2, 2, [3], np.random.default_rng(0), X64)


def test_a_backward_without_its_forwards_cache_says_why():
    hs, _, none = sl.lstm_forward(P64, X64, need_cache=False)
    with pytest.raises(ValueError, match="lstm_backward got no cache: the forward ran with need_cache=False"):
        sl.lstm_backward(none, hs)
    _, _, lstm_cache = sl.lstm_forward(P64, X64)
    with pytest.raises(TypeError, match="gru_backward needs the cache of its own cell's forward \\(GRUCache\\), got a LSTMCache"):
        gru_backward(lstm_cache, hs)
    with pytest.raises(TypeError, match="x must be an array .* got a list"):
        sl.lstm_forward(P64, X64.tolist())


def _masked(a):
    """``a`` as a masked array with one entry masked, the way a learner marks a missing price."""
    mask = np.zeros(a.shape, bool)
    mask.flat[1] = True
    return np.ma.masked_array(a, mask=mask)


MASKED_MESSAGE = r" is a NumPy masked array: its masked numbers would be read as data \(nothing here looks at a mask\); fill them first"


@pytest.mark.parametrize("engine", sl.ENGINES)
def test_a_masked_array_is_refused_not_read_with_its_masked_numbers(engine):
    """The fast engine used the masked numbers as data and answered; the reference failed on a dtype it had not been
    given (the mask's fill turned h_prev into float64). Every engine, the step, the sequence and a model's predict."""
    x = np.random.default_rng(0).random((5, 4, 2)).astype(np.float32)
    with pytest.raises(TypeError, match=r"^x" + MASKED_MESSAGE + r" \(for NumPy: np.asarray\(x.filled\(value\)\)\)"):
        sl.lstm_forward(P32, _masked(x), engine=engine)
    with pytest.raises(TypeError, match=r"^h0" + MASKED_MESSAGE):
        sl.lstm_forward(P32, x, h0=_masked(H32), engine=engine)
    with pytest.raises(TypeError, match=r"^W_h" + MASKED_MESSAGE):
        sl.lstm_forward({**P32, "W_h": _masked(P32["W_h"])}, x, engine=engine)
    model = Model.create(ModelConfig(input_size=2, hidden_sizes=(3,)), seed=0)
    with pytest.raises(TypeError, match=r"^x" + MASKED_MESSAGE):
        model.predict(_masked(x.transpose(1, 0, 2)), engine=engine)


def test_a_masked_array_is_refused_by_the_one_step_functions_the_other_cells_and_train():
    """``train``'s own refusal advised np.asarray, which keeps the masked numbers as data: the message says to fill them."""
    from scratchlstm.train import TrainConfig, train
    with pytest.raises(TypeError, match=r"^x_t" + MASKED_MESSAGE):
        sl.lstm_cell_forward(P32, _masked(np.ones((4, 2), np.float32)), H32, H32)
    for forward, params in [(sl.gru_forward, sl.init_gru_params(2, 3)), (sl.rnn_forward, sl.init_rnn_params(2, 3))]:
        with pytest.raises(TypeError, match=r"^x" + MASKED_MESSAGE):
            forward(params, _masked(np.ones((5, 4, 2), np.float32)))
    X = np.random.default_rng(0).random((6, 5, 2)).astype(np.float32)
    y = np.ones((6, 1), np.float32)
    model = Model.create(ModelConfig(input_size=2, hidden_sizes=(3,)), seed=0)
    for name, args in [("X", (_masked(X), y)), ("y", (X, _masked(y))), ("X_val", (X, y, _masked(X), y))]:
        with pytest.raises(TypeError, match=rf"^{name}" + MASKED_MESSAGE):
            train(model, *args, config=TrainConfig(epochs=1, quiet=True))


@pytest.mark.parametrize("name, value", [("h0", H32.tolist()), ("h0", 0.0), ("c0", H32.tolist())])
def test_states_that_are_not_arrays_are_refused_with_the_cast(name, value):
    """A list or a float failed as "'list' object has no attribute 'shape'" (x as a list already had its message)."""
    x = np.zeros((5, 4, 2), np.float32)
    with pytest.raises(TypeError, match=rf"^{name} must be an array \(B, H\) = \(4, 3\) or None, got a {type(value).__name__}; make one"):
        sl.lstm_forward(P32, x, **{name: value})


def test_output_gradients_that_are_not_arrays_are_refused_with_the_cast():
    x = np.zeros((5, 4, 2), np.float32)
    _, _, cache = sl.lstm_forward(P32, x)
    with pytest.raises(TypeError, match=r"^dhs must be an array \(T, B, H\) = \(5, 4, 3\) or None, got a list"):
        sl.lstm_backward(cache, np.zeros((5, 4, 3), np.float32).tolist())
    with pytest.raises(TypeError, match=r"^dh_T must be an array \(B, H\) = \(4, 3\) or None, got a float"):
        sl.lstm_backward(cache, None, 1.0)


def test_arrays_of_two_libraries_in_one_call_are_refused_naming_which_is_which():
    """array-api-compat's own message listed two namespaces and named no array."""
    torch = pytest.importorskip("torch")
    x = np.zeros((5, 4, 2), np.float32)
    with pytest.raises(TypeError, match=r"^every array of a call must come from one library, but x is torch; W_x, W_h, b are numpy: convert one side"):
        sl.lstm_forward(P32, torch.zeros(5, 4, 2))
    with pytest.raises(TypeError, match=r"h0 is torch"):
        sl.lstm_forward(P32, x, h0=torch.zeros(4, 3))
    model = Model.create(ModelConfig(hidden_sizes=(3,)), seed=0)
    with pytest.raises(TypeError, match=r"^every array of a call must come from one library, but the model is numpy; x is torch"):
        model.predict(torch.zeros(2, 5, 1))


@pytest.mark.parametrize("edit, error, message", [
    (lambda p: {**p, "W_x": p["W_x"].ravel()}, ValueError, r"^LSTM params: W_x must have 2 axes, got shape \(24,\)$"),  # 'not enough values to unpack'
    (lambda p: {**p, "W_x": p["W_x"][None]}, ValueError, r"^LSTM params: W_x must have 2 axes, got shape \(1, 2, 12\)$"),
    (lambda p: {**p, "W_h": np.float32(1.0)}, ValueError, r"^LSTM params: W_h must have 2 axes, got shape \(\)$"),  # IndexError
    (lambda p: {k: v.tolist() for k, v in p.items()}, TypeError, r"^LSTM params: W_x must be an array, got a list"),  # AttributeError
    (lambda p: [p], ConfigError, r"^expected one layer's LSTM params \(a dict\), got a list of 1; pass one of them \(layers\[0\]\)"),
])
def test_malformed_parameters_are_refused_naming_the_array(edit, error, message):
    """``lstm_from_torch`` returns a list of layers; given to ``lstm_forward`` it was told that its keys were missing."""
    with pytest.raises(error, match=message):
        sl.lstm_forward(edit(P32), np.zeros((5, 4, 2), np.float32))


@pytest.mark.parametrize("shape, hint", [((4, 2), True), ((1, 4, 2, 2), False)])
def test_the_batch_first_layer_checks_the_shape_before_swapping_axes(shape, hint):
    """It swapped the first two axes first, and a 2-d input got NumPy's "axes don't match array"."""
    layer = LSTM(2, 3, batch_first=True)
    unbatched = r"; one unbatched sequence \(T, D\) needs a batch axis first: x\[None\]$" if hint else r"$"
    with pytest.raises(ValueError, match=rf"^x must have shape \(B, T, D\) with batch_first=True, got {re.escape(str(shape))}{unbatched}"):
        layer(np.zeros(shape, np.float32))
    output, _ = layer(np.zeros((4, 5, 2), np.float32))
    with pytest.raises(ValueError, match=r"^doutput must have shape \(B, T, H\) with batch_first=True, got \(4, 5\)"):
        layer.backward(output[..., 0])


def test_a_batch_first_backward_names_the_shape_it_expects_not_the_one_given():
    """With batch_first, a (T, B, H) doutput was told "must have shape (T, B, H_last) = (7, 5, 4), got (5, 7, 4)": the
    shape given, as the one expected, checked after the swap."""
    import numpy as np

    from scratchlstm import LSTM

    layer = LSTM(3, 4, 2, batch_first=True, dtype="float64")
    layer(np.zeros((5, 7, 3)))
    with pytest.raises(ValueError, match=r"doutput must have the shape of the last output, \(B, T, H\) = \(5, 7, 4\) with "
                                         r"batch_first=True, got \(7, 5, 4\)"):
        layer.backward(np.zeros((7, 5, 4)))
    assert layer.backward(np.ones((5, 7, 4)))[0].shape == (5, 7, 3)


def test_numpy_numbers_and_dtypes_are_read_as_python_ones_and_a_nan_forget_bias_is_refused():
    """``np.int64(4)`` (what arithmetic on arrays gives) was "must be an integer, got np.int64(4)"; ``np.dtype("float64")``
    gave "attribute name must be string"; a NaN forget_bias made every bias NaN."""
    from scratchlstm.nn.init import init_lstm_params
    from scratchlstm.train import TrainConfig

    assert ModelConfig(hidden_sizes=(np.int64(4),)).hidden_sizes == (4,)
    epochs = TrainConfig(epochs=np.int64(3)).epochs
    assert epochs == 3 and type(epochs) is int
    with pytest.raises(ConfigError, match="epochs must be an integer, got np.True_"):
        TrainConfig(epochs=np.bool_(True))
    for dtype in (np.dtype("float64"), np.float64):
        assert init_lstm_params(2, 3, dtype=dtype)["W_x"].dtype == np.float64
    assert init_lstm_params(2, 3, forget_bias=np.float32(2.0))["b"][3] == 2.0
    with pytest.raises(ConfigError, match="forget_bias must be a finite number, got nan"):
        init_lstm_params(2, 3, forget_bias=float("nan"))


def test_checkpoint_metadata_that_json_cannot_write_is_refused_before_training(tmp_path):
    """A NumPy number in it trained a whole epoch, then failed with JSON's TypeError at the first save."""
    from scratchlstm.errors import CheckpointError
    from scratchlstm.train import TrainConfig, train

    X, y = np.zeros((8, 3, 1), np.float32), np.zeros((8, 1), np.float32)
    model = Model.create(ModelConfig(hidden_sizes=(2,)), seed=0)
    with pytest.raises(CheckpointError, match=r"the metadata cannot be written as JSON \(Object of type float32 is not JSON "
                                              r"serializable\); give Python numbers"):
        train(model, X, y, config=TrainConfig(epochs=1, quiet=True), checkpoint=tmp_path / "c.npz",
              checkpoint_meta={"scale": np.float32(2)})
    assert not (tmp_path / "c.npz").exists()


def test_one_step_without_a_state_says_what_to_give():
    """``lstm_cell_forward(p, x_t, None, None)`` failed inside matmul: "operand 0 does not have enough dimensions"."""
    from scratchlstm.nn.init import init_lstm_params
    from scratchlstm.nn.lstm import lstm_cell_backward, lstm_cell_forward

    params = init_lstm_params(3, 4, dtype="float64")
    with pytest.raises(TypeError, match=r"h_prev is None: one step continues a state: give zeros for the first step, of shape "
                                        r"\(B, H\) = \(2, 4\)"):
        lstm_cell_forward(params, np.zeros((2, 3)), None, None)
    _, _, cache = lstm_cell_forward(params, np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(TypeError, match=r"dc is None: one step continues a gradient: give zeros, of shape \(B, H\) = \(2, 4\)"):
        lstm_cell_backward(params, np.ones((2, 4)), None, cache)


def test_a_params_entry_that_is_no_array_is_named_as_such():
    """``params["junk"] = "note"`` was told "junk is builtins: convert one side (a torch tensor ...)"."""
    params = dict(sl.init_lstm_params(3, 4, dtype="float64"), junk="note")
    with pytest.raises(TypeError, match=r"^junk is a str, not an array: a call takes arrays only"):
        sl.lstm_forward(params, np.zeros((2, 2, 3)))
