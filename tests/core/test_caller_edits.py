"""Both engines differentiate the forward that ran, whatever the caller changes between forward and backward.

The caller may edit ``x``, ``h0``, ``c0`` or the parameter arrays in place, or put other arrays in
the parameter dict (an optimizer step does), before calling backward: the reference and the kernel
must give the gradients of the untouched forward, and the same ones.
"""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.errors import DtypeError
from scratchlstm.nn.stack import stack_forward
from tests.helpers import random_lstm_host

T, B, D, H = 4, 3, 2, 5


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return (random_lstm_host(D, H, seed), rng.normal(size=(T, B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H)),
            rng.normal(size=(T, B, H)))


def _edit(params, x, h0, c0, how):
    if how == "in place":
        for a in (params["W_x"], params["W_h"], params["b"], x, h0, c0):
            a *= 3.0
    else:  # new arrays in the dict, as an optimizer's step puts them
        for name in list(params):
            params[name] = params[name] + 1.0


@pytest.mark.parametrize("how", ["in place", "in the dict"])
@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_lstm_backward_is_the_gradient_of_the_forward_that_ran(engine, how):
    params, x, h0, c0, dhs = _inputs()
    untouched = sl.lstm_backward(sl.lstm_forward({k: v.copy() for k, v in params.items()}, x.copy(), h0.copy(), c0.copy(),
                                                 engine="reference")[2], dhs)
    _, _, cache = sl.lstm_forward(params, x, h0, c0, engine=engine)
    _edit(params, x, h0, c0, how)
    grads, dx, dh0, dc0 = sl.lstm_backward(cache, dhs)
    for name in grads:
        np.testing.assert_allclose(grads[name], untouched[0][name], rtol=1e-12, atol=1e-14)
    for got, want in ((dx, untouched[1]), (dh0, untouched[2]), (dc0, untouched[3])):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_gru_and_rnn_backward_too(cell):
    kind = sl.nn.cells.get_cell(cell)
    params = kind.init(D, H, seed=1, dtype="float64")
    rng = np.random.default_rng(1)
    x, h0, dhs = rng.normal(size=(T, B, D)), rng.normal(size=(B, H)), rng.normal(size=(T, B, H))
    want = kind.backward(kind.forward({k: v.copy() for k, v in params.items()}, x.copy(), (h0.copy(),))[2], dhs)
    cache = kind.forward(params, x, (h0,))[2]
    for a in (*params.values(), x, h0):
        a *= 3.0
    got = kind.backward(cache, dhs)
    for name in got[0]:
        np.testing.assert_allclose(got[0][name], want[0][name], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-14)


def test_a_dropout_mask_of_another_dtype_is_refused_naming_the_mask():
    params = sl.init_lstm_params(D, H, dtype="float64", seed=0)
    x = np.random.default_rng(0).normal(size=(T, B, D))
    mask = np.ones((T, B, H), dtype=np.float32)
    with pytest.raises(DtypeError, match=r"dropout_masks\[0\] is float32 but x is float64"):
        stack_forward("lstm", [params], x, dropout_masks=[mask])
    with pytest.raises(DtypeError, match=r"dropout_masks\[0\] is bool"):
        stack_forward("lstm", [params], x, dropout_masks=[mask > 0])
    out, _, _ = stack_forward("lstm", [params], x, dropout_masks=[mask.astype(np.float64)])
    assert out.dtype == np.float64


def test_the_one_step_backward_is_the_gradient_of_the_step_that_ran():
    """The step's cache held x_t, h_prev and c_prev by reference: a state reset in place (h_prev[:] = 0) between the
    step and its backward changed the gradient."""
    params, x, h0, c0, dhs = _inputs()
    dh, dc = dhs[0], dhs[1]
    _, _, cache = sl.nn.lstm.lstm_cell_forward(params, x[0], h0, c0)
    untouched = sl.nn.lstm.lstm_cell_backward(params, dh, dc, cache)
    for a in (x[0], h0, c0):
        a[:] = 0.0
    edited = sl.nn.lstm.lstm_cell_backward(params, dh, dc, cache)
    for got, want in zip(edited, untouched):
        for key in (want if isinstance(want, dict) else {None: want}):
            g, w = (got[key], want[key]) if isinstance(want, dict) else (got, want)
            assert np.array_equal(g, w), key
