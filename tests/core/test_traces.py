"""Gate traces agree with the forward pass; gradient flow agrees with autograd."""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.nn.init import init_gru_params, init_rnn_params
from scratchlstm.traces import gradient_flow, lstm_trace

from tests.helpers import random_lstm_host

T, B, D, H = 7, 3, 2, 4


@pytest.mark.parametrize("engine", ["reference", "fast"])
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


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_gradient_flow_matches_autograd(kind):
    torch = pytest.importorskip("torch")
    from scratchlstm import interop

    init = {"rnn": init_rnn_params, "gru": init_gru_params, "lstm": lambda d, h, **kw: sl.init_lstm_params(d, h, forget_bias=1.0, **kw)}[kind]
    params = init(D, H, seed=3, dtype="float64")
    x = np.random.default_rng(2).normal(size=(T, B, D))
    flow = gradient_flow(kind, params, x, seed=5)
    assert flow.distance.tolist() == list(range(T - 1, -1, -1)) and flow.dh_norm.shape == (T,)

    module = getattr(interop, f"{kind}_to_torch")([params])
    w = torch.tensor(np.random.default_rng(5).standard_normal((B, H)))
    h = torch.zeros(1, B, H, dtype=torch.float64)
    c = torch.zeros(1, B, H, dtype=torch.float64)
    hs = []
    for t in range(T):  # step by step so that every h_t is a tensor whose gradient autograd keeps
        inp = torch.tensor(x[t : t + 1])
        if kind == "lstm":
            _, (h, c) = module(inp, (h, c))
        else:
            _, h = module(inp, h)
        h.retain_grad()
        hs.append(h)
    (hs[-1][0] * w).sum().backward()
    expected = np.array([np.mean(np.linalg.norm(hs[t].grad[0].numpy(), axis=1)) for t in range(T)])
    assert np.allclose(flow.dh_norm, expected, rtol=1e-10)
    if kind == "lstm":
        # torch's fused cell hides the path from c_t to h_t, so the total dL/dc_t comes from the same
        # equations written out in torch operations, with autograd doing the backward
        W_x, W_h, b = (torch.tensor(params[k], requires_grad=True) for k in ("W_x", "W_h", "b"))
        h, c, cs = torch.zeros(B, H, dtype=torch.float64), torch.zeros(B, H, dtype=torch.float64), []
        for t in range(T):
            a = torch.tensor(x[t]) @ W_x + h @ W_h + b
            i, f, g, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H]), torch.tanh(a[:, 2 * H:3 * H]), torch.sigmoid(a[:, 3 * H:])
            c = f * c + i * g
            c.retain_grad()
            cs.append(c)
            h = o * torch.tanh(c)
        (h * w).sum().backward()
        expected_c = np.array([np.mean(np.linalg.norm(cs[t].grad.numpy(), axis=1)) for t in range(T)])
        assert np.allclose(flow.dc_norm, expected_c, rtol=1e-10)
        assert flow.forget_product[-1] == 1.0
        assert np.all(np.diff(flow.forget_product) >= 0)  # products of more forget gates are smaller


def test_adding_problem_returns_the_trained_cell():
    from scratchlstm.nn.init import init_gru_params as init
    from scratchlstm.vanishing import BASELINE_MSE, adding_batch, train_adding

    result, cell = train_adding("gru", 8, hidden=8, steps=150, seed=1)
    untrained = init(2, 8, seed=np.random.default_rng(1), dtype="float64")
    assert set(cell) == set(untrained) and not all(np.array_equal(cell[k], untrained[k]) for k in cell)
    assert result.length == 8 and result.test_mse < BASELINE_MSE
    x, _ = adding_batch(np.random.default_rng(0), 8, 4)
    assert sl.gru_forward(cell, x)[0].shape == (8, 4, 8)
