"""Gate traces agree with the forward pass; gradient flow agrees with autograd."""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.traces import lstm_trace

from tests.helpers import ENGINES, random_lstm_host

T, B, D, H = 7, 3, 2, 4


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trace_shapes_and_agreement_with_forward(engine, dtype):
    params = {k: v.astype(dtype) for k, v in random_lstm_host(D, H, 0).items()}
    rng = np.random.default_rng(1)
    x = rng.normal(size=(T, B, D)).astype(dtype)
    h0, c0 = rng.normal(size=(B, H)).astype(dtype), rng.normal(size=(B, H)).astype(dtype)
    trace = lstm_trace(params, x, h0, c0, engine=engine)
    hs, (h_T, c_T), _ = sl.lstm_forward(params, x, h0, c0, engine=engine)
    assert trace.names() == ["a_i", "a_f", "a_g", "a_o", "i", "f", "g", "o", "c", "h"]
    for name, values in trace.as_dict().items():
        assert values.shape == (T, B, H), name
    assert np.array_equal(trace.h, hs) and np.array_equal(trace.c[-1], c_T)  # exactly the forward's
    tol = 1e-12 if dtype == "float64" else 1e-5
    sig = lambda v: 1 / (1 + np.exp(-v))
    for gate, pre in (("i", "a_i"), ("f", "a_f"), ("o", "a_o")):
        assert np.max(np.abs(getattr(trace, gate) - sig(getattr(trace, pre)))) < tol
    assert np.max(np.abs(trace.g - np.tanh(trace.a_g))) < tol
    c_prev = np.concatenate([c0[None], trace.c[:-1]])
    assert np.max(np.abs(trace.c - (trace.f * c_prev + trace.i * trace.g))) < tol
    assert np.max(np.abs(trace.h - trace.o * np.tanh(trace.c))) < tol


def test_adding_problem_returns_the_trained_cell():
    from scratchlstm.nn.init import init_gru_params as init
    from scratchlstm.vanishing import BASELINE_MSE, adding_batch, train_adding

    result, cell = train_adding("gru", 8, hidden=8, steps=150, seed=1)
    untrained = init(2, 8, seed=np.random.default_rng(1), dtype="float64")
    assert set(cell) == set(untrained) and not all(np.array_equal(cell[k], untrained[k]) for k in cell)
    assert result.length == 8 and result.test_mse < BASELINE_MSE
    x, _ = adding_batch(np.random.default_rng(0), 8, 4)
    assert sl.gru_forward(cell, x)[0].shape == (8, 4, 8)
